/**
 * rollback's `mode: auto` in core, without the action: the choice (a table), and on kube-sim the rollout record
 * it reads, the "nothing to roll back" report after canary-promote stopped a release, and runRollback's path
 * from the inputs to the outcome the action maps onto its outputs.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors';
import {
  type AutoFacts,
  autoMode,
  chooseAutoMode,
  nothingToRollBack,
  nothingToRollBackOutcome,
  type RollbackInputs,
  runRollback,
} from '../src/rollback';
import { createMemoryRuntime } from '../src/runtime';
import { RecordStore, type RolloutPhase, type RolloutRecord } from '../src/state';

describe('autoMode', () => {
  const table: Array<[string, AutoFacts, ReturnType<typeof autoMode>]> = [
    ['a rollout in flight is aborted', { inFlight: true }, 'in-flight'],
    ['in flight wins over a to-version', { inFlight: true, toVersion: 'v0.9.5' }, 'in-flight'],
    ['a to-version redeploys that tag', { inFlight: false, toVersion: 'v0.9.5' }, 'image'],
    ['else the previous revision', { inFlight: false }, 'kubernetes'],
    ['an empty to-version is no tag', { inFlight: false, toVersion: '' }, 'kubernetes'],
  ];
  it.each(table)('%s', (_name, facts, mode) => {
    expect(autoMode(facts)).toBe(mode);
  });
});

let cluster: Cluster;
const APP = 'web';

/** A record of APP as canary-promote leaves it, for the stable as it runs now (or with other images). */
async function writeRecord(phase: RolloutPhase, stableImages?: Record<string, string>): Promise<void> {
  const stable = cluster.deployment(APP)!;
  const images = stableImages ?? { app: cluster.images(APP)?.[0] ?? '' };
  const record: RolloutRecord = {
    version: 1,
    app: APP,
    namespace: cluster.namespace,
    strategy: 'canary',
    phase,
    stepIndex: 1,
    steps: [25, 50, 100],
    weight: phase === 'aborted' ? 0 : 25,
    router: { kind: 'replicas', config: {} },
    stableVersion: 'v2',
    canaryVersion: 'v3-bad',
    workloads: [
      {
        stable: APP,
        canary: `${APP}-canary`,
        stableImages: images,
        canaryImages: { app: 'ghcr.io/acme/web:v3-bad' },
        configCopies: { configMaps: {}, secrets: {} },
        stableRevision: Number(stable.metadata?.annotations?.['deployment.kubernetes.io/revision']),
      },
    ],
    verdicts: [],
    reason: 'error rate 7% above 5%.',
    updatedAt: new Date(cluster.clock.now()).toISOString(),
  };
  const store = await RecordStore.load(cluster.client, cluster.namespace, APP);
  await store.save(record);
}

function inputs(values: Partial<RollbackInputs>): RollbackInputs {
  return {
    mode: 'auto',
    pause: 300_000,
    router: 'replicas',
    'analysis-interval': 10_000,
    'confirm-database-restore': false,
    force: false,
    'dry-run': false,
    timeout: 600_000,
    kubeconfig: cluster.sim.kubeconfig(),
    namespace: cluster.namespace,
    ...values,
  };
}

const runtime = () =>
  createMemoryRuntime({ clock: cluster.clock, workspace: cluster.workspace, env: { GITHUB_ACTOR: 'octocat' } });

beforeAll(async () => {
  cluster = await startCluster({ controllers: 'bare', readyAfter: '1s' });
  await cluster.app(APP, 'ghcr.io/acme/web:v1');
  await cluster.setImage(APP, 'app', 'ghcr.io/acme/web:v2');
});

afterAll(async () => {
  await cluster?.stop();
});

