/**
 * The Kubernetes side against kube-sim: the migration as a Job (from a CronJob's template with the new
 * image and env from a Secret, or a manifest), pod logs in the step log, failures with the Job's and the
 * pod's reasons and the last log lines, a backup Job first, and maintenance mode set back after a failure.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import migrate from '../src/main';

let c: Cluster;

function cronJob(name: string, image: string) {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'prod' },
    spec: {
      schedule: '0 3 * * *',
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'migrate', image, command: ['npm', 'run', 'migrate:up'] }],
            },
          },
        },
      },
    },
  };
}

beforeAll(async () => {
  c = await startCluster({
    namespace: 'prod',
    readyAfter: '2s',
    behaviour: {
      'api:v2': {
        exitAfter: '20s',
        exitCode: 0,
        logs: ['> migrate:up', 'Applied 20250117_add_webhooks_table', 'Done'],
      },
      'api:broken': {
        exitAfter: '5s',
        exitCode: 1,
        logs: ['> migrate:up', 'Applying 20250118_add_index', 'ERROR: relation "webhooks" does not exist'],
      },
      'api:oom': { exitAfter: '3s', exitCode: 137, exitReason: 'OOMKilled', logs: ['loading 2 GB of fixtures'] },
      'api:missing': { pullError: 'manifest unknown' },
      'api:slow': { exitAfter: '2h', exitCode: 0, logs: ['> migrate:up', 'Applying 20250119_backfill_orders'] },
      'backup:ok': { exitAfter: '30s', exitCode: 0, logs: ['pg_dump done: s3://backups/shop-1.dump'] },
    },
    env: {},
    action: migrate,
  });
  await c.client.create('CronJob', cronJob('db-migrate', 'api:v1'));
  await c.client.create('CronJob', cronJob('db-backup', 'backup:ok'));
  await c.client.create('Secret', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db-credentials', namespace: 'prod' },
    stringData: { DATABASE_URL: 'postgres://app:pw@db:5432/shop' },
  });
});

afterAll(async () => {
  await c?.stop();
});

const jobs = async () => (await c.client.list('Job', { namespace: 'prod' })).items;

describe('job runner', () => {
  it('runs a backup Job, then the migration Job from the CronJob with the new image and the Secret, logs streamed', async () => {
    const before = (await jobs()).length;
    const { code, errors, rt, outputs, summary } = await c.run({
      runner: 'job',
      job: '{ cronjob: db-migrate }',
      image: 'api:v2',
      'job-secret': 'db-credentials',
      backup: '{ cronjob: db-backup }',
    });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    const created = (await jobs()).slice(before);
    expect(created.map((job) => job.metadata?.name)).toEqual([
      expect.stringMatching(/^db-backup-migrate-\d+$/),
      expect.stringMatching(/^db-migrate-migrate-\d+$/),
    ]);
    const migration = created[1] as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
    expect(migration.spec.template.spec.containers[0]).toMatchObject({
      image: 'api:v2',
      envFrom: [{ secretRef: { name: 'db-credentials' } }],
    });
    expect(outputs['backup-id']).toBe(created[0]?.metadata?.name);
    const info = rt.lines('info');
    expect(info).toContainEqual(expect.stringMatching(/^\[db-backup-migrate-\d+-\w+\] pg_dump done/));
    expect(info).toContainEqual(
      expect.stringMatching(/^\[db-migrate-migrate-\d+-\w+\] Applied 20250117_add_webhooks_table$/),
    );
    expect(summary).toMatch(/\*\*Job:\*\* `job\/db-migrate-migrate-\d+`/);
  });

  it('fails with BackoffLimitExceeded, the pod reason and the last log lines', async () => {
    const { code, errors } = await c.run({
      runner: 'job',
      job: '{ cronjob: db-migrate, image: api:broken }',
      backup: 'none',
    });
    expect(code).toBe(1);
    expect(errors.at(-1)).toMatch(
      /^job\/db-migrate-migrate-\d+ failed: BackoffLimitExceeded \(Job has reached the specified backoff limit\); pod: Error \(exit code 1\)\nLast log lines:\n {2}> migrate:up\n {2}Applying 20250118_add_index\n {2}ERROR: relation "webhooks" does not exist$/,
    );
  });

  it('says OOMKilled when the container ran out of memory', async () => {
    const { code, errors } = await c.run({
      runner: 'job',
      job: '{ cronjob: db-migrate, image: api:oom }',
      backup: 'none',
    });
    expect(code).toBe(1);
    expect(errors.at(-1)).toContain('pod: OOMKilled (exit code 137)');
    expect(errors.at(-1)).toContain('loading 2 GB of fixtures');
  });

  it('streams the log of a pod still running: its lines are in the step log before the step times out', async () => {
    const { code, errors, rt } = await c.run({
      runner: 'job',
      job: '{ cronjob: db-migrate, image: api:slow }',
      backup: 'none',
      timeout: '10m',
    });
    expect(code).toBe(1);
    expect(rt.lines('info')).toContainEqual(
      expect.stringMatching(/^\[db-migrate-migrate-\d+-\w+\] Applying 20250119_backfill_orders$/),
    );
    expect(errors.at(-1)).toMatch(
      /^Timed out after 10m \(input 'timeout'\) while running step "Migration Job db-migrate-/,
    );
    expect(rt.lines('warning')).toContainEqual(
      expect.stringMatching(
        /^job\/(db-migrate-migrate-\d+) in namespace prod was left running when the step stopped waiting; it may still finish\. To stop it: kubectl delete job \1 -n prod$/,
      ),
    );
  });

  it('fails at once on ImagePullBackOff instead of waiting out the timeout', async () => {
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migration' },
      spec: {
        backoffLimit: 0,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'api:missing' }] } },
      },
    };
    const started = c.clock.now();
    const { code, errors } = await c.run({
      runner: 'job',
      job: JSON.stringify(manifest),
      backup: 'none',
      timeout: '30m',
    });
    expect(code).toBe(1);
    expect(errors.at(-1)).toMatch(/^job\/migration-migrate-\d+ cannot start; pod: (ErrImagePull|ImagePullBackOff)/);
    expect(c.clock.now() - started).toBeLessThan(5 * 60_000);
  });

  it('refuses a job input that is neither a Job nor a cronjob, before anything is created', async () => {
    const before = (await jobs()).length;
    const { code, errors } = await c.run({ runner: 'job', job: '{ image: api:v2 }', backup: 'none' });
    expect(code).toBe(1);
    expect(errors[0]).toContain("Input 'job': cronjob must be a CronJob name");
    expect((await jobs()).length).toBe(before);
  });
});

describe('maintenance mode', () => {
  it('is set while migrating and set back after a failed migration, rollouts awaited both times', async () => {
    await c.app('shop', 'shop:1', { service: false, replicas: 2 });
    expect(c.sim.store.get('apps/v1/deployments', 'prod', 'shop').spec.template.spec.containers[0].env).toBeUndefined();
    const seen: Array<string | undefined> = [];
    const stop = c.sim.store.watch('apps/v1/deployments', 'prod', undefined, (event) => {
      const object = event.object as { metadata?: { name?: string }; spec?: any };
      if (object.metadata?.name !== 'shop') return;
      const env = object.spec?.template?.spec?.containers?.[0]?.env as
        | Array<{ name: string; value?: string }>
        | undefined;
      const value = env?.find((entry) => entry.name === 'MAINTENANCE_MODE')?.value;
      if (seen.at(-1) !== value) seen.push(value);
    });
    const { code, errors, rt } = await c.run({
      runner: 'job',
      job: '{ cronjob: db-migrate, image: api:broken }',
      backup: 'none',
      maintenance: 'shop',
    });
    stop();
    expect(code).toBe(1);
    expect(errors.at(-1)).toContain('BackoffLimitExceeded');
    expect(seen).toEqual(['true', undefined]);
    const shop = c.sim.store.get('apps/v1/deployments', 'prod', 'shop');
    expect(shop.spec.template.spec.containers[0].env ?? []).toEqual([]);
    expect(shop.status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    const info = rt.lines('info');
    const on = info.findIndex((line) => line.startsWith('Maintenance mode: MAINTENANCE_MODE=true on deployment/shop'));
    const created = info.findIndex((line) => line.startsWith('Created job/db-migrate-migrate-'));
    const off = info.findIndex((line) =>
      line.startsWith('Maintenance mode off: MAINTENANCE_MODE put back on deployment/shop'),
    );
    expect(on).toBeGreaterThanOrEqual(0);
    expect(created).toBeGreaterThan(on);
    expect(off).toBeGreaterThan(created);
  });

  it('puts back the value a container had before', async () => {
    await c.app('admin', 'admin:1', { service: false, replicas: 1 });
    await c.client.patch(
      'Deployment',
      { namespace: 'prod', name: 'admin' },
      [{ op: 'add', path: '/spec/template/spec/containers/0/env', value: [{ name: 'READ_ONLY', value: 'no' }] }],
      'json',
    );
    const { code, errors } = await c.run({
      runner: 'job',
      job: '{ cronjob: db-migrate, image: api:v2 }',
      backup: 'none',
      maintenance: 'admin',
      'maintenance-env': 'READ_ONLY=yes',
    });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(c.sim.store.get('apps/v1/deployments', 'prod', 'admin').spec.template.spec.containers[0].env).toEqual([
      { name: 'READ_ONLY', value: 'no' },
    ]);
  });
});
