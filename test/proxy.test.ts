/**
 * A self-hosted runner behind a corporate proxy: an action's GitHub API calls go through HTTPS_PROXY /
 * HTTP_PROXY (what @actions/http-client honours and Octokit from @actions/github uses), and a host in
 * NO_PROXY is reached directly. The action is preflight's `checks` gate, started as a runner starts it.
 *
 * The toolkit never proxies `localhost` or 127.x, so the API is addressed as `localhost.` (its certificate
 * names localhost), which the action's process resolves to 127.0.0.1 as a hosts file would: everything stays
 * on this machine. The proxy answers CONNECT for any name by tunnelling to the fake API.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from '@deploy-actions/kube-sim/tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './support/repo';
import { parseFileCommands } from './support/runner';

const SHA = '3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e';
const TOKEN = 'ghs_ProxyTestT0ken0123456789';
const servers: Server[] = [];
/** Resolves \`localhost.\` to 127.0.0.1 in the action's process, as a hosts file entry would. */
const HOSTS = `import dns from 'node:dns';
const lookup = dns.lookup;
dns.lookup = (host, options, callback) => {
  if (typeof options === 'function') [options, callback] = [{}, options];
  if (host !== 'localhost.') return lookup(host, options, callback);
  const all = typeof options === 'object' && options.all;
  process.nextTick(() => (all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)));
};
`;
/** What the fake GitHub API was asked (path only), and what the proxy carried. */
const apiSeen: string[] = [];
const proxySeen: string[] = [];
let httpsPort: number;
let proxyUrl: string;
let caFile: string;

/** GitHub's answers for the two calls of the checks gate: one green check run, no statuses. */
function github(req: IncomingMessage, res: ServerResponse): void {
  apiSeen.push(`${req.method} ${req.url}`);
  const send = (status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const path = (req.url ?? '').split('?')[0];
  if (req.headers.authorization !== `token ${TOKEN}`) send(401, { message: 'Bad credentials' });
  else if (path === `/repos/acme/web/commits/${SHA}/check-runs`) {
    send(200, {
      total_count: 1,
      check_runs: [
        {
          name: 'build',
          status: 'completed',
          conclusion: 'success',
          html_url: 'https://github.com/acme/web/runs/1',
        },
      ],
    });
  } else if (path === `/repos/acme/web/commits/${SHA}/statuses`) send(200, []);
  else send(404, { message: 'Not Found' });
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  const { cert, key } = selfSignedCertificate('api.github.test');
  caFile = join(mkdtempSync(join(tmpdir(), 'proxy-ca-')), 'ca.pem');
  writeFileSync(caFile, cert);
  httpsPort = await listen(createHttpsServer({ cert, key }, github));
  // A forward proxy: absolute-form requests for http://, CONNECT tunnels for https://, both to the fake API.
  const proxy = createHttpServer((req, res) => {
    proxySeen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const upstream = request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  proxy.on('connect', (req: IncomingMessage, socket, head: Buffer) => {
    proxySeen.push(`CONNECT ${req.url}`);
    const port = Number((req.url ?? '').split(':').pop());
    const upstream = connect(port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections?.();
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
});

/** preflight with the checks gate, started like a runner starts an action, with the given network settings. */
async function preflight(network: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-run-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const entry = join(dir, 'entry.mts');
  // The runner's hosts file, in effect: \`localhost.\` is this machine (no DNS server is asked).
  const hosts = join(dir, 'hosts.mjs');
  writeFileSync(hosts, HOSTS);
  writeFileSync(
    entry,
    `import { runAction } from '${join(root, 'packages/dispatch/src/runner.ts')}';\nprocess.exitCode = await runAction('preflight');\n`,
  );
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: dir,
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_SHA: SHA,
    NODE_EXTRA_CA_CERTS: caFile,
    INPUT_CHECKS: 'all',
    INPUT_TOKEN: TOKEN,
    ...files,
    ...network,
  };
  const child = spawn(process.execPath, ['--import', hosts, '--import', 'tsx', entry], {
    env,
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, stdout, stderr, outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')) };
}

describe('GitHub API calls behind a proxy', () => {
  it('go through HTTPS_PROXY (a CONNECT tunnel per host) to an https API', async () => {
    apiSeen.length = 0;
    proxySeen.length = 0;
    const run = await preflight({ GITHUB_API_URL: `https://localhost.:${httpsPort}`, HTTPS_PROXY: proxyUrl });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // One tunnel per connection (the two calls run side by side), each to the API's host.
    expect(proxySeen.length).toBeGreaterThan(0);
    expect(new Set(proxySeen)).toEqual(new Set([`CONNECT localhost.:${httpsPort}`]));
    expect(apiSeen.sort()).toEqual([
      `GET /repos/acme/web/commits/${SHA}/check-runs?per_page=100`,
      `GET /repos/acme/web/commits/${SHA}/statuses?per_page=100`,
    ]);
    expect(run.outputs['checks']).toBe('pass');
  });

  it('skip the proxy for a host NO_PROXY names: the calls go straight to the API', async () => {
    apiSeen.length = 0;
    proxySeen.length = 0;
    const run = await preflight({
      GITHUB_API_URL: `https://localhost.:${httpsPort}`,
      HTTPS_PROXY: proxyUrl,
      NO_PROXY: 'github.example.com,localhost.',
    });
    expect(run).toMatchObject({ code: 0, stderr: '', outputs: { checks: 'pass' } });
    expect(proxySeen).toEqual([]);
    expect(apiSeen).toHaveLength(2);
  });
});
