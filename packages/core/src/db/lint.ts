/**
 * Lint of pending migrations for statements that lose data or hold long locks, on PostgreSQL's own parser
 * (libpg-query, the server's grammar compiled to WebAssembly): no regular expression tells a column named
 * `drop` from a DROP, or sees through comments and dollar-quoting. The parser (1.7 MB of WebAssembly) is
 * imported only here, only when there is something to lint, so runs without pending migrations never load it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { UserError } from '../errors';
import type { MigrationFile } from './files';

export type LintRule =
  | 'drop-table'
  | 'drop-column'
  | 'column-type'
  | 'not-null'
  | 'index-not-concurrent'
  | 'rename'
  | 'truncate'
  | 'constraint-validated'
  | 'syntax';

export interface LintFinding {
  /** Path as given in the workspace, for the annotation. */
  path: string;
  file: string;
  line: number;
  rule: LintRule;
  /** The statement, on one line, shortened. */
  statement: string;
  message: string;
}

interface RawStatement {
  stmt: Record<string, any>;
  stmt_location?: number;
  stmt_len?: number;
}

export interface ParsedStatement {
  node: Record<string, any>;
  text: string;
  /** 1-based line of the statement's first token in the file. */
  line: number;
}

type Parser = (sql: string) => Promise<{ stmts?: RawStatement[] }>;
let parser: Promise<Parser> | undefined;

function loadParser(): Promise<Parser> {
  parser ??= importParser();
  return parser;
}

async function importParser(): Promise<Parser> {
  const unpacked = unpackWasm(dirname(fileURLToPath(import.meta.url)));
  // Emscripten's loader finds its .wasm through CommonJS's __dirname, which an ES module bundle lacks: lend
  // it the folder the .wasm was unpacked into, for the import (the loader reads it once, while the module starts).
  const global = globalThis as { __dirname?: string };
  const lend = unpacked !== undefined && global.__dirname === undefined;
  if (lend) global.__dirname = unpacked;
  try {
    return (await import('libpg-query')).parse as unknown as Parser;
  } finally {
    if (lend) delete global.__dirname;
  }
}

/**
 * In the bundle, the parser's WebAssembly ships brotli-packed beside it (dist/ has a size budget): unpacked on
 * first use into a temporary folder named after its content (RUNNER_TEMP on a runner), so the action's own
 * folder may be read-only and runs of different versions do not share a file. In the source tree it sits in
 * node_modules as it is. Returns the folder it was unpacked into, undefined outside the bundle.
 */
function unpackWasm(here: string): string | undefined {
  const packed = join(here, 'libpg-query.wasm.br');
  if (!existsSync(packed)) return undefined;
  const bytes = readFileSync(packed);
  const folder = join(
    process.env['RUNNER_TEMP'] || tmpdir(),
    `deploy-actions-pg-parser-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`,
  );
  const wasm = join(folder, 'libpg-query.wasm');
  if (existsSync(wasm)) return folder;
  const temporary = `${wasm}.${process.pid}.tmp`;
  try {
    mkdirSync(folder, { recursive: true });
    writeFileSync(temporary, brotliDecompressSync(bytes));
    renameSync(temporary, wasm);
  } catch (error) {
    throw new UserError(
      `The SQL parser for the lint could not be unpacked into ${folder} (${(error as Error).message}); set RUNNER_TEMP to a writable folder`,
    );
  }
  return folder;
}

/** A parse error with the line it points at. */
export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Skips whitespace and comments: PostgreSQL's statement locations may start at a comment before it. */
function firstToken(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else return i;
  }
}

/** Splits a file into its statements (text and line), as the server parses it. Throws SqlSyntaxError. */
/** 1-based line of a character index, by binary search over the line starts. */
function lineFinder(text: string): (index: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (index) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
}

interface Located extends ParsedStatement {
  /** Character offsets of the statement in the text: its first token, its end. */
  start: number;
  end: number;
}

