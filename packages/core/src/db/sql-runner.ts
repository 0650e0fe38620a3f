/**
 * The built-in PostgreSQL runner. One session holds an advisory lock (keyed by the history table) for the
 * whole run, so a second run waits, then reads the history the first one wrote and applies nothing twice.
 * Each migration runs in its own transaction together with its history row: a failure leaves schema and
 * history as they were. A file that opts out of the transaction runs statement by statement.
 */
import { performance } from 'node:perf_hooks';
import { UserError } from '../errors';
import type { Database } from './connect';
import type { MigrationFile } from './files';
import { createHistory, type HistoryType, historyInsert, recordHistory } from './history';
import { parseStatements } from './lint';

/** 'migr' in ASCII: the first half of the advisory lock key, so our locks do not meet an app's own. */
const LOCK_CLASS = 0x6d696772;

export interface SessionOptions {
  table: string;
  /** 0 leaves the server's setting. */
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal | undefined;
}

/** Takes the run's advisory lock (waiting for another run to finish), runs `fn`, and gives it back. */
export async function withMigrationLock<T>(db: Database, options: SessionOptions, fn: () => Promise<T>): Promise<T> {
  const key = [LOCK_CLASS, options.table];
  const { rows } = await db.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS got', key);
  if (!rows[0]?.got) {
    options.log(`Another run holds the migration lock of ${options.table}: waiting for it to finish`);
    const onAbort = () => void db.end().catch(() => {});
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await db.query('SELECT pg_advisory_lock($1, hashtext($2))', key);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
  try {
    // After the lock: its wait is bounded by the step's timeout, not by lock_timeout.
    await db.query(`SET lock_timeout = ${Math.round(options.lockTimeoutMs)}`);
    await db.query(`SET statement_timeout = ${Math.round(options.statementTimeoutMs)}`);
    await createHistory(db, options.table);
    return await fn();
  } finally {
    await db.query('SELECT pg_advisory_unlock($1, hashtext($2))', key).catch(() => {});
  }
}

/** A migration that failed: which file and line, and what state it left. */
export class MigrationError extends UserError {
  constructor(
    message: string,
    readonly path: string,
    readonly line: number | undefined,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super(message, options);
  }
}

export interface Applied {
  file: MigrationFile;
  type: HistoryType;
  executionMs: number;
}

function lineAt(sql: string, position: number | undefined): number | undefined {
  if (position === undefined || !Number.isFinite(position)) return undefined;
  return sql.slice(0, position - 1).split('\n').length;
}

function explain(error: unknown): string {
  const { message, code, detail } = error as { message?: string; code?: string; detail?: string };
  const why =
    code === '55P03'
      ? ' (lock-timeout: another session holds a lock on the table)'
      : code === '57014'
        ? ' (statement-timeout)'
        : code === '25001'
          ? ' (add a `-- migrate:no-transaction` line to run this file outside a transaction)'
          : '';
  return `${message ?? String(error)}${detail ? ` ${detail}` : ''}${why}`;
}

/** Runs one file and records it; returns its run time. */
/** Marks the start of a migration inside its transaction, so the server measures its run time. */
const START = "SELECT set_config('deploy_actions.started', clock_timestamp()::text, true);\n";
const ELAPSED =
  "(EXTRACT(EPOCH FROM clock_timestamp() - current_setting('deploy_actions.started')::timestamptz) * 1000)::int";

/**
 * Runs one file and records it. In a transaction, BEGIN, the file, its history row and COMMIT go to the
 * server as one simple query: one round trip per migration, and nothing of it stays if any part fails.
 */
export async function runMigration(
  db: Database,
  file: MigrationFile,
  type: HistoryType,
  options: { table: string; runId: string | null; installedBy: string | null },
): Promise<Applied> {
  const started = performance.now();
  const row = {
    version: file.version ?? null,
    description: file.description,
    type,
    script: file.file,
    checksum: file.checksum,
    runId: options.runId,
    installedBy: options.installedBy,
  };
  if (file.transaction) {
    const prefix = `BEGIN;\n${START}`;
    // The newline ends a last line that is a comment; the semicolon a last statement without one.
    const text = `${prefix}${file.sql}\n;\n${historyInsert(db, options.table, row, ELAPSED)};\nCOMMIT;`;
    try {
      const results = await db.query(text);
      // An unterminated comment in the file swallows the INSERT and COMMIT after it: nothing may stay then.
      const last = ([] as Array<{ command?: string }>).concat(results as never).at(-1);
      if (last?.command !== 'COMMIT') {
        throw Object.assign(new Error('the file ends inside a comment or string (unterminated /* or quote)'), {
          code: 'unterminated',
        });
      }
    } catch (error) {
      await db.query('ROLLBACK').catch(() => {});
      const position = Number((error as { position?: string }).position) - prefix.length;
      throw new MigrationError(
        `${file.file} failed: ${explain(error)}. Rolled back: the schema and history are as before this file`,
        file.path,
        position > 0 && position <= file.sql.length ? lineAt(file.sql, position) : undefined,
        { cause: error },
      );
    }
    return { file, type, executionMs: performance.now() - started };
  }
  const statements = await parseStatements(file.sql).catch((error: Error & { line?: number }) => {
    throw new MigrationError(`${file.file} does not parse: ${error.message}; nothing of it ran`, file.path, error.line);
  });
  for (const [index, statement] of statements.entries()) {
    try {
      await db.query(statement.text);
    } catch (error) {
      throw new MigrationError(
        `${file.file} failed at statement ${index + 1} of ${statements.length} (no transaction): ${explain(error)}. Statements 1-${index} ran and stay; the file is not recorded as applied, so a re-run starts it over (make its statements IF NOT EXISTS)`,
        file.path,
        statement.line,
        { cause: error },
      );
    }
  }
  await recordHistory(db, options.table, row, performance.now() - started);
  return { file, type, executionMs: performance.now() - started };
}

/** Records a baseline: the database predates the tool and everything up to `version` is there already. */
export async function recordBaseline(db: Database, table: string, version: string, runId: string | null) {
  await recordHistory(db, table, {
    version,
    description: '<< baseline >>',
    type: 'BASELINE',
    script: '<< baseline >>',
    checksum: null,
    runId,
    installedBy: null,
  });
}
