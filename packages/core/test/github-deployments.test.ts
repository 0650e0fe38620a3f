import { VirtualClock } from '@deploy-actions/core/clock';
import { UserError } from '@deploy-actions/core/errors';
import { DeploymentRecorder, githubContext, nextLink, renderDeploymentSummary } from '@deploy-actions/core/github';
import { createMemoryRuntime, type Runtime } from '@deploy-actions/core/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from './github-fake';

const TOKEN = 'ghs_S3cretT0kenForTests0123456789';
const RUN = 'https://github.com/acme/web/actions/runs/4242/attempts/2';
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

let gh: FakeGitHub;
beforeEach(async () => {
  gh = new FakeGitHub(TOKEN);
  await gh.start();
});
afterEach(async () => {
  await gh.close();
});

function env(extra: Record<string, string> = {}) {
  return {
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_SHA: SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: gh.base,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'push',
    ...extra,
  };
}

function recorder(rt: Runtime, options: { pageSize?: number } = {}) {
  return new DeploymentRecorder(rt, { token: TOKEN, context: githubContext(rt.env), ...options });
}

const payload = { app: 'web', images: { web: 'ghcr.io/acme/web:v1.4.0', sidecar: 'ghcr.io/acme/proxy:2.1' } };

describe('githubContext', () => {
  it('reads the run context, the run URL with its attempt, and a GHES API URL', () => {
    const ctx = githubContext({
      ...env(),
      GITHUB_SERVER_URL: 'https://ghes.example.com/',
      GITHUB_API_URL: 'https://ghes.example.com/api/v3/',
      GITHUB_REF: 'refs/tags/v1.4.0',
      GITHUB_WORKFLOW: 'deploy',
    });
    expect(ctx).toEqual({
      repository: 'acme/web',
      owner: 'acme',
      repo: 'web',
      sha: SHA,
      ref: 'refs/tags/v1.4.0',
      refName: 'v1.4.0',
      serverUrl: 'https://ghes.example.com',
      apiUrl: 'https://ghes.example.com/api/v3',
      graphqlUrl: 'https://ghes.example.com/api/graphql',
      runId: '4242',
      runAttempt: '2',
      runUrl: 'https://ghes.example.com/acme/web/actions/runs/4242/attempts/2',
      actor: 'octocat',
      eventName: 'push',
      workflow: 'deploy',
    });
  });

  it('defaults to github.com and its API; no attempt, no /attempts', () => {
    const ctx = githubContext({ GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '7' });
    expect(ctx.apiUrl).toBe('https://api.github.com');
    expect(ctx.runUrl).toBe('https://github.com/acme/web/actions/runs/7');
    expect(ctx.sha).toBeUndefined();
  });

  it('names the missing or malformed variable in a UserError', () => {
    expect(() => githubContext({})).toThrow(UserError);
    expect(() => githubContext({})).toThrow(/GITHUB_REPOSITORY is not set/);
    expect(() => githubContext({ GITHUB_REPOSITORY: 'web' })).toThrow(/must be owner\/name/);
    expect(() => githubContext({ GITHUB_REPOSITORY: 'acme/web' }, { require: ['GITHUB_RUN_ID'] })).toThrow(
      /GITHUB_RUN_ID is not set/,
    );
  });
});

