/**
 * rollback with `database-restore: { command: [...] }`: the user's own restore program runs from the
 * argument array (no shell between), with the app stopped, and a database password it is given or prints
 * never reaches the log or the summary. On kube-sim with its controllers, on a virtual clock.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

let c: Cluster;
const PASSWORD = 'hunter2-Xq9';
const URL = `postgres://restorer:${PASSWORD}@db.internal:5432/shop`;

beforeAll(async () => {
  c = await startCluster({ namespace: 'prod', controllers: 'bare', readyAfter: '2s', env: {}, action: rollback });
  // The user's restore tool: records its arguments and the replicas the app had while it ran, and, as
  // tools do, prints the connection it uses.
  writeFileSync(
    join(c.workspace, 'restore.cjs'),
    `const fs = require('node:fs');
const args = process.argv.slice(2);
fs.writeFileSync(${JSON.stringify(join(c.workspace, 'ran.json'))}, JSON.stringify({ args, env: process.env.HOME ?? null }));
console.log('connecting to ' + args[1]);
console.log('restored 3 tables');
`,
  );
});

afterAll(async () => {
  await c?.stop();
});

describe('database-restore with a user command', () => {
  it('runs the program with exactly the arguments given, app stopped, password masked', async () => {
    await c.app('orders', 'orders:1', { service: false, replicas: 2, progressDeadlineSeconds: 60 });
    await c.setImage('orders', 'app', 'orders:2');
    const replicasWhileRestoring: number[] = [];
    const stop = c.sim.store.watch('apps/v1/deployments', 'prod', undefined, (event) => {
      const object = event.object as { metadata?: { name?: string }; spec?: { replicas?: number } };
      if (object.metadata?.name === 'orders') replicasWhileRestoring.push(object.spec?.replicas ?? -1);
    });
    const args = ['--url', URL, 'a b; echo $HOME', '*'];
    const { code, errors, rt, summary } = await c.run({
      deployments: 'orders',
      'database-restore': JSON.stringify({ command: [process.execPath, join(c.workspace, 'restore.cjs'), ...args] }),
      'confirm-database-restore': 'true',
    });
    stop();
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    // No shell: `;`, `$HOME` and `*` arrive as they were written, each its own argument.
    expect(JSON.parse(readFileSync(join(c.workspace, 'ran.json'), 'utf8')).args).toEqual(args);
    // Stopped (0) before the restore, back to 2 after, on the old version.
    expect(replicasWhileRestoring).toContain(0);
    expect(replicasWhileRestoring.at(-1)).toBe(2);
    expect(c.images('orders')).toEqual(['orders:1']);
    const events = rt.lines('info');
    const stopped = events.findIndex((line) => line.startsWith('Stopped deployment/orders'));
    const printed = events.indexOf('restored 3 tables');
    const restored = events.findIndex((line) => line.startsWith('Database restored (command: '));
    const patched = events.findIndex((line) => line.startsWith('Patched deployment/orders'));
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect([stopped, printed, restored, patched]).toEqual(
      [...[stopped, printed, restored, patched]].sort((a, b) => a - b),
    );
    // What the tool printed is logged, with the password masked; the summary names the command, masked too.
    expect(events).toContain('connecting to postgres://restorer:***@db.internal:5432/shop');
    expect(rt.masked).toContain(PASSWORD);
    expect(JSON.stringify(rt.lines('info'))).not.toContain(PASSWORD);
    expect(summary).not.toContain(PASSWORD);
    expect(summary).toMatch(
      /\*\*Database:\*\* restored \(command: `.*restore\.cjs --url postgres:\/\/restorer:\*\*\*@db/,
    );
  });
});
