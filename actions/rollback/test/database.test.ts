/**
 * rollback with database-restore: the app is stopped, the data restored, then
 * the old version started. The CronJob way runs on kube-sim's Job controller;
 * the pg_restore way against a real throwaway PostgreSQL server on loopback
 * (skipped, saying why, where PostgreSQL's binaries are missing).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { postgresMissing, type RunningPostgres, startPostgres } from '@deploy-actions/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';
import { parsed } from './outputs';

let c: Cluster;

async function release(name: string, images: string[]) {
  await c.app(name, images[0]!, { service: false, replicas: 2, progressDeadlineSeconds: 60 });
  for (const image of images.slice(1)) await c.setImage(name, 'app', image);
}

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
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'restore', image }] } },
        },
      },
    },
  };
}

const run = async (inputs: Record<string, string>) => parsed(await c.run(inputs));

beforeAll(async () => {
  c = await startCluster({
    namespace: 'prod',
    controllers: 'bare',
    readyAfter: '2s',
    behaviour: {
      'restore:ok': { exitAfter: '20s', exitCode: 0 },
      'restore:bad': { exitAfter: '5s', exitCode: 3 },
    },
    env: {},
    action: rollback,
  });
  await c.client.create('CronJob', cronJob('db-restore', 'restore:ok'));
  await c.client.create('CronJob', cronJob('db-restore-broken', 'restore:bad'));
});

afterAll(async () => {
  await c?.stop();
});

describe('database-restore with a restore CronJob', () => {
  it('stops the app, runs a Job from the CronJob to completion, then starts the old version', async () => {
    await release('orders', ['orders:1', 'orders:2']);
    // The app's pods left (Terminating ones included: they run for their grace period) when the restore began.
    const podsAtRestore: number[] = [];
    const stopWatch = c.sim.store.watch('batch/v1/jobs', 'prod', undefined, (event) => {
      if (event.type === 'ADDED') podsAtRestore.push(c.podUids('app=orders').length);
    });
    const { code, rt, summary } = await run({
      deployments: 'orders',
      'database-restore': '{ cronjob: db-restore }',
      'confirm-database-restore': 'true',
    });
    stopWatch();
    expect(code).toBe(0);
    expect(podsAtRestore).toEqual([0]);
    const jobs = (await c.client.list('Job', { namespace: 'prod' })).items;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.metadata?.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(jobs[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'db-restore' });
    const events = rt.lines('info');
    const stopped = events.findIndex((line) => line.startsWith('Stopped deployment/orders'));
    const restored = events.findIndex((line) => line.startsWith('Database restored (cronjob: job/db-restore-restore-'));
    const patched = events.findIndex((line) => line.startsWith('Patched deployment/orders'));
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect(restored).toBeGreaterThan(stopped);
    expect(patched).toBeGreaterThan(restored);
    const orders = c.sim.store.get('apps/v1/deployments', 'prod', 'orders');
    expect(orders.spec.replicas).toBe(2);
    expect(orders.spec.template.spec.containers[0].image).toBe('orders:1');
    expect(orders.status).toMatchObject({ replicas: 2, availableReplicas: 2 });
    expect(summary).toMatch(/\*\*Database:\*\* restored \(cronjob: `job\/db-restore-restore-\d+`\)/);
  });

  it('says the app is left stopped when the restore Job fails', async () => {
    await release('billing', ['billing:1', 'billing:2']);
    const { code, rt } = await run({
      deployments: 'billing',
      'database-restore': '{ cronjob: db-restore-broken }',
      'confirm-database-restore': 'true',
    });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toMatch(
      /Database restore failed: job\/db-restore-broken-restore-\d+ failed: BackoffLimitExceeded.*deployment\/billing are left scaled to 0; no rollback was applied/,
    );
    expect(c.sim.store.get('apps/v1/deployments', 'prod', 'billing').spec.replicas).toBe(0);
  });

  it('refuses to restore without confirm-database-restore, changing nothing', async () => {
    const { code, rt } = await run({ deployments: 'orders', 'database-restore': '{ cronjob: db-restore }' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain("Input 'confirm-database-restore': must be true");
  });

  it('refuses a restore spec with two ways before anything changes', async () => {
    const { code, rt } = await run({
      deployments: 'orders',
      'database-restore': '{ cronjob: db-restore, command: [./restore.sh] }',
      'confirm-database-restore': 'true',
    });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain(
      'give exactly one of pg-dump, cronjob or command (got cronjob, command)',
    );
  });
});

const pgMissing = postgresMissing();

describe.skipIf(pgMissing !== undefined)(
  `database-restore with pg_restore ${pgMissing ? `(skipped: ${pgMissing})` : ''}`,
  () => {
    let pg: RunningPostgres;
    let url = '';
    const psql = (sql: string) => pg.psql(sql, url);

    beforeAll(async () => {
      pg = await startPostgres();
      url = `postgres://app:s3cret-pw@127.0.0.1:${pg.port}/shop`;
      pg.psql("CREATE ROLE app LOGIN PASSWORD 's3cret-pw' SUPERUSER");
      pg.psql('CREATE DATABASE shop OWNER app');
      psql(
        "CREATE TABLE prices (sku text PRIMARY KEY, cents int); INSERT INTO prices VALUES ('tea', 350), ('cake', 420)",
      );
      execFileSync('pg_dump', ['-Fc', '-f', join(c.workspace, 'pre-release.dump'), '-d', url]);
    }, 60_000);

    afterAll(() => pg?.stop());

    it('puts the dump back with the app stopped, without the password on any command line', async () => {
      await release('shop', ['shop:1', 'shop:2']);
      // The bad release's migration changed the data.
      psql("UPDATE prices SET cents = 0; INSERT INTO prices VALUES ('free', 0)");
      const { code, rt, summary } = await run({
        deployments: 'shop',
        'database-restore': `{ pg-dump: pre-release.dump, database-url: "${url}" }`,
        'confirm-database-restore': 'true',
      });
      expect(code).toBe(0);
      expect(psql('SELECT sku, cents FROM prices ORDER BY sku')).toBe('cake|420\ntea|350');
      expect(summary).toContain('pg_restore --clean --if-exists --no-owner --single-transaction');
      expect(summary).not.toContain('s3cret-pw');
      expect(rt.masked).toContain('s3cret-pw');
      expect(c.sim.store.get('apps/v1/deployments', 'prod', 'shop').spec.template.spec.containers[0].image).toBe(
        'shop:1',
      );
    });
  },
);
