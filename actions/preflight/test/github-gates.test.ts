/**
 * checks and approvals against a loopback server answering in GitHub's shapes (Checks API pages with
 * `total_count`/`check_runs`, Link headers), and emergency mode's Deployment status.
 */

import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gate, run, workspace } from './support';

const SHA = '3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e';
const servers: http.Server[] = [];

// Node's fetch loads its HTTP client on first use: done before any virtual clock runs, or auto-advance
// would take that load for idle time and jump past the gates' timeouts.
beforeAll(async () => {
  const { base } = await github({});
  await fetch(base).then((response) => response.text());
  // GitHubApi loads Octokit (@actions/github) on its first call: the same holds for that import.
  await import('@actions/github');
});
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

type Answer = unknown | ((request: { method: string; body: unknown; count: number }) => unknown);

/** GitHub on loopback: `routes` maps `METHOD /path` to a list of pages (or one answer); every request is noted. */
async function github(routes: Record<string, Answer[]>) {
  const requests: string[] = [];
  const counts = new Map<string, number>();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const key = `${req.method} ${url.pathname}`;
    requests.push(`${key}${url.search}`);
    if (!/^(token|bearer) ghs_test-token$/i.test(req.headers.authorization ?? '')) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ message: 'Bad credentials' }));
    }
    const pages = routes[key] ?? (key === 'POST /graphql' ? [graphqlFrom(routes, body)] : undefined);
    if (pages === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }));
    }
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    const page = Number(url.searchParams.get('page') ?? '1');
    const answer = pages[page - 1];
    const data = typeof answer === 'function' ? answer({ method: req.method!, body, count }) : answer;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (page < pages.length) {
      const next = new URL(url.toString());
      next.searchParams.set('page', String(page + 1));
      headers['link'] =
        `<${base}${next.pathname}${next.search}>; rel="next", <${base}${url.pathname}?page=${pages.length}>; rel="last"`;
    }
    res.writeHead(req.method === 'POST' && key !== 'POST /graphql' ? 201 : 200, headers);
    res.end(JSON.stringify(data));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = {
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_API_URL: base,
    GITHUB_SHA: SHA,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.com',
  };
  return { base, env, requests };
}

interface RestPull {
  number: number;
  html_url: string;
  state: string;
  merged_at?: string | null;
}
interface RestReview {
  user: { login: string } | null;
  state: string;
  submitted_at?: string;
}
/** A connection's first page as GitHub's GraphQL API gives it (at most 100 nodes). */
const connection = (nodes: unknown[]) => ({
  pageInfo: { hasNextPage: nodes.length > 100 },
  nodes: nodes.slice(0, 100),
});

/**
 * GitHub's GraphQL answer to the approvals gate's commit query, made from the same REST data the test serves
 * (every page of the commit's pulls, and of each one's reviews and files).
 */
function graphqlFrom(routes: Record<string, Answer[]>, body: unknown) {
  const { query = '', variables = {} } = (body ?? {}) as { query?: string; variables?: Record<string, unknown> };
  if (!/associatedPullRequests/.test(query) || `${variables['owner']}/${variables['name']}` !== 'acme/shop') {
    return { errors: [{ type: 'NOT_FOUND', message: 'the loopback GitHub answers the approvals query only' }] };
  }
  const rest = <T>(path: string) => ((routes[`GET /repos/acme/shop${path}`] ?? []) as T[][]).flat();
  const nodes = rest<RestPull>(`/commits/${variables['sha']}/pulls`).map((pull) => ({
    number: pull.number,
    url: pull.html_url,
    state: pull.merged_at ? 'MERGED' : String(pull.state).toUpperCase(),
    mergedAt: pull.merged_at ?? null,
    reviews: connection(
      rest<RestReview>(`/pulls/${pull.number}/reviews`).map((r) => ({
        author: r.user ? { login: r.user.login } : null,
        state: r.state,
        submittedAt: r.submitted_at ?? null,
      })),
    ),
    ...(variables['files']
      ? {
          files: connection(
            rest<{ filename: string }>(`/pulls/${pull.number}/files`).map((f) => ({ path: f.filename })),
          ),
        }
      : {}),
  }));
  return { data: { repository: { object: { associatedPullRequests: { nodes } } } } };
}

