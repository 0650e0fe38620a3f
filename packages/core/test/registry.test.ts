/** The registry client and promote-by-retag against a real docker-registry (distribution 2.8) on loopback. */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RunningRegistry, registryMissing, startRegistry } from '@deploy-actions/testkit/registry';
import { type PushedImage, pushTestImage } from '@deploy-actions/testkit/registry-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DOCKER_LIST,
  OCI_INDEX,
  parseChallenge,
  parseImageReference,
  promoteImage,
  RegistryClient,
  RegistryError,
} from '../src/registry';

const missing = registryMissing();

describe('image references', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['acme/web:1.2', 'docker.io', 'acme/web', '1.2', undefined],
    ['ghcr.io/acme/web:v1', 'ghcr.io', 'acme/web', 'v1', undefined],
    ['localhost:5000/web', 'localhost:5000', 'web', undefined, undefined],
    [`127.0.0.1:5000/a/b@sha256:${'a'.repeat(64)}`, '127.0.0.1:5000', 'a/b', undefined, `sha256:${'a'.repeat(64)}`],
  ])('%s', (text, registry, repository, tag, digest) => {
    expect(parseImageReference(text)).toEqual({ registry, repository, tag, digest });
  });

  it.each([
    ['ghcr.io/Acme/web', /invalid repository name "Acme\/web"/],
    ['ghcr.io/acme/web:-bad', /invalid tag "-bad"/],
    ['ghcr.io/acme/web@sha256:xyz', /invalid digest/],
  ])('refuses %s', (text, message) => {
    expect(() => parseImageReference(text, 'promote-from')).toThrow(message);
  });

  it('a registry that cannot be reached is one error naming it and why, not "fetch failed"', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const client = new RegistryClient({ attempts: 1 });
    const refused = await client.manifestExists(`127.0.0.1:${port}/acme/web:1.2.3`).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as Error).message).toBe(
      `Registry http://127.0.0.1:${port} cannot be reached: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('parses challenges', () => {
    expect(
      parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"'),
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
  });
});

describe.skipIf(missing)('registry client and promote (token auth, like GHCR)', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  let multi: PushedImage;
  let single: PushedImage;
  const credentials = () => ({ username: registry.username, password: registry.password });

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    client = new RegistryClient({ credentials: credentials });
    multi = await pushTestImage(client, registry.host, 'acme/staging', 'sha-1a2b3c4', {
      platforms: ['linux/amd64', 'linux/arm64'],
      layers: 5,
    });
    single = await pushTestImage(client, registry.host, 'acme/staging', 'single', { format: 'oci', layers: 2 });
  });
  afterAll(async () => registry?.stop());

  it('HEAD tells whether a manifest exists, with its digest and type, and keeps the list whole', async () => {
    const head = await client.manifestExists(`${registry.host}/acme/staging:sha-1a2b3c4`);
    expect(head).toMatchObject({ digest: multi.digest, mediaType: DOCKER_LIST });
    expect(await client.manifestExists(`${registry.host}/acme/staging:nope`)).toBeUndefined();
    expect(await client.manifestExists(`${registry.host}/acme/other:latest`)).toBeUndefined();
    const byDigest = await client.manifestExists(`${registry.host}/acme/staging@${single.digest}`);
    expect(byDigest?.digest).toBe(single.digest);
  });

  it('promotes a 2-platform manifest list to another repository with mounts only, then is idempotent', async () => {
    const promoter = new RegistryClient({ credentials: credentials });
    const targets = ['1.2.3', '1.2', 'latest'].map((tag) => `${registry.host}/acme/web:${tag}`);
    const result = await promoteImage(promoter, `${registry.host}/acme/staging:sha-1a2b3c4`, targets);
    expect(result.digest).toBe(multi.digest);
    expect(result.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(result.targets.map((target) => target.state)).toEqual(['created', 'created', 'created']);
    expect(result.mounted).toBe(multi.blobDigests.length);
    expect(result.copiedBytes).toBe(0);
    expect(promoter.stats.blobBytesUp + promoter.stats.blobBytesDown).toBe(0);
    // One token for the whole job: the promotion announced its scopes (pull the source, push the target).
    expect(promoter.stats.tokenRequests).toBe(1);
    expect(registry.tokenRequests.at(-1)?.scopes.sort()).toEqual([
      'repository:acme/staging:pull',
      'repository:acme/web:pull,push',
    ]);
    // Every new tag serves the very same list (same digest), and both platforms resolve in the new repository.
    for (const target of targets) {
      const manifest = await client.getManifest(target);
      expect(manifest?.digest).toBe(multi.digest);
      expect(manifest?.mediaType).toBe(DOCKER_LIST);
    }
    for (const digest of [...multi.platformDigests])
      expect(await client.manifestExists(`${registry.host}/acme/web@${digest}`)).toBeDefined();
    for (const digest of multi.blobDigests)
      expect(await client.blobExists(registry.host, 'acme/web', digest)).toBe(true);

    const again = await promoteImage(promoter, `${registry.host}/acme/staging@${multi.digest}`, targets);
    expect(again.targets.map((target) => target.state)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(again.manifestsWritten).toBe(0);
  });

  it('promotes an OCI image within the same repository by tag only', async () => {
    const result = await promoteImage(client, `${registry.host}/acme/staging:single`, [
      `${registry.host}/acme/staging:prod`,
    ]);
    expect(result).toMatchObject({ digest: single.digest, mounted: 0, manifestsWritten: 1 });
    expect((await client.manifestExists(`${registry.host}/acme/staging:prod`))?.digest).toBe(single.digest);
  });

  it('refuses a tag that points elsewhere, pushing nothing; overwrite moves it', async () => {
    await pushTestImage(client, registry.host, 'acme/api', 'v1', { format: 'oci' });
    const before = await client.manifestExists(`${registry.host}/acme/api:v1`);
    const targets = [`${registry.host}/acme/api:fresh`, `${registry.host}/acme/api:v1`];
    await expect(promoteImage(client, `${registry.host}/acme/staging:sha-1a2b3c4`, targets)).rejects.toThrow(
      `Refusing to promote ${registry.host}/acme/staging:sha-1a2b3c4 (${multi.digest}): ${registry.host}/acme/api:v1 points at ${before!.digest}. Nothing was pushed.`,
    );
    expect(await client.manifestExists(`${registry.host}/acme/api:fresh`)).toBeUndefined();
    expect((await client.manifestExists(`${registry.host}/acme/api:v1`))?.digest).toBe(before!.digest);

    const result = await promoteImage(client, `${registry.host}/acme/staging:sha-1a2b3c4`, targets, {
      overwrite: true,
    });
    expect(result.targets).toEqual([
      { image: `${registry.host}/acme/api:fresh`, state: 'created' },
      { image: `${registry.host}/acme/api:v1`, state: 'overwritten', previous: before!.digest },
    ]);
    expect((await client.manifestExists(`${registry.host}/acme/api:v1`))?.digest).toBe(multi.digest);
  });

  it('a failure half-way says which tags moved and which did not; a re-run finishes', async () => {
    const failing = new RegistryClient({
      credentials: credentials,
      fetch: async (url, init) => {
        if (init.method === 'PUT' && url.endsWith('/acme/half/manifests/b')) {
          return new Response(JSON.stringify({ errors: [{ code: 'DENIED', message: 'quota exceeded' }] }), {
            status: 400,
          });
        }
        return fetch(url, init);
      },
    });
    const targets = ['a', 'b', 'c'].map((tag) => `${registry.host}/acme/half:${tag}`);
    await expect(promoteImage(failing, `${registry.host}/acme/staging:single`, targets)).rejects.toThrow(
      `Promotion of ${single.digest} stopped at ${registry.host}/acme/half:b: Registry ${registry.host}: PUT manifest ${registry.host}/acme/half:b failed with HTTP 400 (DENIED: quota exceeded). Already at the digest: ${registry.host}/acme/half:a; not changed: ${registry.host}/acme/half:b, ${registry.host}/acme/half:c. Running the step again finishes the job.`,
    );
    expect((await client.manifestExists(targets[0]!))?.digest).toBe(single.digest);
    expect(await client.manifestExists(targets[2]!)).toBeUndefined();
    const again = await promoteImage(client, `${registry.host}/acme/staging:single`, targets);
    expect(again.targets.map((target) => target.state)).toEqual(['unchanged', 'created', 'created']);
  });

  it('says clearly when promote-from does not exist', async () => {
    await expect(
      promoteImage(client, `${registry.host}/acme/staging:missing`, [`${registry.host}/acme/web:x`]),
    ).rejects.toThrow(
      `promote-from "${registry.host}/acme/staging:missing" does not exist in ${registry.host}/acme/staging. Nothing was pushed.`,
    );
    expect(await client.manifestExists(`${registry.host}/acme/web:x`)).toBeUndefined();
  });

  it('names the user, never the password, when the token service refuses', async () => {
    const wrong = new RegistryClient({ credentials: () => ({ username: 'ci', password: 'hunter2-wrong' }) });
    const error = await wrong.manifestExists(`${registry.host}/acme/staging:single`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toMatch(
      /token service .* refused user "ci" for repository:acme\/staging:pull \(HTTP 401/,
    );
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reuses a token that covers the scopes instead of asking again', async () => {
    const fresh = new RegistryClient({ credentials: credentials });
    await fresh.manifestExists(`${registry.host}/acme/staging:single`);
    await fresh.manifestExists(`${registry.host}/acme/staging:prod`);
    await fresh.getManifest(`${registry.host}/acme/staging:single`);
    expect(fresh.stats.tokenRequests).toBe(1);
  });
});

describe.skipIf(missing)('registry client with basic auth (htpasswd)', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
  });
  afterAll(async () => registry?.stop());

  it('pushes, heads and promotes an OCI index', async () => {
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    const image = await pushTestImage(client, registry.host, 'team/app', 'rc', {
      platforms: ['linux/amd64', 'linux/arm64'],
      format: 'oci',
    });
    expect((await client.manifestExists(`${registry.host}/team/app:rc`))?.mediaType).toBe(OCI_INDEX);
    const result = await promoteImage(client, `${registry.host}/team/app:rc`, [`${registry.host}/team/prod:1.0.0`]);
    expect(result).toMatchObject({ digest: image.digest, copiedBytes: 0, mounted: image.blobDigests.length });
    expect(client.stats.tokenRequests).toBe(0);
  });

  it('refuses wrong credentials with the status and no password', async () => {
    const client = new RegistryClient({ credentials: () => ({ username: registry.username, password: 'not-it-42' }) });
    const error = await client.manifestExists(`${registry.host}/team/app:rc`).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/HEAD manifest .* failed with HTTP 401/);
    expect((error as Error).message).not.toContain('not-it-42');
  });
});
