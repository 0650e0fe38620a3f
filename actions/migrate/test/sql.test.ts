/**
 * The built-in PostgreSQL runner against a real PostgreSQL server on loopback: history, the advisory lock
 * under two concurrent runs, a failing migration rolled back, drift, order, baseline, undo, timeouts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PASSWORD, pgMissing, testDatabase, usePostgres } from './support';

const missing = pgMissing;
const postgres = usePostgres();

const V1 = 'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);\n';
const V2 = "-- seed\nINSERT INTO users (name) VALUES ('ada'), ('grace');\n";
const HISTORY = 'deploy_actions_migrations';

describe.skipIf(missing !== undefined)(`sql runner ${missing ?? ''}`, () => {
  it('applies pending files in version order, records them, and is up to date the second time', async () => {
    const db = testDatabase(postgres());
    db.files({
      'V1__create_users.sql': V1,
      'V1_1__seed.sql': V2,
      'R__user_names.sql': 'CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\n',
      'README.md': 'not a migration',
    });
    const first = await db.run(
      { backup: 'none' },
      { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '77' },
    );
    expect(first.errors).toEqual([]);
    expect(first.code).toBe(0);
    expect(first.outputs['applied']).toBe('V1__create_users.sql\nV1_1__seed.sql\nR__user_names.sql');
    expect(first.outputs['current-version']).toBe('1.1');
    expect(db.psql('SELECT name FROM user_names ORDER BY name')).toBe('ada\ngrace');
    expect(
      db.psql(
        `SELECT version, type, script, installed_by, run_id, length(checksum) FROM ${HISTORY} ORDER BY installed_rank`,
      ),
    ).toBe(
      [
        '1|SQL|V1__create_users.sql|octocat|https://github.com/acme/shop/actions/runs/77|64',
        '1.1|SQL|V1_1__seed.sql|octocat|https://github.com/acme/shop/actions/runs/77|64',
        '|REPEATABLE|R__user_names.sql|octocat|https://github.com/acme/shop/actions/runs/77|64',
      ].join('\n'),
    );
    expect(first.summary).toContain('Migrations applied');
    expect(first.summary).toMatch(/\| 1\.1 \| seed \| ✅ applied \|/);

    const second = await db.run({ backup: 'none' });
    expect(second.code).toBe(0);
    expect(second.outputs['applied']).toBe('');
    expect(JSON.parse(second.outputs['result']!).verdict).toBe('up-to-date');
    expect(db.psql(`SELECT count(*) FROM ${HISTORY}`)).toBe('3');
  });

  it('status and plan list pending migrations with their SQL and change nothing', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': V1 });
    await db.run({ backup: 'none' });
    db.files({ 'V2__seed.sql': V2 });
    const status = await db.run({ mode: 'status' });
    expect(status.code).toBe(0);
    expect(status.summary).toMatch(/\| 2 \| seed \| ⏳ pending \|/);
    expect(status.outputs['pending']).toBe('V2__seed.sql');
    const plan = await db.run({ mode: 'plan' });
    expect(plan.code).toBe(0);
    expect(plan.summary).toContain("INSERT INTO users (name) VALUES ('ada'), ('grace');");
    expect(db.psql('SELECT count(*) FROM users')).toBe('0');
    expect(db.psql(`SELECT count(*) FROM ${HISTORY}`)).toBe('1');
  });

  it('two concurrent runs apply each migration exactly once (the second waits for the advisory lock)', async () => {
    const db = testDatabase(postgres());
    db.files({
      'V1__counter.sql': 'CREATE TABLE runs (migration text);\n',
      'V2__one.sql': "INSERT INTO runs VALUES ('V2');\n",
      'V3__two.sql': "INSERT INTO runs VALUES ('V3');\n",
    });
    // Hold the run lock so that both runs are certainly waiting at the same time, then let go.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1, hashtext($2))', [0x6d696772, HISTORY]);
    const runs = [db.run({ backup: 'none' }), db.run({ backup: 'none' })];
    const waiting = async () =>
      Number(db.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"));
    while ((await waiting()) < 2) await new Promise((resolve) => setImmediate(resolve));
    await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', [0x6d696772, HISTORY]);
    await holder.end();
    const [a, b] = await Promise.all(runs);
    expect([a!.code, b!.code]).toEqual([0, 0]);
    expect(db.psql('SELECT migration FROM runs ORDER BY 1')).toBe('V2\nV3');
    expect(db.psql(`SELECT version, count(*) FROM ${HISTORY} GROUP BY version ORDER BY version`)).toBe('1|1\n2|1\n3|1');
    const applied = [a!.outputs['applied'], b!.outputs['applied']].sort();
    expect(applied).toEqual(['', 'V1__counter.sql\nV2__one.sql\nV3__two.sql']);
    expect(
      [...a!.rt.lines('info'), ...b!.rt.lines('info')].some((line) =>
        line.includes('Another run holds the migration lock'),
      ),
    ).toBe(true);
  });

  it('a failing migration leaves schema and history as before, naming the file and line', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': V1 });
    await db.run({ backup: 'none' });
    db.files({
      'V2__orders.sql':
        'CREATE TABLE orders (id int);\nALTER TABLE users ADD COLUMN email text;\nINSERT INTO nowhere VALUES (1);\n',
    });
    const { code, errors, rt, summary } = await db.run({ backup: 'none' });
    expect(code).toBe(1);
    expect(errors.at(-1)).toMatch(
      /V2__orders\.sql failed: relation "nowhere" does not exist.*Rolled back: the schema and history are as before this file/,
    );
    const annotation = rt.logs.find((entry) => entry.props?.title === 'migration failed');
    expect(annotation?.props).toMatchObject({ file: 'db/migrations/V2__orders.sql', startLine: 3 });
    expect(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'")).toBe('0');
    expect(db.psql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'email'")).toBe('0');
    expect(db.psql(`SELECT string_agg(version, ',') FROM ${HISTORY}`)).toBe('1');
    expect(summary).toContain('Migration failed');
  });

  it('refuses a file that ends inside a comment: nothing of it stays', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': `${V1}/* forgot to close this comment\n` });
    const { code, errors } = await db.run({ backup: 'none' });
    expect(code).toBe(1);
    // The parser sees it before anything runs (the runner would refuse it too: its COMMIT never ran).
    expect(errors.at(-1)).toMatch(/db\/migrations\/V1__create_users\.sql:2 does not parse \(unterminated \/\* comment/);
    expect(db.psql("SELECT count(*) FROM pg_tables WHERE tablename IN ('users', 'deploy_actions_migrations')")).toBe(
      '0',
    );
  });

  it('reports a changed applied file as drift and applies nothing', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': V1 });
    await db.run({ backup: 'none' });
    db.files({ 'V1__create_users.sql': `${V1}-- edited later\n`, 'V2__seed.sql': V2 });
    const status = await db.run({ mode: 'status' });
    expect(status.summary).toMatch(/\| 1 \| create users \| ⚠️ drift/);
    const { code, errors } = await db.run({ backup: 'none' });
    expect(code).toBe(1);
    expect(errors.at(-1)).toContain('Drift: V1__create_users.sql changed after it was applied');
    expect(db.psql('SELECT count(*) FROM users')).toBe('0');
  });

  it('refuses an out-of-order file unless out-of-order is true', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': V1, 'V3__noop.sql': 'SELECT 1;\n' });
    await db.run({ backup: 'none' });
    db.files({ 'V2__seed.sql': V2 });
    const refused = await db.run({ backup: 'none' });
    expect(refused.code).toBe(1);
    expect(refused.errors.at(-1)).toContain('Out of order: V2__seed.sql is older than the applied version 3');
    expect(db.psql('SELECT count(*) FROM users')).toBe('0');
    const allowed = await db.run({ backup: 'none', 'out-of-order': 'true' });
    expect(allowed.code).toBe(0);
    expect(allowed.outputs['applied']).toBe('V2__seed.sql');
  });

  it('baselines a database that predates the tool: older files are skipped, newer ones applied', async () => {
    const db = testDatabase(postgres());
    db.psql(`${V1}GRANT ALL ON users, users_id_seq TO PUBLIC;`);
    db.files({ '20250101_create_users.sql': V1, '20250117_seed.sql': V2 });
    const { code, outputs } = await db.run({ backup: 'none', baseline: '20250101' });
    expect(code).toBe(0);
    expect(outputs['applied']).toBe('20250117_seed.sql');
    expect(db.psql(`SELECT version, type FROM ${HISTORY} ORDER BY installed_rank`)).toBe(
      '20250101|BASELINE\n20250117|SQL',
    );
  });

  it('undoes the last version with its undo file; refuses when the undo file is missing', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': V1, 'V2__email.sql': 'ALTER TABLE users ADD COLUMN email text;\n' });
    await db.run({ backup: 'none' });
    const refused = await db.run({ mode: 'undo', backup: 'none' });
    expect(refused.code).toBe(1);
    expect(refused.errors.at(-1)).toContain(
      'Cannot undo: no undo file for version 2 (expected U2__<name>.sql); nothing was undone',
    );
    db.files({ 'U2__email.sql': 'ALTER TABLE users DROP COLUMN email;\n' });
    const undone = await db.run({ mode: 'undo', backup: 'none', 'allow-destructive': 'true' });
    expect(undone.errors).toEqual([]);
    expect(undone.outputs['applied']).toBe('U2__email.sql');
    expect(db.psql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'email'")).toBe('0');
    expect(undone.outputs['current-version']).toBe('1');
    // Applying again brings version 2 back.
    const again = await db.run({ backup: 'none' });
    expect(again.outputs['applied']).toBe('V2__email.sql');
  });

  it('runs a file that opts out of the transaction statement by statement (CREATE INDEX CONCURRENTLY)', async () => {
    const db = testDatabase(postgres());
    db.files({
      'V1__create_users.sql': V1,
      'V2__index.sql':
        '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_name ON users (name);\nCREATE INDEX CONCURRENTLY users_id ON users (id);\n',
    });
    const { code, errors } = await db.run({ backup: 'none' });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(db.psql("SELECT count(*) FROM pg_indexes WHERE indexname IN ('users_name', 'users_id')")).toBe('2');
  });

  it('fails fast on a table lock held elsewhere (lock-timeout), changing nothing', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__create_users.sql': V1 });
    await db.run({ backup: 'none' });
    db.files({ 'V2__email.sql': 'ALTER TABLE users ADD COLUMN email text;\n' });
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    await other.query('BEGIN');
    await other.query('LOCK TABLE users IN ACCESS SHARE MODE');
    try {
      const { code, errors } = await db.run({ backup: 'none', 'lock-timeout': '200ms' });
      expect(code).toBe(1);
      expect(errors.at(-1)).toContain('(lock-timeout: another session holds a lock on the table)');
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
    expect(db.psql(`SELECT count(*) FROM ${HISTORY}`)).toBe('1');
  });

  describe('bad input: a clear error, nothing applied', () => {
    const nothingApplied = (db: ReturnType<typeof testDatabase>) =>
      expect(db.psql(`SELECT count(*) FROM pg_tables WHERE tablename IN ('${HISTORY}', 'users')`)).toBe('0');

    it('a missing folder', async () => {
      const db = testDatabase(postgres());
      const { code, errors } = await db.run({ migrations: 'db/nowhere', backup: 'none' });
      expect(code).toBe(1);
      expect(errors[0]).toContain("Input 'migrations': does not exist: db/nowhere");
      nothingApplied(db);
    });

    it('duplicate versions and unparsable names, all listed', async () => {
      const db = testDatabase(postgres());
      db.files({
        'V1__create_users.sql': V1,
        'V1_0__again.sql': V2,
        'create_orders.sql': 'SELECT 1;',
        'V2_seed.sql': V2,
      });
      const { code, errors } = await db.run({ backup: 'none' });
      expect(code).toBe(1);
      expect(errors[0]).toContain('V1__create_users.sql: duplicate version 1 (also V1_0__again.sql)');
      expect(errors[0]).toContain('create_orders.sql: not a migration name');
      expect(errors[0]).toContain('V2_seed.sql: not a migration name');
      nothingApplied(db);
    });

    it('connection refused', async () => {
      const db = testDatabase(postgres());
      db.files({ 'V1__create_users.sql': V1 });
      const { code, errors } = await db.run({ 'database-url': 'postgres://app:pw@127.0.0.1:1/shop', backup: 'none' });
      expect(code).toBe(1);
      expect(errors[0]).toBe(
        'Could not connect to the database app@127.0.0.1:1/shop: connection refused (is the server running and the port right?)',
      );
    });

    it('a database URL that is not one (a port that is no number, another scheme): the input named, never echoed', async () => {
      const db = testDatabase(postgres());
      db.files({ 'V1__create_users.sql': V1 });
      for (const [url, problem] of [
        ['postgres://app:s3cret-pw@db:fivefour/shop', 'is not a valid URL (host, a numeric port, database)'],
        ['mysql://app:s3cret-pw@db:3306/shop', 'must start with postgres:// or postgresql://'],
      ]) {
        const { code, errors, rt } = await db.run({ 'database-url': url!, backup: 'none' });
        expect(code).toBe(1);
        expect(errors).toEqual([expect.stringMatching(/^Input 'database-url': /)]);
        expect(errors[0]).toContain(problem);
        expect(errors[0]).toContain('(got "***")');
        expect(JSON.stringify(rt.logs)).not.toContain('s3cret-pw');
      }
      nothingApplied(db);
    });

    it('a wrong password, without the password in the message', async () => {
      const db = testDatabase(postgres());
      db.files({ 'V1__create_users.sql': V1 });
      // trust authentication on loopback accepts any password: require one for this role.
      const wrong = db.url.replace(encodeURIComponent(PASSWORD), 'not-the-password');
      postgres().psql(`ALTER SYSTEM SET password_encryption = 'scram-sha-256'`);
      const hba = postgres().psql('SHOW hba_file');
      writeFileSync(
        hba,
        `local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n`,
      );
      postgres().psql('SELECT pg_reload_conf()');
      try {
        const { code, errors, rt } = await db.run({ 'database-url': wrong, backup: 'none' });
        expect(code).toBe(1);
        expect(errors[0]).toMatch(
          /^Could not connect to the database app_t\d+_\d+@127\.0\.0\.1:\d+\/t\d+_\d+: password authentication failed/,
        );
        expect(JSON.stringify(rt.logs)).not.toContain('not-the-password');
      } finally {
        writeFileSync(hba, 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
        postgres().psql('SELECT pg_reload_conf()');
      }
      nothingApplied(db);
    });

    it('a backup path that cannot be written', async () => {
      const db = testDatabase(postgres());
      db.files({ 'V1__create_users.sql': V1 });
      writeFileSync(join(db.workspace, 'blocked'), 'a file, not a folder');
      const { code, errors } = await db.run({ backup: '{ pg-dump: blocked/ }' });
      expect(code).toBe(1);
      expect(errors[0]).toMatch(/^Input 'backup': pg-dump cannot be written: (EEXIST|ENOTDIR)/);
      nothingApplied(db);
    });
  });
});