const checkRun = (name: string, status: string, conclusion: string | null, id = Math.floor(Math.random() * 1e9)) => ({
  id,
  head_sha: SHA,
  node_id: `CR_${id}`,
  external_id: '',
  url: `https://api.github.com/repos/acme/shop/check-runs/${id}`,
  html_url: `https://github.com/acme/shop/actions/runs/1000/job/${id}`,
  details_url: `https://github.com/acme/shop/actions/runs/1000/job/${id}`,
  status,
  conclusion,
  started_at: '2026-12-07T11:00:00Z',
  completed_at: status === 'completed' ? '2026-12-07T11:05:00Z' : null,
  name,
  check_suite: { id: 5 },
  app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
  pull_requests: [],
});
const status = (context: string, state: string, id: number) => ({
  url: `https://api.github.com/repos/acme/shop/statuses/${SHA}`,
  id,
  node_id: `SC_${id}`,
  state,
  description: `${context} ${state}`,
  target_url: `https://ci.example.com/builds/${id}`,
  context,
  created_at: '2026-12-07T11:00:00Z',
  updated_at: '2026-12-07T11:00:00Z',
  creator: { login: 'ci-bot', id: 99, type: 'Bot' },
});
const page = (runs: unknown[]) => ({ total_count: runs.length, check_runs: runs });

describe('checks gate', () => {
  it('reads every page of check runs and statuses; the newest status of a context counts; this run is left out', async () => {
    const own = {
      ...checkRun('preflight', 'in_progress', null, 77),
      html_url: 'https://github.com/acme/shop/actions/runs/4242/job/77',
    };
    const gh = await github({
      [`GET /repos/acme/shop/commits/${SHA}/check-runs`]: [
        page([checkRun('build', 'completed', 'success'), checkRun('lint', 'completed', 'neutral'), own]),
        page([checkRun('test', 'completed', 'success'), checkRun('docs', 'completed', 'skipped')]),
      ],
      [`GET /repos/acme/shop/commits/${SHA}/statuses`]: [
        [status('ci/jenkins', 'success', 3), status('ci/jenkins', 'failure', 2)],
        [status('security/snyk', 'success', 1)],
      ],
    });
    const result = await run({ checks: 'all', token: 'ghs_test-token' }, { env: gh.env });
    expect(result.errors).toEqual([]);
    expect(result.code).toBe(0);
    expect(gate(result, 'checks')).toMatchObject({ status: 'pass', value: '6 of 6 green', limit: 'all green' });
    expect(gh.requests).toContain(`GET /repos/acme/shop/commits/${SHA}/check-runs?per_page=100&page=2`);
    expect(gh.requests).toContain(`GET /repos/acme/shop/commits/${SHA}/statuses?per_page=100&page=2`);
    expect(result.rt.masked).toContain('ghs_test-token');
  });

  it('on a pull_request event reads the checks of the pull request head (the event payload), not of the merge commit GITHUB_SHA names', async () => {
    const head = 'a'.repeat(40);
    const gh = await github({
      [`GET /repos/acme/shop/commits/${head}/check-runs`]: [page([checkRun('build', 'completed', 'success')])],
      [`GET /repos/acme/shop/commits/${head}/statuses`]: [[]],
    });
    const event = join(workspace(), 'pull-request-event.json');
    writeFileSync(event, JSON.stringify({ number: 7, pull_request: { number: 7, head: { sha: head } } }));
    const result = await run(
      { checks: 'all', token: 'ghs_test-token' },
      { env: { ...gh.env, GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event } },
    );
    expect(result.errors).toEqual([]);
    expect(gate(result, 'checks')).toMatchObject({ status: 'pass', value: '1 of 1 green' });
    expect(gh.requests.some((request) => request.includes(SHA))).toBe(false);
  });

  it('a failed check fails the gate with a link to it; named checks that never reported are missing', async () => {
    const failed = {
      ...checkRun('test', 'completed', 'failure', 9),
      html_url: 'https://github.com/acme/shop/actions/runs/1000/job/9',
    };
    const gh = await github({
      [`GET /repos/acme/shop/commits/${SHA}/check-runs`]: [page([checkRun('build', 'completed', 'success'), failed])],
      [`GET /repos/acme/shop/commits/${SHA}/statuses`]: [[]],
    });
    const result = await run({ checks: 'build, test, e2e', token: 'ghs_test-token' }, { env: gh.env });
    expect(result.code).toBe(1);
    expect(gate(result, 'checks')).toMatchObject({
      status: 'fail',
      value: '1 of 3 green',
      message: 'test failure; e2e not reported',
    });
    expect(result.document.gates[0]).toMatchObject({ name: 'checks' });
    expect(JSON.parse(result.outputs['result']!).gates[0].link).toBe(
      'https://github.com/acme/shop/actions/runs/1000/job/9',
    );
  });

  it('waits for pending checks up to checks-wait, polling on the clock', async () => {
    const gh = await github({
      [`GET /repos/acme/shop/commits/${SHA}/check-runs`]: [
        ({ count }: { count: number }) =>
          page([checkRun('e2e', count < 3 ? 'in_progress' : 'completed', count < 3 ? null : 'success', 5)]),
      ],
      [`GET /repos/acme/shop/commits/${SHA}/statuses`]: [[]],
    });
    const result = await run({ checks: 'e2e', 'checks-wait': '10m', token: 'ghs_test-token' }, { env: gh.env });
    expect(gate(result, 'checks')).toMatchObject({ status: 'pass', value: '1 of 1 green' });
    expect(gh.requests.filter((r) => r.includes('check-runs'))).toHaveLength(3);

    const stuck = await github({
      [`GET /repos/acme/shop/commits/${SHA}/check-runs`]: [page([checkRun('e2e', 'queued', null, 6)])],
      [`GET /repos/acme/shop/commits/${SHA}/statuses`]: [[]],
    });
    const late = await run({ checks: 'e2e', 'checks-wait': '1m', token: 'ghs_test-token' }, { env: stuck.env });
    expect(gate(late, 'checks')).toMatchObject({ status: 'fail', message: 'e2e still queued after waiting 1m' });
  });
});

