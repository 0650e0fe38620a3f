/**
 * The history table: one row per thing done to the schema (a migration applied, undone, a baseline), with
 * who did it, from which run, how long it took and the file's checksum. The state of a version is its
 * latest row, so an undo keeps the record of the apply it reverted.
 */
import type { Database } from './connect';

export type HistoryType = 'SQL' | 'UNDO_SQL' | 'REPEATABLE' | 'BASELINE';

export interface HistoryRow {
  rank: number;
  version: string | null;
  description: string;
  type: HistoryType;
  script: string;
  checksum: string | null;
  installedBy: string;
  installedAt: Date;
  executionMs: number;
  runId: string | null;
}

/** `schema.table` or `table`, each part a plain identifier: it goes into SQL text, so nothing else passes. */
export const TABLE_NAME = /^([a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*$/;

export function quoteTable(table: string): string {
  return table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

export async function historyExists(db: Database, table: string): Promise<boolean> {
  const result = await db.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [quoteTable(table)]);
  return result.rows[0]?.found != null;
}

export async function createHistory(db: Database, table: string): Promise<void> {
  const schema = table.includes('.') ? table.split('.')[0] : undefined;
  if (schema) await db.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (
    installed_rank serial PRIMARY KEY,
    version text,
    description text NOT NULL,
    type text NOT NULL,
    script text NOT NULL,
    checksum text,
    installed_by text NOT NULL DEFAULT current_user,
    installed_on timestamptz NOT NULL DEFAULT now(),
    execution_ms integer NOT NULL DEFAULT 0,
    run_id text
  )`);
}

export async function readHistory(db: Database, table: string): Promise<HistoryRow[]> {
  if (!(await historyExists(db, table))) return [];
  const result = await db.query(
    `SELECT installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_ms, run_id
       FROM ${quoteTable(table)} ORDER BY installed_rank`,
  );
  return result.rows.map((row) => ({
    rank: row.installed_rank,
    version: row.version,
    description: row.description,
    type: row.type,
    script: row.script,
    checksum: row.checksum,
    installedBy: row.installed_by,
    installedAt: row.installed_on,
    executionMs: row.execution_ms,
    runId: row.run_id,
  }));
}

export type HistoryEntry = Pick<HistoryRow, 'version' | 'description' | 'type' | 'script' | 'checksum' | 'runId'> & {
  /** Who ran it (the GitHub actor); null: the database user. */
  installedBy: string | null;
};

/**
 * The INSERT of one history row as SQL text (values escaped by the driver), so that it can travel in the
 * same round trip as the migration it records. `executionMs` is an SQL expression or a number.
 */
export function historyInsert(db: Database, table: string, row: HistoryEntry, executionMs: string | number): string {
  const literal = (value: string | null) => (value === null ? 'NULL' : db.escapeLiteral(value));
  const values = [row.version, row.description, row.type, row.script, row.checksum, row.runId].map(literal);
  return `INSERT INTO ${quoteTable(table)} (version, description, type, script, checksum, run_id, installed_by, execution_ms)
VALUES (${values.join(', ')}, COALESCE(${literal(row.installedBy)}, current_user), ${executionMs})`;
}

export async function recordHistory(db: Database, table: string, row: HistoryEntry, executionMs = 0): Promise<void> {
  await db.query(historyInsert(db, table, row, Math.round(executionMs)));
}