describe('mode auto on a cluster', () => {
  it('chooses in-flight for a record in flight, the to-version or kubernetes otherwise', async () => {
    const where = { namespace: cluster.namespace, app: APP };
    await writeRecord('progressing');
    const rt = runtime();
    expect(await chooseAutoMode(rt, cluster.client, where)).toBe('in-flight');
    expect(rt.lines('info')).toContain(`mode auto: in-flight (a rollout of ${APP} is in flight)`);
    await writeRecord('promoted');
    expect(await chooseAutoMode(runtime(), cluster.client, { ...where, toVersion: 'v1' })).toBe('image');
    expect(await chooseAutoMode(runtime(), cluster.client, where)).toBe('kubernetes');
  });

  it('an aborted release whose stable still serves: nothing to roll back, reported, nothing changed', async () => {
    await writeRecord('aborted');
    const before = cluster.snapshot();
    const rt = runtime();
    const request = { namespace: cluster.namespace, app: APP, reason: 'pager: 5xx' };
    const nothing = await nothingToRollBack(rt, cluster.client, request);
    expect(nothing).toMatchObject({ result: 'nothing-to-roll-back', serving: 'v2' });
    const values = { ...inputs({ reason: 'pager: 5xx' }), namespace: cluster.namespace };
    const outcome = await nothingToRollBackOutcome(rt, cluster.client, nothing!, values);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.result).toMatchObject({ verdict: 'nothing-to-roll-back', mode: 'auto', app: APP, phase: 'aborted' });
    expect(outcome.restored?.byName).toEqual({
      web: {
        before: { images: { app: 'ghcr.io/acme/web:v2' } },
        after: { images: { app: 'ghcr.io/acme/web:v2' } },
        outcome: 'skipped',
      },
    });
    expect(outcome.restored?.summary).toBe(
      `Nothing to roll back in namespace ${cluster.namespace}, triggered by octocat: pager: 5xx`,
    );
    const summary = rt.summary.text();
    expect(summary).toContain('## Rollback: nothing to roll back for `web`');
    expect(summary).toContain('the release of v3-bad was aborted (error rate 7% above 5%), and v2 is serving');
    expect(summary).toContain('| web | app=ghcr.io/acme/web:v2 |');
    expect(cluster.snapshot()).toEqual(before);
  });

  it('refuses a database restore when there is nothing to roll back, naming the input', async () => {
    await writeRecord('aborted');
    const nothing = await nothingToRollBack(runtime(), cluster.client, { namespace: cluster.namespace, app: APP });
    const values = { ...inputs({ 'database-restore': { cronjob: 'db-restore' } }), namespace: cluster.namespace };
    const refused = nothingToRollBackOutcome(runtime(), cluster.client, nothing!, values);
    await expect(refused).rejects.toBeInstanceOf(InputError);
    await expect(refused).rejects.toThrow(
      /Input 'database-restore': is not supported with mode: auto here \(the release of web was aborted: nothing to roll back\)/,
    );
  });

  it('a stable changed since the aborted release is not "nothing": the normal modes decide', async () => {
    await writeRecord('aborted', { app: 'ghcr.io/acme/web:v1' });
    expect(await nothingToRollBack(runtime(), cluster.client, { namespace: cluster.namespace, app: APP })).toBe(
      undefined,
    );
  });

  it('runRollback from the inputs: auto finds nothing to roll back and hands back the outcome', async () => {
    await writeRecord('aborted');
    const before = cluster.snapshot();
    const outcome = await runRollback(runtime(), inputs({ deployments: [APP], reason: 'pager' }));
    expect(outcome.result).toMatchObject({ verdict: 'nothing-to-roll-back', mode: 'auto', phase: 'aborted' });
    expect(outcome.restored?.images).toBe('web: app=ghcr.io/acme/web:v2 → app=ghcr.io/acme/web:v2 (skipped)');
    expect(cluster.snapshot()).toEqual(before);
  });

  it('runRollback from the inputs: auto with a rollout in flight, as a dry run, plans its abort', async () => {
    await writeRecord('paused');
    const rt = runtime();
    const outcome = await runRollback(rt, inputs({ app: APP, 'dry-run': true }));
    expect(outcome).toEqual({
      result: {
        verdict: 'planned',
        mode: 'in-flight',
        app: APP,
        message: `would abort the rollout of ${APP} in flight (dry run, nothing changed)`,
      },
    });
    expect(rt.summary.text()).toContain('## Rollback planned: would abort the rollout of web in flight');
  });
});