const review = (login: string, state: string, id: number) => ({
  id,
  node_id: `PRR_${id}`,
  user: { login, id: id * 10, type: 'User' },
  body: '',
  state,
  html_url: `https://github.com/acme/shop/pull/7#pullrequestreview-${id}`,
  pull_request_url: 'https://api.github.com/repos/acme/shop/pulls/7',
  submitted_at: `2026-12-07T10:0${id}:00Z`,
  commit_id: SHA,
  author_association: 'MEMBER',
});
const pull = {
  url: 'https://api.github.com/repos/acme/shop/pulls/7',
  id: 1007,
  number: 7,
  state: 'closed',
  html_url: 'https://github.com/acme/shop/pull/7',
  title: 'Checkout v2',
  merged_at: '2026-12-07T10:30:00Z',
  merge_commit_sha: SHA,
};

describe('approvals gate', () => {
  it('counts each reviewer’s latest review across pages; a later approval replaces changes requested', async () => {
    const gh = await github({
      [`GET /repos/acme/shop/commits/${SHA}/pulls`]: [[pull]],
      'GET /repos/acme/shop/pulls/7/reviews': [
        [review('ana', 'CHANGES_REQUESTED', 1), review('ben', 'APPROVED', 2)],
        [review('ana', 'COMMENTED', 3), review('ana', 'APPROVED', 4), review('cy', 'DISMISSED', 5)],
      ],
    });
    const result = await run({ approvals: '2', token: 'ghs_test-token' }, { env: gh.env });
    expect(gate(result, 'approvals')).toMatchObject({
      status: 'pass',
      value: '2 approval(s)',
      message: '#7 approved by ana, ben',
    });
    expect(JSON.parse(result.outputs['result']!).gates[0].link).toBe('https://github.com/acme/shop/pull/7');
  });

  it('outstanding changes requested, too few approvals, a team and code owners', async () => {
    const gh = await github({
      'GET /repos/acme/shop/pulls/7': [pull],
      'GET /repos/acme/shop/pulls/7/reviews': [
        [review('ana', 'APPROVED', 1), review('ben', 'APPROVED', 2), review('dan', 'CHANGES_REQUESTED', 3)],
      ],
      'GET /orgs/acme/teams/release/members': [[{ login: 'ben', id: 20 }], [{ login: 'eve', id: 50 }]],
      'GET /orgs/acme/teams/db/members': [[{ login: 'eve', id: 50 }]],
      'GET /repos/acme/shop/pulls/7/files': [
        [{ filename: 'src/cart.ts', status: 'modified' }],
        [{ filename: 'db/migrations/0042_orders.sql', status: 'added' }],
      ],
    });
    const dir = workspace({ '.github/CODEOWNERS': '# owners\n*       @acme/release\n/src/  @ana\ndb/    @acme/db\n' });
    const env = { ...gh.env, GITHUB_REF: 'refs/pull/7/merge' };
    const result = await run(
      { approvals: '2', 'approvals-team': 'acme/release', token: 'ghs_test-token' },
      { env, workspace: dir },
    );
    expect(gate(result, 'approvals')).toMatchObject({ status: 'fail', value: '1 approval(s)' });
    expect(gate(result, 'approvals').message).toBe(
      '#7: 1 approving review(s) from acme/release, 2 needed; changes requested by dan',
    );

    writeFileSync(join(dir, 'p.yml'), 'defaults:\n  gates:\n    approvals: { min: 1, code-owners: true }\n');
    const owners = await run({ policy: 'p.yml', token: 'ghs_test-token' }, { env, workspace: dir });
    expect(gate(owners, 'approvals').message).toBe(
      '#7: changes requested by dan; no code owner approved db/migrations/0042_orders.sql (@acme/db)',
    );
  });
});