describe('nextLink', () => {
  it('finds rel="next" among other relations', () => {
    expect(
      nextLink('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"'),
    ).toBe('https://api.github.com/x?page=3');
    expect(nextLink('<https://api.github.com/x?page=1>; rel="first"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});

describe('DeploymentRecorder', () => {
  it('records a successful release: exact bodies, in_progress then success, the replaced deployment inactive', async () => {
    const previous = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.9' } }, [
      'in_progress',
      'success',
    ]);
    const otherApp = gh.seed('production', { app: 'api', images: { api: 'ghcr.io/acme/api:v7' } }, [
      'in_progress',
      'success',
    ]);
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    const started = await rec.start({
      environment: 'production',
      sha: SHA,
      description: 'canary-promote web v1.4.0',
      payload,
      environmentUrl: 'https://web.example.com',
    });
    expect(started.state).toBe('in_progress');
    const done = await rec.succeed('https://web.example.com/', 'promoted to 100%');
    const id = done.id;

    expect(gh.writes()).toEqual([
      {
        method: 'POST',
        path: '/repos/acme/web/deployments',
        body: {
          ref: SHA,
          task: 'deploy',
          auto_merge: false,
          required_contexts: [],
          payload,
          environment: 'production',
          description: 'canary-promote web v1.4.0',
          transient_environment: false,
          production_environment: true,
        },
      },
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${id}/statuses`,
        body: {
          state: 'in_progress',
          log_url: RUN,
          environment_url: 'https://web.example.com',
          description: 'canary-promote web v1.4.0',
        },
      },
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${id}/statuses`,
        body: {
          state: 'success',
          log_url: RUN,
          environment_url: 'https://web.example.com/',
          description: 'promoted to 100%',
          auto_inactive: false,
        },
      },
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${previous}/statuses`,
        body: { state: 'inactive', log_url: RUN, description: `Replaced by deployment #${id}` },
      },
    ]);
    expect(gh.states(previous)).toEqual(['inactive', 'success', 'in_progress']);
    expect(gh.states(otherApp)).toEqual(['success', 'in_progress']); // another app's release stays active
    expect(gh.states(id)).toEqual(['success', 'in_progress']);
    expect(done).toMatchObject({ state: 'success', replaced: [previous], environment: 'production', sha: SHA });
    // Every request carried the token, the API version and GitHub's media type.
    expect(new Set(gh.requests.map((r) => r.authorization))).toEqual(new Set([`token ${TOKEN}`]));
    expect(new Set(gh.requests.map((r) => `${r.accept} ${r.apiVersion}`))).toEqual(
      new Set(['application/vnd.github+json 2022-11-28']),
    );
    expect(rt.lines('info')).toContain(`GitHub Deployment #${id} for production succeeded; replaced #${previous}`);

    const summary = renderDeploymentSummary(done);
    expect(summary).toBe(
      '### GitHub Deployment\n\n' +
        '| Environment | Deployment | State | Links | Notes |\n' +
        '| --- | --- | --- | --- | --- |\n' +
        `| production | #${id} | ✅ success | [environment](https://web.example.com/) · [log](${RUN}) · [history](https://github.com/acme/web/deployments/production) | promoted to 100%; replaced #${previous} |\n`,
    );
  });

  it('records a failed release and leaves the active one alone; transient and non-production flags are sent', async () => {
    const previous = gh.seed('staging', payload, ['in_progress', 'success']);
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    const { id } = await rec.start({
      environment: 'staging',
      ref: 'v1.4.0',
      payload,
      transient: true,
      production: false,
    });
    const failed = await rec.fail('analysis error-rate: 0.031 > 0.01 for 2 consecutive checks | aborted at 25%');
    expect(gh.writes()).toEqual([
      {
        method: 'POST',
        path: '/repos/acme/web/deployments',
        body: {
          ref: 'v1.4.0',
          task: 'deploy',
          auto_merge: false,
          required_contexts: [],
          payload,
          environment: 'staging',
          transient_environment: true,
          production_environment: false,
        },
      },
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${id}/statuses`,
        body: { state: 'in_progress', log_url: RUN },
      },
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${id}/statuses`,
        body: {
          state: 'failure',
          log_url: RUN,
          description: 'analysis error-rate: 0.031 > 0.01 for 2 consecutive checks | aborted at 25%',
        },
      },
    ]);
    expect(gh.states(previous)).toEqual(['success', 'in_progress']);
    expect(failed.state).toBe('failure');
    expect(renderDeploymentSummary(failed)).toContain('| ❌ failure |');
    expect(renderDeploymentSummary(failed)).toContain('0.01 for 2 consecutive checks \\| aborted at 25%');
  });

  it('clips descriptions to the 140 characters GitHub accepts', async () => {
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    await rec.start({ environment: 'production', payload });
    await rec.fail(`line one\n${'x'.repeat(300)}`);
    const body = gh.writes()[2]!.body as { description: string };
    expect(body.description).toHaveLength(140);
    expect(body.description.startsWith('line one xxx')).toBe(true);
    expect(body.description.endsWith('…')).toBe(true);
  });

  it('lastSuccessfulDeployment pages through deployments and statuses, skipping failed, abandoned and rolled-back ones', async () => {
    const old = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.2.0' } }, [
      'in_progress',
      'success',
      'inactive',
    ]);
    const good = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.0' } }, [
      'in_progress',
      'success',
      'inactive',
      'inactive',
    ]);
    const failed = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.1' } }, [
      'in_progress',
      'failure',
    ]);
    const abandoned = gh.seed(
      'production',
      JSON.stringify({ app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.2' } }),
      ['in_progress', 'inactive'],
    );
    const rolledBack = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.3' } }, [
      'in_progress',
      'success',
      'failure',
      'inactive',
    ]);
    gh.seed('staging', { app: 'web', images: { web: 'ghcr.io/acme/web:v9' } }, ['success']);
    const bad = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.4.0' } }, [
      'in_progress',
      'success',
    ]);
    gh.maxPage = 2; // statuses of `good` span two pages: inactive, inactive | success, in_progress
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt, { pageSize: 3 });

    const active = await rec.activeDeployment('production', { app: 'web' });
    expect(active?.id).toBe(bad);

    gh.requests.length = 0;
    const found = await rec.lastSuccessfulDeployment('production', { before: bad, app: 'web' });
    expect(found).toMatchObject({
      id: good,
      environment: 'production',
      payload: { app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.0' } },
      latestState: 'inactive',
      status: { state: 'success' },
      creator: 'github-actions[bot]',
    });
    // Pages of deployments (per_page 3, capped at 2 by the server: [bad, rolledBack] [abandoned, failed] [good, old])
    // and of statuses were followed, and reading stopped at the first match.
    const gets = gh.requests.map((r) => `${r.path}?${new URLSearchParams(r.query).toString()}`);
    expect(gets).toEqual([
      '/repos/acme/web/deployments?environment=production&per_page=3',
      `/repos/acme/web/deployments/${rolledBack}/statuses?per_page=100`,
      '/repos/acme/web/deployments?environment=production&per_page=3&page=2',
      `/repos/acme/web/deployments/${abandoned}/statuses?per_page=100`,
      `/repos/acme/web/deployments/${failed}/statuses?per_page=100`,
      '/repos/acme/web/deployments?environment=production&per_page=3&page=3',
      `/repos/acme/web/deployments/${good}/statuses?per_page=100`,
      `/repos/acme/web/deployments/${good}/statuses?per_page=100&page=2`,
    ]);
    expect(gh.requests.every((r) => r.method === 'GET')).toBe(true);

    // Excluding that one too leads to the older release; another app finds nothing.
    expect((await rec.lastSuccessfulDeployment('production', { exclude: [bad, good] }))?.id).toBe(old);
    expect(await rec.lastSuccessfulDeployment('production', { app: 'api' })).toBeUndefined();
  });

  it('rollback flow: the bad release is marked failure then inactive; the restored one replaces nothing else', async () => {
    const good = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.3.0' } }, [
      'success',
      'inactive',
    ]);
    const bad = gh.seed('production', { app: 'web', images: { web: 'ghcr.io/acme/web:v1.4.0' } }, ['success']);
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    const { bad: active, target, images } = await rec.findRollbackTarget('production', { app: 'web' });
    expect(active?.id).toBe(bad);
    expect(target.id).toBe(good);
    expect(images).toEqual({ web: 'ghcr.io/acme/web:v1.3.0' });
    await rec.start({
      environment: 'production',
      ref: target.sha,
      description: `rollback to deployment #${good}`,
      payload: target.payload,
    });
    await rec.markBad(bad, 'error rate 5% after release');
    const restored = await rec.succeed();
    expect(gh.states(bad)).toEqual(['inactive', 'failure', 'success']);
    expect(gh.states(good)).toEqual(['inactive', 'success']);
    expect(restored.replaced).toEqual([]);
    expect(gh.deployments.get(restored.id)?.payload).toEqual({
      app: 'web',
      images: { web: 'ghcr.io/acme/web:v1.3.0' },
    });
    // A later rollback never returns to the bad one.
    expect((await rec.lastSuccessfulDeployment('production', { before: restored.id }))?.id).toBe(good);
  });

  it('findRollbackTarget says when there is nothing to return to, or no images to redeploy', async () => {
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    const only = gh.seed('production', payload, ['success']);
    await expect(rec.findRollbackTarget('production', { app: 'web' })).rejects.toThrow(
      `No earlier successful GitHub Deployment of environment production for app web to return to (the active one is #${only})`,
    );
    const foreign = gh.seed('qa', { note: 'deployed by another tool' }, ['success', 'inactive']);
    gh.seed('qa', { app: 'web', images: { web: 'ghcr.io/acme/web:v2' } }, ['success']);
    const error = (await rec.findRollbackTarget('qa').catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(
      `GitHub Deployment #${foreign} of qa (${'0'.repeat(39)}${foreign}) has no images in its payload, so it cannot be redeployed`,
    );
    // With no active release (the last one failed), the newest success is the target and nothing is "bad".
    const staging = gh.seed('staging', payload, ['success', 'inactive']);
    gh.seed('staging', payload, ['in_progress', 'failure']);
    const found = await rec.findRollbackTarget('staging');
    expect(found.bad).toBeUndefined();
    expect(found.target.id).toBe(staging);
  });

  it("resume continues a deployment started by an earlier job: in_progress with this run's log, then success", async () => {
    const earlier = createMemoryRuntime({ env: env({ GITHUB_RUN_ID: '4000', GITHUB_RUN_ATTEMPT: '1' }) });
    const started = await recorder(earlier).start({
      environment: 'production',
      payload,
      environmentUrl: 'https://web.example.com',
      description: 'paused at 50%',
    });
    gh.requests.length = 0;
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    const resumed = await rec.resume(started.id);
    expect(resumed).toMatchObject({
      id: started.id,
      environment: 'production',
      state: 'in_progress',
      environmentUrl: 'https://web.example.com',
      logUrl: RUN,
      payload,
    });
    await rec.succeed();
    const status = {
      log_url: RUN,
      environment_url: 'https://web.example.com',
      description: 'paused at 50%',
    };
    // in_progress again, now linking to this run's log; then success.
    expect(gh.writes()).toEqual([
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${started.id}/statuses`,
        body: { state: 'in_progress', ...status },
      },
      {
        method: 'POST',
        path: `/repos/acme/web/deployments/${started.id}/statuses`,
        body: { state: 'success', ...status, auto_inactive: false },
      },
    ]);
    // A finished one is not reopened.
    gh.requests.length = 0;
    const again = await recorder(rt).resume(started.id);
    expect(again.state).toBe('success');
    expect(gh.writes()).toEqual([]);
    await expect(recorder(rt).resume(9999)).rejects.toThrow(
      'GitHub Deployment #9999 was not found in acme/web (or the token may not read its Deployments: `permissions: deployments: read`)',
    );
  });

  it('retries a 502 then succeeds, waiting the Retry-After on the virtual clock', async () => {
    gh.faults.push({
      method: 'POST',
      pathEndsWith: '/deployments',
      status: 502,
      headers: { 'retry-after': '7' },
      body: { message: 'Server Error' },
    });
    gh.faults.push({
      method: 'POST',
      pathEndsWith: '/statuses',
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
    });
    const clock = new VirtualClock(0);
    const rt = createMemoryRuntime({ env: env(), clock });
    const rec = recorder(rt);
    const auto = clock.startAutoAdvance();
    try {
      await rec.start({ environment: 'production', payload });
    } finally {
      auto.stop();
    }
    expect(gh.writes().map((w) => `${w.method} ${w.path.replace(/\d+/, 'N')}`)).toEqual([
      'POST /repos/acme/web/deployments',
      'POST /repos/acme/web/deployments',
      'POST /repos/acme/web/deployments/N/statuses',
      'POST /repos/acme/web/deployments/N/statuses',
    ]);
    expect(gh.deployments.size).toBe(1);
    // 7 s from Retry-After, then GitHub's advised minute after a secondary rate limit without one.
    expect(clock.now()).toBe(67_000);
    expect(rt.lines('info').filter((l) => l.includes('retrying'))).toEqual([
      'GitHub API POST /repos/acme/web/deployments: HTTP 502 (attempt 1); retrying in 7.0s',
      expect.stringMatching(
        /^GitHub API POST \/repos\/acme\/web\/deployments\/\d+\/statuses: HTTP 403 \(attempt 1\); retrying in 60\.0s$/,
      ),
    ]);
  });

  it('a 502 after GitHub created the deployment: the retry adopts it instead of recording the release twice', async () => {
    gh.seed('production', payload, ['success'], SHA); // the same release, already started by an earlier run
    gh.faults.push({ method: 'POST', pathEndsWith: '/deployments', status: 502, processed: true });
    const clock = new VirtualClock(0);
    const rt = createMemoryRuntime({ env: env(), clock });
    const rec = new DeploymentRecorder(rt, {
      token: TOKEN,
      context: githubContext(rt.env),
      retry: { jitter: false },
    });
    gh.requests.length = 0;
    const auto = clock.startAutoAdvance();
    let id = 0;
    try {
      ({ id } = await rec.start({ environment: 'production', payload }));
    } finally {
      auto.stop();
    }
    expect(id).toBe(2);
    expect(gh.deployments.size).toBe(2);
    expect(gh.requests.map((r) => `${r.method} ${r.path}?${new URLSearchParams(r.query).toString()}`)).toEqual([
      'POST /repos/acme/web/deployments?',
      `GET /repos/acme/web/deployments?environment=production&ref=${SHA}&task=deploy&per_page=5`,
      'GET /repos/acme/web/deployments/2/statuses?per_page=1',
      'POST /repos/acme/web/deployments/2/statuses?',
    ]);
    expect(gh.states(2)).toEqual(['in_progress']);
    expect(gh.states(1)).toEqual(['success']); // the earlier one has statuses, so it is never taken for ours
    expect(rt.lines('info')).toContain(
      'GitHub API POST /repos/acme/web/deployments: the failed attempt had taken effect; not sending it again',
    );
  });

  it('turns a 403 into the permission the workflow needs, and a 404 on reading into deployments: read', async () => {
    gh.readOnly = true;
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    const error = await rec.start({ environment: 'production', payload }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(
      'GitHub API POST /repos/acme/web/deployments answered 403: Resource not accessible by integration. ' +
        'The token cannot use GitHub Deployments of acme/web: the workflow needs `permissions: deployments: write`',
    );
    expect((error as UserError).hint).toContain('permissions:\n    contents: read\n    deployments: write');
    expect(gh.requests).toHaveLength(1); // a permission error is not retried

    gh.faults.push({ method: 'GET', status: 404, body: { message: 'Not Found' } });
    const read = await rec.lastSuccessfulDeployment('production').catch((e: unknown) => e);
    expect(read).toBeInstanceOf(UserError);
    expect((read as Error).message).toMatch(/answered 404: Not Found\. .*`permissions: deployments: read`$/);
  });

  it('never lets the token reach a log line or an error, even from a runtime that does not mask', async () => {
    const clock = new VirtualClock(0);
    const memory = createMemoryRuntime({ env: env(), clock });
    const raw: string[] = [];
    const masked: string[] = [];
    const push = (line: string) => void raw.push(line);
    // A runtime whose redact() does nothing: whatever we log must be free of the token on its own.
    const rt: Runtime = {
      ...memory,
      mask: (secret) => void masked.push(secret),
      redact: (text) => text,
      log: { debug: push, info: push, warning: push, error: push, group: (_name, fn) => fn() },
    };
    gh.faults.push({ method: 'POST', status: 500, body: { message: `upstream said Bearer ${TOKEN}` } });
    const rec = new DeploymentRecorder(rt, {
      token: TOKEN,
      context: githubContext(rt.env),
      retry: { random: () => 0.5 },
    });
    expect(masked).toEqual([TOKEN]);
    const auto = clock.startAutoAdvance();
    try {
      await rec.start({ environment: 'production', payload });
    } finally {
      auto.stop();
    }
    await rec.succeed();
    gh.readOnly = true;
    const error = (await rec.fail('boom').catch((e: unknown) => e)) as UserError;
    expect(raw.length).toBeGreaterThan(4);
    for (const text of [...raw, error.message, error.hint ?? '']) expect(text).not.toContain(TOKEN);
    expect(raw.some((l) => l.includes('GitHub API POST /repos/acme/web/deployments → 201'))).toBe(true);

    // With the real memory runtime, the mask is registered with the runner.
    const withMask = createMemoryRuntime({ env: env() });
    recorder(withMask);
    expect(withMask.masked).toContain(TOKEN);
  });

  it('works against GitHub Enterprise Server: API under /api/v3, links to the GHES host', async () => {
    const ghes = new FakeGitHub(TOKEN, 'acme', 'web', '/api/v3');
    const apiUrl = await ghes.start();
    try {
      const previous = ghes.seed('production', payload, ['success']);
      const rt = createMemoryRuntime({
        env: env({ GITHUB_API_URL: apiUrl, GITHUB_SERVER_URL: 'https://ghes.example.com' }),
      });
      const rec = recorder(rt);
      await rec.start({ environment: 'production', payload });
      const done = await rec.succeed();
      expect(ghes.writes().map((w) => w.path.replace(/\/\d+\//, '/N/'))).toEqual([
        '/api/v3/repos/acme/web/deployments',
        '/api/v3/repos/acme/web/deployments/N/statuses',
        '/api/v3/repos/acme/web/deployments/N/statuses',
        '/api/v3/repos/acme/web/deployments/N/statuses',
      ]);
      // auto_inactive is off everywhere: the previous release is marked explicitly.
      expect(ghes.states(previous)).toEqual(['inactive', 'success']);
      expect(done.logUrl).toBe('https://ghes.example.com/acme/web/actions/runs/4242/attempts/2');
      expect(done.historyUrl).toBe('https://ghes.example.com/acme/web/deployments/production');
    } finally {
      await ghes.close();
    }
  });

  it('waits for a primary rate-limit reset that is near, and gives up with a UserError on one that is far', async () => {
    const clock = new VirtualClock(1_000_000);
    const rt = createMemoryRuntime({ env: env(), clock });
    const rec = recorder(rt);
    const limited = (resetInSeconds: number) => ({
      method: 'POST',
      status: 403,
      headers: {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(1_000 + resetInSeconds),
      },
      body: { message: 'API rate limit exceeded for installation ID 1.' },
    });
    gh.faults.push(limited(30));
    const auto = clock.startAutoAdvance();
    try {
      await rec.start({ environment: 'production', payload });
      expect(clock.now()).toBe(1_000_000 + 31_000); // until the reset, plus a second
      gh.faults.push(limited(3600));
      const error = await rec.succeed().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(/answered 403: API rate limit exceeded.*not lifted in time/);
    } finally {
      auto.stop();
    }
  });

  it('still reports success when the replaced deployment cannot be read, with a warning', async () => {
    gh.seed('production', payload, ['success']);
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt);
    await rec.start({ environment: 'production', payload });
    gh.faults.push({ method: 'GET', status: 404, body: { message: 'Not Found' } });
    const done = await rec.succeed();
    expect(done.state).toBe('success');
    expect(done.replaced).toEqual([]);
    expect(rt.lines('warning')).toEqual([
      `GitHub Deployment #${done.id} succeeded, but the deployment it replaced could not be marked inactive: ` +
        'GitHub API GET /repos/acme/web/deployments?environment=production&per_page=100 answered 404: Not Found. ' +
        'The token cannot see acme/web or its Deployments: the workflow needs `permissions: deployments: read`',
    ]);
  });

  it('retries a refused connection, then says which API it could not reach', async () => {
    await gh.close();
    const clock = new VirtualClock(0);
    const rt = createMemoryRuntime({ env: env(), clock });
    const rec = new DeploymentRecorder(rt, {
      token: TOKEN,
      context: githubContext(rt.env),
      retry: { attempts: 3, jitter: false, baseMs: 1000 },
    });
    const auto = clock.startAutoAdvance();
    try {
      const error = (await rec.start({ environment: 'production', payload }).catch((e: unknown) => e)) as Error;
      expect(error.message).toBe(
        `Could not reach the GitHub API at ${gh.base} (POST /repos/acme/web/deployments): ECONNREFUSED`,
      );
    } finally {
      auto.stop();
    }
    expect(clock.now()).toBe(3000); // 1 s, then 2 s
    expect(rt.lines('info').filter((l) => l.includes('retrying'))).toHaveLength(2);
  });

  it('never follows a Link to another origin with the token', async () => {
    for (let i = 0; i < 3; i++) gh.seed('production', payload, ['failure']);
    gh.linkOrigin = 'http://127.0.0.2:9';
    const rt = createMemoryRuntime({ env: env() });
    const rec = recorder(rt, { pageSize: 2 });
    await expect(rec.lastSuccessfulDeployment('production')).rejects.toThrow(
      `refusing to send the GitHub token to http://127.0.0.2:9: not the API at ${gh.base}`,
    );
    expect(gh.requests.map((r) => r.path)).toEqual([
      '/repos/acme/web/deployments',
      '/repos/acme/web/deployments/3/statuses',
      '/repos/acme/web/deployments/2/statuses',
    ]);
  });

  it('retries an attempt that hangs past the per-request timeout', async () => {
    gh.faults.push({ method: 'POST', pathEndsWith: '/deployments', status: 201, body: {}, delayMs: 400 });
    const clock = new VirtualClock(0);
    const rt = createMemoryRuntime({ env: env(), clock });
    const api = new DeploymentRecorder(rt, {
      token: TOKEN,
      context: githubContext(rt.env),
      retry: { jitter: false },
      timeoutMs: 50,
    });
    const auto = clock.startAutoAdvance();
    try {
      const { id } = await api.start({ environment: 'production', payload });
      expect(gh.deployments.get(id)).toBeDefined();
    } finally {
      auto.stop();
    }
    expect(gh.deployments.size).toBe(1); // the hung attempt created nothing
    expect(rt.lines('info')[0]).toMatch(
      /^GitHub API POST \/repos\/acme\/web\/deployments: .*\(attempt 1\); retrying in 1\.0s$/,
    );
  });

  it('refuses an empty token, a missing environment and a bad credential as user errors', async () => {
    const rt = createMemoryRuntime({ env: env() });
    expect(() => new DeploymentRecorder(rt, { token: ' ', context: githubContext(rt.env) })).toThrow(
      /GitHub token is empty/,
    );
    await expect(recorder(rt).start({ environment: ' ', payload })).rejects.toThrow(/needs an environment name/);
    const wrong = new DeploymentRecorder(rt, { token: 'ghs_wrong', context: githubContext(rt.env) });
    await expect(wrong.start({ environment: 'production', payload })).rejects.toThrow(/401 Bad credentials/);
  });
});
