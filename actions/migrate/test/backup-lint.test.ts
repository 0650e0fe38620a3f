/**
 * Backups before applying (pg_dump custom format, a failing backup stops everything), mode restore through
 * the rollback action's restore code, the lint of pending migrations with file/line annotations, and the
 * command runner: all against a real PostgreSQL on loopback.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PASSWORD, pgMissing, testDatabase, usePostgres } from './support';

const missing = pgMissing;
const postgres = usePostgres();

const V1 =
  "CREATE TABLE prices (sku text PRIMARY KEY, cents int);\nINSERT INTO prices VALUES ('tea', 350), ('cake', 420);\n";

describe.skipIf(missing !== undefined)(`backups and restore ${missing ?? ''}`, () => {
  it('backs up with pg_dump before applying; restore gives back the same rows', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__prices.sql': V1 });
    await db.run({ backup: 'none' });
    db.files({ 'V2__discount.sql': 'UPDATE prices SET cents = cents / 2;\n' });
    const applied = await db.run({ backup: '{ pg-dump: backups/ }' });
    expect(applied.errors).toEqual([]);
    const path = applied.outputs['backup-path']!;
    expect(path).toMatch(/^backups\/t\d+_\d+-\d{8}T\d{6}Z\.dump$/);
    expect(applied.outputs['backup-id']).toBe(path.slice('backups/'.length, -'.dump'.length));
    expect(statSync(join(db.workspace, path)).mode & 0o777).toBe(0o600);
    expect(db.psql('SELECT cents FROM prices ORDER BY sku')).toBe('210\n175');
    expect(applied.summary).toContain(`**Backup:** \`${applied.outputs['backup-id']}\``);
    expect(JSON.stringify(applied.rt.logs) + applied.summary).not.toContain(PASSWORD);

    const restored = await db.run({ mode: 'restore', restore: `{ pg-dump: ${path} }` });
    expect(restored.errors).toEqual([]);
    expect(restored.code).toBe(0);
    expect(db.psql('SELECT sku, cents FROM prices ORDER BY sku')).toBe('cake|420\ntea|350');
    // The history went back with the data: V2 is pending again.
    expect(db.psql('SELECT max(version) FROM deploy_actions_migrations')).toBe('1');
    expect(restored.summary).toContain('Database restored');
  });

  it('a failing backup stops the migration, its error masked', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__prices.sql': V1 });
    const { code, errors, rt } = await db.run({
      backup: `{ command: ["${process.execPath}", "-e", "console.error('snapshot of ' + process.env.DATABASE_URL + ' failed'); process.exit(4)"] }`,
    });
    expect(code).toBe(1);
    expect(errors.at(-1)).toMatch(
      /^Backup failed, so nothing was migrated: .* exited with 4: snapshot of \*\*\* failed$/,
    );
    expect(JSON.stringify(rt.logs)).not.toContain(PASSWORD);
    expect(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'prices'")).toBe('0');
  });

  it('a failing pg_dump stops the migration; its stderr reaches the log without the password', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__prices.sql': V1 });
    // A table the migration role cannot read: pg_dump fails half-way.
    db.psql('CREATE TABLE private (id int); REVOKE ALL ON private FROM PUBLIC');
    const { code, errors, rt } = await db.run({ backup: '{ pg-dump: backups/ }' });
    expect(code).toBe(1);
    expect(errors.at(-1)).toMatch(
      /^Backup failed, so nothing was migrated: pg_dump exited with 1: .*permission denied for table private/,
    );
    // The half-written dump (it holds data) is not left behind.
    expect(readdirSync(join(db.workspace, 'backups'))).toEqual([]);
    expect(JSON.stringify(rt.logs)).not.toContain(PASSWORD);
    expect(JSON.stringify(rt.logs)).not.toContain(encodeURIComponent(PASSWORD));
    expect(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'prices'")).toBe('0');
  });

  it('a command backup: its last line of output is the backup id', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__prices.sql': V1 });
    const { code, outputs } = await db.run({
      backup: `{ command: ["${process.execPath}", "-e", "console.log('creating snapshot'); console.log('rds:prod-db-snapshot-42')"] }`,
    });
    expect(code).toBe(0);
    expect(outputs['backup-id']).toBe('rds:prod-db-snapshot-42');
    expect(outputs['backup-path']).toBe('');
  });

  it('a refused backup or restore input never echoes a password', async () => {
    const db = testDatabase(postgres());
    const backup = await db.run({ backup: '{ command: ["pg_dump", "postgres://u:hunter22@db/shop"], cronjob: x }' });
    expect(backup.errors[0]).toContain("Input 'backup': give exactly one of pg-dump, cronjob or command");
    expect(backup.errors[0]).toContain('postgres://u:***@db/shop');
    const restore = await db.run({
      mode: 'restore',
      restore: '{ pg-dump: nothing.dump, database-url: "postgres://u:hunter22@db/shop" }',
    });
    expect(restore.errors[0]).toContain("Input 'restore': pg-dump names a file that does not exist");
    writeFileSync(join(db.workspace, 'old.dump'), '');
    const badUrl = await db.run({
      mode: 'restore',
      restore: '{ pg-dump: old.dump, database-url: "postgres://u:hunter22@db:port/shop" }',
    });
    expect(badUrl.errors).toEqual([
      expect.stringContaining("Input 'restore': database-url is not a valid URL (host, a numeric port, database"),
    ]);
    expect(JSON.stringify([backup.rt.logs, restore.rt.logs, badUrl.rt.logs])).not.toContain('hunter22');
  });

  it('refuses a restore of a dump that does not exist', async () => {
    const db = testDatabase(postgres());
    const { code, errors } = await db.run({ mode: 'restore', restore: '{ pg-dump: backups/nothing.dump }' });
    expect(code).toBe(1);
    expect(errors[0]).toContain("Input 'restore': pg-dump names a file that does not exist: backups/nothing.dump");
  });
});

describe.skipIf(missing !== undefined)(`lint ${missing ?? ''}`, () => {
  const RISKY = [
    'ALTER TABLE users ADD COLUMN nickname text; -- fine',
    'DROP TABLE legacy_sessions;',
    'ALTER TABLE users DROP COLUMN fax;',
    'ALTER TABLE users ALTER COLUMN id TYPE bigint;',
    'ALTER TABLE users ADD COLUMN plan text NOT NULL;',
    'CREATE INDEX users_email ON users (email);',
    'ALTER TABLE users RENAME COLUMN email TO mail;',
    'TRUNCATE audit;',
    'ALTER TABLE users ADD CONSTRAINT positive CHECK (id > 0);',
    "SELECT 'DROP TABLE users; TRUNCATE x' AS harmless_text; /* DROP TABLE y; */",
    'ALTER TABLE users ADD CONSTRAINT later CHECK (id > 0) NOT VALID;',
    'CREATE INDEX CONCURRENTLY users_name ON users (name);',
  ];
  const setup =
    'CREATE TABLE users (id int, name text, email text, fax text);\nCREATE TABLE legacy_sessions (id int);\nCREATE TABLE audit (id int);\n';

  it('annotates each destructive or locking statement on its line and blocks them, applying nothing', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__setup.sql': setup });
    await db.run({ backup: 'none' });
    db.files({ 'V2__risky.sql': `-- a risky release\n${RISKY.join('\n')}\n` });
    const { code, errors, rt } = await db.run({ backup: 'none' });
    expect(code).toBe(1);
    const annotations = rt.logs
      .filter((entry) => entry.props?.file === 'db/migrations/V2__risky.sql')
      .map((entry) => [entry.props?.startLine, entry.message.split(':')[0]]);
    expect(annotations).toEqual([
      [3, 'drop-table'],
      [4, 'drop-column'],
      [5, 'column-type'],
      [6, 'not-null'],
      [7, 'index-not-concurrent'],
      [8, 'rename'],
      [9, 'truncate'],
      [10, 'constraint-validated'],
    ]);
    expect(errors.at(-1)).toMatch(
      /^8 statements blocked by the lint \(set allow-destructive: true to run them\): db\/migrations\/V2__risky\.sql:3 drop-table "DROP TABLE legacy_sessions"/,
    );
    expect(errors.at(-1)).toContain('nothing was applied');
    expect(db.psql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'nickname'")).toBe('0');
  });

  it('allow-destructive runs them, the findings as warnings', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__setup.sql': setup, 'V2__drop.sql': 'DROP TABLE legacy_sessions;\n' });
    // A table created earlier in the same run is new: indexing it needs no CONCURRENTLY.
    db.files({ 'V3__new.sql': 'CREATE TABLE carts (id int);\nCREATE INDEX carts_id ON carts (id);\n' });
    const { code, warnings, outputs } = await db.run({ backup: 'none', 'allow-destructive': 'true' });
    expect(code).toBe(0);
    expect(outputs['applied']).toBe('V1__setup.sql\nV2__drop.sql\nV3__new.sql');
    expect(warnings).toEqual(['drop-table: DROP TABLE legacy_sessions: drops a table and its data']);
  });

  it('lints many files at once with each finding on its own file and line, even when a file ends inside a comment', async () => {
    const db = testDatabase(postgres());
    db.files({
      'V1__setup.sql': setup,
      'V2__open.sql': 'SELECT 1;\n/* never closed\n',
      'V3__drop.sql': '-- cleanup */\n\nDROP TABLE audit;\n',
      'V4__fine.sql': 'SELECT 2;\nTRUNCATE audit;\n',
    });
    const { code, rt } = await db.run({ mode: 'plan' });
    expect(code).toBe(0);
    const found = rt.logs
      .filter((entry) => entry.props?.file)
      .map((entry) => [entry.props?.file, entry.props?.startLine, entry.message.split(':')[0]]);
    expect(found).toEqual([
      ['db/migrations/V2__open.sql', 2, 'syntax'],
      ['db/migrations/V3__drop.sql', 3, 'drop-table'],
      ['db/migrations/V4__fine.sql', 2, 'truncate'],
    ]);
  });

  it('a file that does not parse is an error on its line; plan still shows it and changes nothing', async () => {
    const db = testDatabase(postgres());
    db.files({ 'V1__bad.sql': 'CREATE TABLE ok (id int);\n\nCREAT TABLE typo (id int);\n' });
    const { code, rt } = await db.run({ mode: 'plan' });
    expect(code).toBe(0);
    const syntax = rt.logs.find((entry) => entry.message.startsWith('syntax'));
    expect(syntax?.props).toMatchObject({ file: 'db/migrations/V1__bad.sql', startLine: 3 });
    expect(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'ok'")).toBe('0');
  });
});