describe('approvals gate on a pushed commit (GraphQL)', () => {
  const owners = '*  @ana\ndb/  @acme/db\n';

  it('asks for the pull request, its reviews and its files in one request', async () => {
    const gh = await github({
      [`GET /repos/acme/shop/commits/${SHA}/pulls`]: [[{ ...pull, number: 6, merged_at: null, state: 'open' }, pull]],
      'GET /repos/acme/shop/pulls/6/reviews': [[review('dan', 'APPROVED', 1)]],
      'GET /repos/acme/shop/pulls/7/reviews': [[review('ana', 'APPROVED', 1), review('ben', 'APPROVED', 2)]],
      'GET /repos/acme/shop/pulls/7/files': [[{ filename: 'src/cart.ts', status: 'modified' }]],
    });
    const dir = workspace({ '.github/CODEOWNERS': owners });
    writeFileSync(join(dir, 'p.yml'), 'defaults:\n  gates:\n    approvals: { min: 2, code-owners: true }\n');
    const result = await run({ policy: 'p.yml', token: 'ghs_test-token' }, { env: gh.env, workspace: dir });
    // The merged pull request is judged, not the first one listed.
    expect(gate(result, 'approvals')).toMatchObject({ status: 'pass', message: '#7 approved by ana, ben' });
    expect(gh.requests).toEqual(['POST /graphql']);
  });

  it('a pull request with 101 reviews and 101 files is judged on all of them (REST pages past the first 100)', async () => {
    const approvals = Array.from({ length: 100 }, (_, i) => review(`dev${i}`, 'APPROVED', i + 1));
    const files = Array.from({ length: 100 }, (_, i) => ({ filename: `src/f${i}.ts`, status: 'modified' }));
    const gh = await github({
      [`GET /repos/acme/shop/commits/${SHA}/pulls`]: [[pull]],
      'GET /repos/acme/shop/pulls/7/reviews': [approvals, [review('ana', 'CHANGES_REQUESTED', 101)]],
      'GET /repos/acme/shop/pulls/7/files': [files, [{ filename: 'db/0042_orders.sql', status: 'added' }]],
      'GET /orgs/acme/teams/db/members': [[{ login: 'eve', id: 50 }]],
    });
    const dir = workspace({ '.github/CODEOWNERS': '*  @dev0\ndb/  @acme/db\n' });
    writeFileSync(join(dir, 'p.yml'), 'defaults:\n  gates:\n    approvals: { min: 2, code-owners: true }\n');
    const result = await run({ policy: 'p.yml', token: 'ghs_test-token' }, { env: gh.env, workspace: dir });
    expect(gate(result, 'approvals')).toMatchObject({ status: 'fail', value: '100 approval(s)' });
    expect(gate(result, 'approvals').message).toBe(
      '#7: changes requested by ana; no code owner approved db/0042_orders.sql (@acme/db)',
    );
    // Reviews and files are read side by side: their order between them is not fixed.
    const pulls = gh.requests.filter((r) => !r.startsWith('GET /orgs/'));
    expect(pulls[0]).toBe('POST /graphql');
    expect(pulls.slice(1).sort()).toEqual([
      'GET /repos/acme/shop/pulls/7/files?per_page=100',
      'GET /repos/acme/shop/pulls/7/files?per_page=100&page=2',
      'GET /repos/acme/shop/pulls/7/reviews?per_page=100',
      'GET /repos/acme/shop/pulls/7/reviews?per_page=100&page=2',
    ]);
  });

  it('a commit GitHub does not know is named as such, not as "no pull request"', async () => {
    const gh = await github({ 'POST /graphql': [{ data: { repository: { object: null } } }] });
    const result = await run({ approvals: '1', token: 'ghs_test-token' }, { env: gh.env });
    expect(gate(result, 'approvals').status).not.toBe('pass');
    expect(gate(result, 'approvals').message).toContain(`Commit ${SHA} is not in acme/shop`);
  });

  it('a token without pull-requests: read is told so, as on the REST path', async () => {
    const gh = await github({
      'POST /graphql': [
        {
          data: { repository: { object: { associatedPullRequests: null } } },
          errors: [
            {
              type: 'FORBIDDEN',
              path: ['repository', 'object', 'associatedPullRequests'],
              message: 'Resource not accessible by integration',
            },
          ],
        },
      ],
    });
    const result = await run({ approvals: '1', token: 'ghs_test-token' }, { env: gh.env });
    expect(gate(result, 'approvals')).toMatchObject({ status: 'fail' });
    expect(gate(result, 'approvals').message).toContain(
      'Resource not accessible by integration. The token may not do this in acme/shop: the workflow needs `permissions: pull-requests: read`',
    );
  });

  it('a commit no pull request produced fails the gate', async () => {
    const gh = await github({ [`GET /repos/acme/shop/commits/${SHA}/pulls`]: [[]] });
    const result = await run({ approvals: '1', token: 'ghs_test-token' }, { env: gh.env });
    expect(gate(result, 'approvals')).toMatchObject({
      status: 'fail',
      value: 'no pull request',
      message: 'No pull request produced 3f2c1e0 (a direct push?)',
    });
    expect(gh.requests).toEqual(['POST /graphql']);
  });
});

