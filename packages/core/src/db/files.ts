/**
 * The migrations folder, read the way Flyway names files: `V<version>__<name>.sql` (versioned),
 * `U<version>__<name>.sql` (undo of that version), `R__<name>.sql` (repeatable, re-run when it changes),
 * and timestamped names as other tools write them (`20250117_add_webhooks.sql`, a versioned migration).
 * Every problem is collected and reported at once, before anything touches the database.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from '../errors';

export interface MigrationFile {
  kind: 'versioned' | 'undo' | 'repeatable';
  /** `1.2` for `V1_2__x.sql` (parts joined by dots); undefined for repeatables. */
  version: string | undefined;
  description: string;
  /** The file's name as found, e.g. `V2__add_orders.sql`. */
  file: string;
  /** Path as the user wrote it (relative to the workspace), for annotations. */
  path: string;
  sql: string;
  /** sha256 of the text with line endings normalised, so a checkout on Windows is no drift. */
  checksum: string;
  /** False when the file opts out with a `-- migrate:no-transaction` line (CREATE INDEX CONCURRENTLY). */
  transaction: boolean;
}

export interface MigrationSet {
  versioned: MigrationFile[];
  undo: Map<string, MigrationFile>;
  repeatable: MigrationFile[];
}

const FLYWAY = /^([VUR])(\d+(?:[._]\d+)*)?__(.+)\.sql$/;
const TIMESTAMPED = /^(\d{6,})_(.+)\.sql$/;
export const NO_TRANSACTION = /^\s*--\s*migrate:\s*no-transaction\b/im;
const EXAMPLE =
  'V1__create_users.sql, V1_1__add_email.sql, R__views.sql, U1_1__add_email.sql or 20250117_add_webhooks.sql';

/** Version parts compare as numbers; `1.0` equals `1` (Flyway's rule). */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(BigInt);
  const right = b.split('.').map(BigInt);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i] ?? 0n;
    const y = right[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** `1_02` and `1.2.0` are the same version: `1.2`. */
export function normaliseVersion(text: string): string {
  const parts = text.split(/[._]/).map((part) => BigInt(part).toString());
  while (parts.length > 1 && parts.at(-1) === '0') parts.pop();
  return parts.join('.');
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads every `.sql` file of `folder` (not its subfolders); other files (README.md) are left alone. */
export function readMigrations(folder: string, workspace: string, input = 'migrations'): MigrationSet {
  let names: string[];
  try {
    if (!statSync(folder).isDirectory()) throw new Error('not a folder');
    names = readdirSync(folder).sort();
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not a readable folder';
    throw new InputError(
      input,
      `${why}: ${relative(workspace, folder) || '.'}`,
      relative(workspace, folder),
      'db/migrations',
    );
  }
  const problems: string[] = [];
  const set: MigrationSet = { versioned: [], undo: new Map(), repeatable: [] };
  const seen = new Map<string, string>();
  for (const file of names) {
    if (!file.endsWith('.sql') || file.startsWith('.')) continue;
    const flyway = FLYWAY.exec(file);
    const stamped = flyway ? undefined : TIMESTAMPED.exec(file);
    if (!flyway && !stamped) {
      problems.push(`${file}: not a migration name`);
      continue;
    }
    const prefix = flyway ? flyway[1]! : 'V';
    const rawVersion = flyway ? flyway[2] : stamped![1];
    if ((prefix === 'R') !== (rawVersion === undefined)) {
      problems.push(`${file}: ${prefix === 'R' ? 'a repeatable migration has no version' : 'the version is missing'}`);
      continue;
    }
    const path = join(folder, file);
    let sql: string;
    try {
      sql = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      continue;
    }
    const version = rawVersion === undefined ? undefined : normaliseVersion(rawVersion);
    const kind = prefix === 'V' ? 'versioned' : prefix === 'U' ? 'undo' : 'repeatable';
    const key = `${kind}:${version ?? (flyway ? flyway[3] : '')}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push(`${file}: duplicate ${kind === 'repeatable' ? 'name' : `version ${version}`} (also ${earlier})`);
      continue;
    }
    seen.set(key, file);
    const migration: MigrationFile = {
      kind,
      version,
      description: (flyway ? flyway[3]! : stamped![2]!).replace(/_/g, ' '),
      file,
      path: relative(workspace, path),
      sql,
      checksum: checksumOf(sql),
      transaction: !NO_TRANSACTION.test(sql),
    };
    if (kind === 'versioned') set.versioned.push(migration);
    else if (kind === 'undo') set.undo.set(version!, migration);
    else set.repeatable.push(migration);
  }
  if (problems.length > 0) {
    throw new InputError(
      input,
      `has files that cannot be used:\n  ${problems.join('\n  ')}\n`,
      relative(workspace, folder),
      EXAMPLE,
    );
  }
  set.versioned.sort((a, b) => compareVersions(a.version!, b.version!));
  set.repeatable.sort((a, b) => a.description.localeCompare(b.description));
  return set;
}
