import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirtualClock } from '@deploy-actions/core/clock';
import { UserError } from '@deploy-actions/core/errors';
import { GitHubApi, GitHubApiError, graphqlUrlOf } from '@deploy-actions/core/github';
import { createMemoryRuntime } from '@deploy-actions/core/runtime';
import { afterEach, describe, expect, it } from 'vitest';

const TOKEN = 'ghs_GraphqlT0kenForTests0123456789';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

type Answer = { status: number; headers?: Record<string, string>; body: unknown };

/** A loopback server answering from a queue; every request is recorded with its JSON body. */
async function fakeApi(answers: Answer[]) {
  const seen: Seen[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        authorization: request.headers.authorization,
        body: text === '' ? undefined : JSON.parse(text),
      });
      const answer = answers.shift() ?? { status: 500, body: { message: 'no answer queued' } };
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { seen, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('GitHubApi.graphql', () => {
  it('posts the query and variables to the GraphQL endpoint with the token and returns data', async () => {
    const api = await fakeApi([{ status: 200, body: { data: { repository: { pullRequests: { totalCount: 3 } } } } }]);
    const rt = createMemoryRuntime();
    const github = new GitHubApi(rt, { token: TOKEN, apiUrl: api.base, repository: 'acme/web' });
    const query =
      'query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { pullRequests { totalCount } } }';
    const data = await github.graphql<{ repository: { pullRequests: { totalCount: number } } }>(query, {
      owner: 'acme',
      name: 'web',
    });
    expect(data.repository.pullRequests.totalCount).toBe(3);
    expect(api.seen).toEqual([
      {
        method: 'POST',
        path: '/graphql',
        authorization: `token ${TOKEN}`,
        body: { query, variables: { owner: 'acme', name: 'web' } },
      },
    ]);
  });

  it('finds the GHES GraphQL endpoint beside /api/v3, or takes GITHUB_GRAPHQL_URL as given', async () => {
    expect(graphqlUrlOf('https://api.github.com')).toBe('https://api.github.com/graphql');
    expect(graphqlUrlOf('https://ghes.example.com/api/v3/')).toBe('https://ghes.example.com/api/graphql');
    const api = await fakeApi([{ status: 200, body: { data: { viewer: { login: 'bot' } } } }]);
    const github = new GitHubApi(createMemoryRuntime(), {
      token: TOKEN,
      apiUrl: `${api.base}/api/v3`,
      graphqlUrl: `${api.base}/api/graphql`,
      repository: 'acme/web',
    });
    await github.graphql('{ viewer { login } }');
    expect(api.seen.map((request) => request.path)).toEqual(['/api/graphql']);
  });

  it('waits for the rate-limit reset on the virtual clock when GraphQL answers RATE_LIMITED, then succeeds', async () => {
    const clock = new VirtualClock(1_000_000_000_000);
    const resetAt = Math.floor(clock.now() / 1000) + 42;
    const api = await fakeApi([
      {
        status: 200,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) },
        body: { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded for installation ID 1.' }] },
      },
      { status: 200, body: { data: { ok: true } } },
    ]);
    const rt = createMemoryRuntime({ clock });
    const github = new GitHubApi(rt, { token: TOKEN, apiUrl: api.base, repository: 'acme/web' });
    const auto = clock.startAutoAdvance();
    const started = clock.now();
    try {
      expect(await github.graphql('{ ok }')).toEqual({ ok: true });
    } finally {
      auto.stop();
    }
    expect(api.seen).toHaveLength(2);
    // Until the reset (42 s) plus a second of margin.
    expect(clock.now() - started).toBe(43_000);
    expect(rt.lines('info').some((line) => line.includes('retrying in 43.0s'))).toBe(true);
  });

  it('turns other GraphQL errors into a UserError naming them, without retrying; NOT_FOUND names the repository', async () => {
    const api = await fakeApi([
      {
        status: 200,
        body: {
          data: null,
          errors: [{ type: 'NOT_FOUND', message: "Could not resolve to a Repository with the name 'acme/nope'." }],
        },
      },
    ]);
    const github = new GitHubApi(createMemoryRuntime(), { token: TOKEN, apiUrl: api.base, repository: 'acme/nope' });
    const error = await github
      .graphql('{ repository(owner: "acme", name: "nope") { id } }', {}, 'pull-requests: read')
      .catch((e: unknown) => e);
    // A UserError (what the user can fix: repository name or token), not "failed unexpectedly".
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).cause).toBeInstanceOf(GitHubApiError);
    expect((error as Error).message).toBe(
      "GitHub GraphQL API answered: Could not resolve to a Repository with the name 'acme/nope'. The token cannot see acme/nope (or it does not exist): the workflow needs `permissions: pull-requests: read`",
    );
    expect(api.seen).toHaveLength(1);
  });
});

describe('GitHubApi.request', () => {
  it('a 5xx that outlasts the retries is a UserError saying GitHub is failing, after every attempt', async () => {
    const clock = new VirtualClock(0);
    const bad = { status: 502, body: { message: 'Server Error' } };
    const api = await fakeApi([bad, bad, bad]);
    const github = new GitHubApi(createMemoryRuntime({ clock }), {
      token: TOKEN,
      apiUrl: api.base,
      repository: 'acme/web',
      retry: { attempts: 3, jitter: false, baseMs: 1000 },
    });
    const auto = clock.startAutoAdvance();
    const error = await github
      .request('GET', '/repos/acme/web/releases/tags/v1.0.0', { permission: 'contents: read' })
      .catch((e: unknown) => e)
      .finally(() => auto.stop());
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      'GitHub API GET /repos/acme/web/releases/tags/v1.0.0 answered 502: Server Error. GitHub kept failing through the retries (an outage on its side, https://www.githubstatus.com): run again later',
    );
    expect(api.seen).toHaveLength(3);
  });

  it('a 404 outside Deployments names the repository and the permission, not Deployments', async () => {
    const api = await fakeApi([{ status: 404, body: { message: 'Not Found' } }]);
    const github = new GitHubApi(createMemoryRuntime(), { token: TOKEN, apiUrl: api.base, repository: 'acme/nope' });
    const error = await github
      .request('POST', '/repos/acme/nope/releases', { body: {}, permission: 'contents: write' })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'GitHub API POST /repos/acme/nope/releases answered 404: Not Found. The token cannot see acme/nope (or it does not exist): the workflow needs `permissions: contents: write`',
    );
    expect((error as UserError).hint).not.toContain('repo_deployment');
  });

  it('waits out a primary rate limit until x-ratelimit-reset on the virtual clock', async () => {
    const clock = new VirtualClock(1_000_000_000_000);
    const resetAt = Math.floor(clock.now() / 1000) + 120;
    const api = await fakeApi([
      {
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) },
        body: { message: 'API rate limit exceeded' },
      },
      { status: 200, body: [{ id: 1 }] },
    ]);
    const github = new GitHubApi(createMemoryRuntime({ clock }), {
      token: TOKEN,
      apiUrl: api.base,
      repository: 'acme/web',
    });
    const auto = clock.startAutoAdvance();
    const started = clock.now();
    try {
      const response = await github.request<Array<{ id: number }>>('GET', '/repos/acme/web/releases', {
        query: { per_page: 1 },
      });
      expect(response.data).toEqual([{ id: 1 }]);
    } finally {
      auto.stop();
    }
    expect(clock.now() - started).toBe(121_000);
    expect(api.seen.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /repos/acme/web/releases?per_page=1',
      'GET /repos/acme/web/releases?per_page=1',
    ]);
  });
});