describe('emergency mode', () => {
  it('turns failures into warnings, says so loudly, and records why on a GitHub Deployment status', async () => {
    const posted: unknown[] = [];
    const gh = await github({
      'POST /repos/acme/shop/deployments': [
        ({ body }: { body: unknown }) => {
          posted.push(body);
          return { id: 555, sha: SHA, ref: SHA, environment: 'production' };
        },
      ],
      'POST /repos/acme/shop/deployments/555/statuses': [
        ({ body }: { body: unknown }) => {
          posted.push(body);
          return { id: 1, state: 'in_progress' };
        },
        ({ body }: { body: unknown }) => {
          posted.push(body);
          return { id: 2, state: 'inactive' };
        },
      ],
    });
    const result = await run(
      {
        window: 'Mon-Thu 09:00-16:00 America/New_York',
        'coverage-report': 'reports/lcov.info',
        emergency: 'true',
        reason: 'INC-4711: checkout down, hotfix',
        'approved-by': 'jane (security officer)',
        environment: 'production',
        token: 'ghs_test-token',
      },
      { env: gh.env, at: '2026-12-12T03:00:00Z' },
    );
    expect(result.code).toBe(0);
    expect(gate(result, 'window')).toMatchObject({ status: 'warn', original: 'fail' });
    expect(result.document.emergency).toMatchObject({
      reason: 'INC-4711: checkout down, hotfix',
      approvedBy: 'jane (security officer)',
      overridden: ['window'],
    });
    expect(result.summary).toContain('**EMERGENCY DEPLOYMENT**');
    expect(result.summary).toContain('Overridden required gates: window.');
    expect(result.summary).toContain('[GitHub Deployment #555]');
    expect(result.warnings.join('\n')).toContain(
      'EMERGENCY DEPLOYMENT: 1 required gate(s) failed and were let through (window)',
    );
    expect(posted[0]).toMatchObject({
      environment: 'production',
      task: 'deploy:emergency',
      payload: {
        emergency: {
          reason: 'INC-4711: checkout down, hotfix',
          approvedBy: 'jane (security officer)',
          overridden: ['window'],
        },
      },
    });
    expect(posted[1]).toMatchObject({
      state: 'in_progress',
      description: 'EMERGENCY: INC-4711: checkout down, hotfix (approved by jane (security officer))',
    });
    // The record is ended without a verdict: not left "in progress" forever, never a release rollback could pick.
    expect(posted[2]).toMatchObject({
      state: 'inactive',
      description: 'EMERGENCY: INC-4711: checkout down, hotfix (approved by jane (security officer))',
    });
    expect(posted).toHaveLength(3);
  });
});