describe.skipIf(missing !== undefined)(`command runner ${missing ?? ''}`, () => {
  it('runs the project tool with DATABASE_URL, then the status command into the summary, password masked', async () => {
    const db = testDatabase(postgres());
    const tool = join(db.workspace, 'tool.cjs');
    writeFileSync(
      tool,
      `const { execFileSync } = require('node:child_process');
const url = process.env.DATABASE_URL;
if (process.argv[2] === 'up') { execFileSync('psql', ['-X', '-q', '-d', url, '-c', 'CREATE TABLE IF NOT EXISTS tool_ran (id int)']); console.log('migrated ' + url); }
else console.log('20250117_add_webhooks_table.sql (applied)');`,
    );
    const { code, errors, summary, rt } = await db.run({
      runner: 'command',
      migrations: '',
      backup: 'none',
      'migration-command': JSON.stringify([process.execPath, tool, 'up']),
      'status-command': JSON.stringify([process.execPath, tool, 'status']),
    });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'tool_ran'")).toBe('1');
    expect(summary).toContain('20250117_add_webhooks_table.sql (applied)');
    // The whole URL is a secret input: the tool got it, the log shows none of it.
    expect(rt.lines('info')).toContain('migrated ***');
    expect(JSON.stringify(rt.logs) + summary).not.toContain(PASSWORD);
    expect(existsSync(join(db.workspace, 'backups'))).toBe(false);
  });
});
