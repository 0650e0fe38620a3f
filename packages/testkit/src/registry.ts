/**
 * A real Docker registry (Debian's `docker-registry`, distribution 2.8) for tests, on a free loopback port
 * with temporary storage, and one of three auth modes:
 *  - `none`;
 *  - `basic`: htpasswd with a bcrypt hash (made by /usr/bin/python3's `crypt`);
 *  - `token`: a loopback token service as GHCR and Docker Hub run one: Basic credentials in, an RS256 JWT
 *    out, signed by a key whose self-signed certificate (made with `openssl`) is the registry's trust root.
 * Counts token requests and can refuse a user, so tests see what a client asked for.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';

export const REGISTRY_BINARY = process.env.REGISTRY_BIN ?? '/usr/bin/docker-registry';

export function registryMissing(binary = REGISTRY_BINARY): string | undefined {
  return existsSync(binary)
    ? undefined
    : `${binary} not found: apt-get install -y --no-install-recommends docker-registry (CI installs it)`;
}

export interface RegistryOptions {
  auth?: 'none' | 'basic' | 'token';
  username?: string;
  password?: string;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>`: the registry part of an image name. */
  host: string;
  username: string;
  password: string;
  /** Token requests served, with the scopes asked for. */
  tokenRequests: { scopes: string[]; user: string | undefined }[];
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const auth = options.auth ?? 'none';
  const username = options.username ?? 'ci';
  const password = options.password ?? `pw-${randomUUID()}`;
  const dir = await mkdtemp(join(tmpdir(), 'registry-test-'));
  const port = await freePort();
  const tokenRequests: RunningRegistry['tokenRequests'] = [];
  let tokenServer: Server | undefined;
  const authConfig: string[] = [];
  if (auth === 'basic') {
    const hash = execFileSync('/usr/bin/python3', [
      '-W',
      'ignore',
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))',
      password,
    ])
      .toString()
      .trim();
    await writeFile(join(dir, 'htpasswd'), `${username}:${hash}\n`, { mode: 0o600 });
    authConfig.push('auth:', '  htpasswd:', '    realm: test-registry', `    path: ${join(dir, 'htpasswd')}`);
  } else if (auth === 'token') {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=token-issuer',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
    const kid = libtrustKeyId(
      new X509Certificate(readFileSync(join(dir, 'cert.pem'))).publicKey.export({ type: 'spki', format: 'der' }),
    );
    const tokenPort = await freePort();
    tokenServer = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const scopes = url.searchParams.getAll('scope');
      const header = request.headers.authorization ?? '';
      const [user, pass] = header.startsWith('Basic ')
        ? Buffer.from(header.slice(6), 'base64').toString().split(':')
        : [];
      tokenRequests.push({ scopes, user });
      if (user !== username || pass !== password) {
        response
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      const access = scopes.map((scope) => {
        const [type, ...rest] = scope.split(':');
        const actions = rest.pop() ?? '';
        return { type, name: rest.join(':'), actions: actions.split(',') };
      });
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: 'test-issuer',
        sub: user,
        aud: 'test-registry',
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      };
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const unsigned = `${encode({ typ: 'JWT', alg: 'RS256', kid })}.${encode(claims)}`;
      const token = `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
    });
    await new Promise<void>((resolve) => tokenServer!.listen(tokenPort, '127.0.0.1', resolve));
    authConfig.push(
      'auth:',
      '  token:',
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      '    service: test-registry',
      '    issuer: test-issuer',
      `    rootcertbundle: ${join(dir, 'cert.pem')}`,
    );
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: test-secret',
    ...authConfig,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (tokenServer) await new Promise((resolve) => tokenServer!.close(resolve));
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (response) => response.status === 200 || response.status === 401,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry not ready within 15 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { host: `127.0.0.1:${port}`, username, password, tokenRequests, stop };
}

/** libtrust's key ID (what distribution matches a JWT's `kid` against): SHA-256 of the DER public key, 240 bits in base32, groups of four. */
function libtrustKeyId(spki: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = createHash('sha256').update(spki).digest().subarray(0, 30);
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  let text = '';
  for (let i = 0; i < bits.length; i += 5) text += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return text.match(/.{4}/g)!.join(':');
}
