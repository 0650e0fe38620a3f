/**
 * oidc-audience: a cluster that trusts GitHub's OIDC issuer gets the job's OIDC token (from the runner's
 * ACTIONS_ID_TOKEN_REQUEST_URL, through @actions/core) as the bearer token of a kubeconfig user without
 * credentials. kube-sim here accepts that one token only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient, kubeSource } from '@deploy-actions/core/kube';
import { createGitHubRuntime, createMemoryRuntime } from '@deploy-actions/core/runtime';
import { KubeSim } from '@deploy-actions/kube-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvd2ViIn0.c2lnbmF0dXJlLW9mLXRoZS1pc3N1ZXI';
const REQUEST_TOKEN = 'runner-request-token-123';

let sim: KubeSim;
let oidc: Server;
let oidcUrl: string;
const asked: Array<{ audience: string | null; authorization: string | undefined }> = [];

beforeAll(async () => {
  sim = await KubeSim.start({ scenario: { namespaces: ['shop'] }, bearerToken: ID_TOKEN });
  // The runner's token endpoint: GET <url>&audience=<aud> with the request token, answers {"value": <JWT>}.
  oidc = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    asked.push({ audience: url.searchParams.get('audience'), authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${REQUEST_TOKEN}`) return void res.writeHead(401).end('{}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: ID_TOKEN }));
  });
  await new Promise<void>((done) => oidc.listen(0, '127.0.0.1', done));
  oidcUrl = `http://127.0.0.1:${(oidc.address() as AddressInfo).port}/_apis/distributedtask/token?api-version=2.0`;
});

afterAll(async () => {
  await sim?.stop();
  await new Promise((done) => oidc?.close(done));
});

/** A kubeconfig for kube-sim whose user has no credentials, or the given ones. */
function kubeconfig(user: Record<string, string> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sim',
        cluster: { server: sim.url, 'certificate-authority-data': Buffer.from(sim.caPem!).toString('base64') },
      },
    ],
    users: [{ name: 'github', user }],
    contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'github', namespace: 'shop' } }],
    'current-context': 'sim',
  });
}

function runnerRuntime(env: Record<string, string> = {}) {
  const printed: string[] = [];
  const rt = createGitHubRuntime({
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: oidcUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN, ...env },
    write: (text) => printed.push(text),
    handleSignals: false,
  });
  return { rt, printed };
}

describe('oidc-audience', () => {
  it('a kubeconfig user without credentials gets the OIDC token for the audience as its bearer token', async () => {
    asked.length = 0;
    const { rt, printed } = runnerRuntime();
    const client = await KubeClient.connect(
      kubeSource(rt, { kubeconfig: kubeconfig(), 'oidc-audience': 'kubernetes' }),
    );
    const namespace = await client.get<{ metadata?: { name?: string } }>('Namespace', { name: 'shop' });
    expect(namespace.metadata?.name).toBe('shop');
    expect(asked).toEqual([{ audience: 'kubernetes', authorization: `Bearer ${REQUEST_TOKEN}` }]);
    // The runner is told to mask it, and our own redaction hides it too.
    expect(printed.join('')).toContain(`::add-mask::${ID_TOKEN}`);
    expect(rt.redact(`token ${ID_TOKEN}`)).toBe('token ***');
  });

  it('without oidc-audience the same cluster refuses the user without credentials', async () => {
    const { rt } = runnerRuntime();
    const client = await KubeClient.connect(kubeSource(rt, { kubeconfig: kubeconfig() }));
    await expect(client.get('Namespace', { name: 'shop' })).rejects.toMatchObject({ code: 401 });
  });

  it("leaves a user's own credentials alone: no token is fetched", async () => {
    asked.length = 0;
    const { rt } = runnerRuntime();
    const client = await KubeClient.connect(
      kubeSource(rt, { kubeconfig: kubeconfig({ token: 'static-token' }), 'oidc-audience': 'kubernetes' }),
    );
    await expect(client.get('Namespace', { name: 'shop' })).rejects.toMatchObject({ code: 401 });
    expect(asked).toEqual([]);
  });

  it('says to grant id-token: write when the runner offers no OIDC token, naming the input', async () => {
    const { rt } = runnerRuntime({ ACTIONS_ID_TOKEN_REQUEST_URL: '' });
    const error = await KubeClient.connect(
      kubeSource(rt, { kubeconfig: kubeconfig(), 'oidc-audience': 'kubernetes' }),
    ).then(
      () => undefined,
      (e: Error & { hint?: string }) => e,
    );
    expect(error?.message).toMatch(/^Input 'oidc-audience': no GitHub OIDC token for audience kubernetes/);
    expect(error?.hint).toContain('id-token: write');
  });

  it('outside a GitHub runner (no OIDC) the error names the input', async () => {
    const rt = createMemoryRuntime();
    await expect(
      KubeClient.connect(kubeSource(rt, { kubeconfig: kubeconfig(), 'oidc-audience': 'kubernetes' })),
    ).rejects.toThrow(/^Input 'oidc-audience': a GitHub OIDC token can only be had on a GitHub runner/);
  });
});