async function parseLocated(sql: string): Promise<Located[]> {
  const parse = await loadParser();
  const lineAt = lineFinder(sql);
  const bytes = Buffer.from(sql);
  let result: { stmts?: RawStatement[] };
  try {
    result = await parse(sql);
  } catch (error) {
    // Only the parser's verdict on the SQL is a syntax error; anything else (it did not load) is thrown as is.
    if ((error as { sqlDetails?: unknown }).sqlDetails === undefined) throw error;
    const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const index = position === undefined ? 0 : bytes.subarray(0, Math.max(0, position)).toString().length;
    throw new SqlSyntaxError((error as Error).message, lineAt(index));
  }
  // Locations are byte offsets into the UTF-8 text (the same as characters for ASCII, the usual case).
  const ascii = bytes.length === sql.length;
  const chars = (offset: number) => (ascii ? offset : bytes.subarray(0, offset).toString().length);
  return (result.stmts ?? []).map((raw) => {
    const start = chars(raw.stmt_location ?? 0);
    const end = raw.stmt_len ? chars((raw.stmt_location ?? 0) + raw.stmt_len) : sql.length;
    const at = firstToken(sql, start);
    return { node: raw.stmt, text: sql.slice(start, end).trim(), line: lineAt(at), start: at, end };
  });
}

/** Splits a file into its statements (text and line), as the server parses it. Throws SqlSyntaxError. */
export async function parseStatements(sql: string): Promise<ParsedStatement[]> {
  return (await parseLocated(sql)).map(({ node, text, line }) => ({ node, text, line }));
}

/**
 * Every file's statements, or its syntax error. All files go to the parser in one call (its cost per call
 * dominates small files), with a marker statement between two files; when a marker is not where it was put
 * (an open comment or string at a file's end swallowed it) or anything fails to parse, each file is parsed
 * on its own.
 */
async function parseFiles(files: readonly MigrationFile[]): Promise<Array<ParsedStatement[] | SqlSyntaxError>> {
  const lead = '\n;\n';
  const separator = `${lead}SELECT 1;\n`;
  if (files.length > 1) {
    const starts: number[] = [];
    const markers = new Set<number>();
    let offset = 0;
    for (const file of files) {
      starts.push(offset);
      offset += file.sql.length;
      markers.add(offset + lead.length);
      offset += separator.length;
    }
    markers.delete(offset - separator.length + lead.length);
    const combined = files.map((file) => file.sql).join(separator);
    const located = await parseLocated(combined).catch(() => undefined);
    if (located !== undefined) {
      const lineAt = lineFinder(combined);
      const perFile: ParsedStatement[][] = files.map(() => []);
      let seen = 0;
      let index = 0;
      let clean = true;
      for (const statement of located) {
        if (markers.has(statement.start) && statement.text === 'SELECT 1') {
          seen++;
          continue;
        }
        while (index + 1 < starts.length && starts[index + 1]! <= statement.start) index++;
        if (statement.end > starts[index]! + files[index]!.sql.length + 1) clean = false;
        const firstLine = lineAt(starts[index]!);
        perFile[index]!.push({ node: statement.node, text: statement.text, line: statement.line - firstLine + 1 });
      }
      if (clean && seen === markers.size) return perFile;
    }
  }
  const parsed: Array<ParsedStatement[] | SqlSyntaxError> = [];
  for (const file of files) {
    parsed.push(
      await parseStatements(file.sql).catch((error: unknown) => {
        if (error instanceof SqlSyntaxError) return error;
        throw error;
      }),
    );
  }
  return parsed;
}

const kindOf = (node: Record<string, any>) => Object.keys(node)[0]!;
const relationName = (relation: any): string | undefined =>
  relation?.relname === undefined ? undefined : [relation.schemaname, relation.relname].filter(Boolean).join('.');

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}

