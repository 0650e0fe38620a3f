/** A real PostgreSQL for the migrate tests: one server per file, a fresh database and workspace per test. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '@deploy-actions/testkit/cluster';
import { postgresMissing, type RunningPostgres, startPostgres } from '@deploy-actions/testkit/postgres';
import { afterAll, beforeAll } from 'vitest';
import migrate from '../src/main';

let counter = 0;

export interface TestDatabase {
  url: string;
  workspace: string;
  psql(sql: string): string;
  /** Writes migration files into `db/migrations` of the workspace. */
  files(files: Record<string, string>): void;
  run(inputs: Record<string, string>, env?: Record<string, string>): ReturnType<typeof runAction>;
}

export const PASSWORD = 'pa:ss@w0rd/secret';

/** A database owned by a password-protected role, and a workspace with a migrations folder. */
export function testDatabase(pg: RunningPostgres): TestDatabase {
  const name = `t${++counter}_${process.pid}`;
  const role = `app_${name}`;
  pg.psql(`CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`);
  pg.psql(`CREATE DATABASE ${name} OWNER ${role}`);
  const url = `postgres://${role}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${pg.port}/${name}`;
  const workspace = mkdtempSync(join(tmpdir(), 'migrate-test-'));
  mkdirSync(join(workspace, 'db/migrations'), { recursive: true });
  return {
    url,
    workspace,
    psql: (sql) => pg.psql(sql, `postgres://postgres@127.0.0.1:${pg.port}/${name}`),
    files(files) {
      for (const [file, text] of Object.entries(files)) writeFileSync(join(workspace, 'db/migrations', file), text);
    },
    run: (inputs, env = {}) =>
      runAction(
        migrate,
        { 'database-url': url, migrations: 'db/migrations', ...inputs },
        {
          env: { PATH: process.env['PATH'] ?? '', GITHUB_ACTOR: 'octocat', ...env },
          context: { workspace },
        },
      ),
  };
}

/** Why PostgreSQL tests are skipped here, if they are. */
export const pgMissing = postgresMissing();

/** One throwaway server for the test file (started before its tests, removed after); `server()` gives it. */
export function usePostgres(): () => RunningPostgres {
  let server: RunningPostgres | undefined;
  beforeAll(async () => {
    if (!pgMissing) server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());
  return () => server!;
}
