/**
 * bench/migrate: apply 500 small migrations to an empty database, then `status` over 5,000 applied ones,
 * with our built-in PostgreSQL runner and with node-pg-migrate, on the same throwaway PostgreSQL server
 * (Debian's, on loopback) in the same run, alternating who goes first. Both run in-process, each migration
 * in its own transaction (node-pg-migrate's singleTransaction: false) under its advisory lock. Ours also
 * lints the pending files (the parser's WebAssembly loads on the first run) and writes its job summary.
 * node-pg-migrate has no status command: its dry run computes the same thing (what is applied, what is pending).
 *
 *   npx tsx bench/migrate/run.ts [rounds=3] [apply=500] [status=5000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { systemClock } from '../../packages/core/src/clock';
import { checksumOf } from '../../packages/core/src/db/files';
import { runMigrate } from '../../packages/core/src/db/migrate';
import type { MigrateRequest } from '../../packages/core/src/db/request';
import { createMemoryRuntime } from '../../packages/core/src/runtime';
import { startPostgres } from '../../packages/testkit/src/postgres';
import { median, reportResult, seconds } from '../support';

const rounds = Number(process.argv[2] ?? 3);
const APPLY = Number(process.argv[3] ?? 500);
const STATUS = Number(process.argv[4] ?? 5000);
const work = mkdtempSync(join(tmpdir(), 'bench-migrate-'));
const server = await startPostgres();
const sql = (i: number) =>
  `CREATE TABLE t_${i} (id int PRIMARY KEY, note text);\nINSERT INTO t_${i} VALUES (${i}, 'row ${i}');\n`;

/** The same SQL in both tools' file layouts. */
function folders(count: number, name: string) {
  const ours = join(work, name, 'ours');
  const theirs = join(work, name, 'theirs');
  mkdirSync(ours, { recursive: true });
  mkdirSync(theirs, { recursive: true });
  for (let i = 1; i <= count; i++) {
    writeFileSync(join(ours, `V${i}__table_${i}.sql`), sql(i));
    writeFileSync(
      join(theirs, `${i}_table_${i}.sql`),
      `-- Up Migration\n${sql(i)}-- Down Migration\nDROP TABLE t_${i};\n`,
    );
  }
  return { ours, theirs };
}

let databases = 0;
function database(): string {
  const name = `bench_${++databases}`;
  server.psql(`CREATE DATABASE ${name}`);
  return `postgres://postgres@127.0.0.1:${server.port}/${name}`;
}

function request(folder: string, mode: MigrateRequest['mode'], url: string): MigrateRequest {
  return {
    mode,
    runner: 'sql',
    databaseUrl: url,
    folder,
    table: 'deploy_actions_migrations',
    outOfOrder: false,
    lockTimeoutMs: 10_000,
    statementTimeoutMs: 0,
    allowDestructive: false,
    backup: { kind: 'none' },
    commands: {},
    namespace: 'default',
    timeoutMs: 600_000,
    dryRun: false,
  };
}

async function ours(folder: string, mode: MigrateRequest['mode'], url: string, expect: number): Promise<number> {
  const rt = createMemoryRuntime({ clock: systemClock, workspace: work });
  const started = performance.now();
  const result = await runMigrate(
    { rt, kube: () => Promise.reject(new Error('no cluster')) },
    request(folder, mode, url),
  );
  const ms = performance.now() - started;
  const count =
    mode === 'apply' ? result.applied.length : (result.plan?.states.filter((s) => s.state === 'applied').length ?? 0);
  if (count !== expect) throw new Error(`ours: ${count} instead of ${expect}`);
  return ms;
}

async function theirs(folder: string, dryRun: boolean, url: string, expect: number): Promise<number> {
  const started = performance.now();
  const ran = await runner({
    databaseUrl: url,
    dir: folder,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: false,
    checkOrder: true,
    dryRun,
    log: () => {},
  });
  const ms = performance.now() - started;
  if (ran.length !== (dryRun ? 0 : expect)) throw new Error(`node-pg-migrate: ${ran.length} instead of ${expect}`);
  return ms;
}

/** A database whose history says `count` migrations are applied (both tools' tables), for status. */
async function seeded(count: number, oursFolder: string): Promise<string> {
  const url = database();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TABLE deploy_actions_migrations (installed_rank serial PRIMARY KEY, version text, description text NOT NULL,
    type text NOT NULL, script text NOT NULL, checksum text, installed_by text NOT NULL DEFAULT current_user,
    installed_on timestamptz NOT NULL DEFAULT now(), execution_ms integer NOT NULL DEFAULT 0, run_id text)`);
  await client.query(
    'CREATE TABLE pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)',
  );
  const versions = Array.from({ length: count }, (_, i) => i + 1);
  await client.query(
    `INSERT INTO deploy_actions_migrations (version, description, type, script, checksum)
     SELECT v::text, 'table ' || v, 'SQL', 'V' || v || '__table_' || v || '.sql', c FROM unnest($1::int[], $2::text[]) AS x(v, c)`,
    [versions, versions.map((i) => checksumOf(sql(i)))],
  );
  await client.query(
    `INSERT INTO pgmigrations (name, run_on) SELECT v || '_table_' || v, now() FROM unnest($1::int[]) AS v`,
    [versions],
  );
  await client.end();
  void oursFolder;
  return url;
}

const applyFolders = folders(APPLY, 'apply');
const statusFolders = folders(STATUS, 'status');
const statusDb = await seeded(STATUS, statusFolders.ours);
const samples = {
  applyOurs: [] as number[],
  applyTheirs: [] as number[],
  statusOurs: [] as number[],
  statusTheirs: [] as number[],
};
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours'];
    for (const who of order) {
      if (who === 'ours') {
        samples.applyOurs.push(await ours(applyFolders.ours, 'apply', database(), APPLY));
        samples.statusOurs.push(await ours(statusFolders.ours, 'status', statusDb, STATUS));
      } else {
        samples.applyTheirs.push(await theirs(applyFolders.theirs, false, database(), APPLY));
        samples.statusTheirs.push(await theirs(statusFolders.theirs, true, statusDb, STATUS));
      }
    }
  }
  const line = (label: string, a: number[], b: number[]) => {
    const ratio = median(a) / median(b);
    console.log(
      `${label}: ours ${seconds(median(a))} (${a.map(seconds).join(', ')}), node-pg-migrate ${seconds(median(b))} (${b.map(seconds).join(', ')}), ratio ${ratio.toFixed(2)}x (target <= 1.0x)`,
    );
    reportResult({
      measure: `${label} (wall time, median of ${rounds})`,
      ours: seconds(median(a)),
      peer: seconds(median(b)),
      peerName: 'node-pg-migrate',
      ratio: `${ratio.toFixed(2)}x`,
      target: '<= 1.0x',
      met: ratio <= 1,
    });
  };
  console.log(
    `bench/migrate on PostgreSQL ${server.psql('SHOW server_version')}, ${rounds} rounds, medians (each run):`,
  );
  line(`apply ${APPLY} migrations`, samples.applyOurs, samples.applyTheirs);
  line(`status over ${STATUS} applied`, samples.statusOurs, samples.statusTheirs);
} finally {
  server.stop();
  rmSync(work, { recursive: true, force: true });
}