/** The rules one statement breaks; tables created earlier in the pending files are new, so cheap to change. */
function check(node: Record<string, any>, created: Set<string>): Array<{ rule: LintRule; message: string }> {
  const kind = kindOf(node);
  const body = node[kind];
  const found: Array<{ rule: LintRule; message: string }> = [];
  switch (kind) {
    case 'DropStmt':
      if (body.removeType === 'OBJECT_TABLE') found.push({ rule: 'drop-table', message: 'drops a table and its data' });
      break;
    case 'TruncateStmt':
      found.push({ rule: 'truncate', message: 'deletes every row' });
      break;
    case 'RenameStmt':
      if (!created.has(relationName(body.relation) ?? ''))
        found.push({ rule: 'rename', message: 'renames what running code still uses by the old name' });
      break;
    case 'IndexStmt':
      if (!body.concurrent && !created.has(relationName(body.relation) ?? ''))
        found.push({
          rule: 'index-not-concurrent',
          message: 'builds an index without CONCURRENTLY: writes to the table wait until it is built',
        });
      break;
    case 'AlterTableStmt': {
      const isNew = created.has(relationName(body.relation) ?? '');
      for (const { AlterTableCmd: cmd } of body.cmds ?? []) {
        if (cmd === undefined) continue;
        if (cmd.subtype === 'AT_DropColumn')
          found.push({ rule: 'drop-column', message: `drops column ${cmd.name} and its data` });
        if (isNew) continue;
        if (cmd.subtype === 'AT_AlterColumnType')
          found.push({
            rule: 'column-type',
            message: `changes the type of ${cmd.name}: the table is rewritten under an exclusive lock`,
          });
        if (cmd.subtype === 'AT_SetNotNull')
          found.push({
            rule: 'not-null',
            message: `sets ${cmd.name} NOT NULL: the whole table is scanned under an exclusive lock`,
          });
        if (cmd.subtype === 'AT_AddColumn') {
          const constraints: string[] = (cmd.def?.ColumnDef?.constraints ?? []).map((c: any) => c.Constraint?.contype);
          if (constraints.includes('CONSTR_NOTNULL') && !constraints.includes('CONSTR_DEFAULT'))
            found.push({
              rule: 'not-null',
              message: `adds NOT NULL column ${cmd.def.ColumnDef.colname} without a default: fails on any existing row`,
            });
        }
        const constraint = cmd.subtype === 'AT_AddConstraint' ? cmd.def?.Constraint : undefined;
        if (
          constraint &&
          ['CONSTR_CHECK', 'CONSTR_FOREIGN'].includes(constraint.contype) &&
          !constraint.skip_validation
        )
          found.push({
            rule: 'constraint-validated',
            message:
              `adds constraint ${constraint.conname ?? ''} without NOT VALID: every row is checked under a lock (add it NOT VALID, then VALIDATE CONSTRAINT)`.replace(
                '  ',
                ' ',
              ),
          });
      }
      break;
    }
  }
  return found;
}

/** Lints `files` in order (the order they would run). */
export async function lintMigrations(files: readonly MigrationFile[]): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  const created = new Set<string>();
  const parsed = await parseFiles(files);
  for (const [index, file] of files.entries()) {
    const statements = parsed[index]!;
    if (statements instanceof SqlSyntaxError) {
      findings.push({
        path: file.path,
        file: file.file,
        line: statements.line,
        rule: 'syntax',
        statement: '',
        message: statements.message,
      });
      continue;
    }
    for (const statement of statements) {
      if (kindOf(statement.node) === 'CreateStmt') {
        const name = relationName(statement.node['CreateStmt'].relation);
        if (name) created.add(name);
      }
      for (const { rule, message } of check(statement.node, created)) {
        findings.push({
          path: file.path,
          file: file.file,
          line: statement.line,
          rule,
          statement: oneLine(statement.text),
          message,
        });
      }
    }
  }
  return findings;
}
