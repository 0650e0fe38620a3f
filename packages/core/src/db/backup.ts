/**
 * The backup before a migration: `pg_dump` in custom format to a file in the workspace (what `pg_restore`
 * and `mode: restore` take back), a Job made from a backup CronJob and waited for (as the runbooks'
 * `kubectl create job --from=cronjob/...`), or the user's own command (a cloud snapshot; its last line of
 * output is the backup's id). A backup that fails stops the migration.
 */
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { InputError, UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import { urlPassword } from './connect';
import { jobFromCronJob, runJob } from './jobs';
import { commandSecrets, type RestoreContext, runProgram, withoutPasswords } from './restore';

export type BackupSpec =
  | { kind: 'none' }
  | {
      kind: 'pg-dump' /** A folder (a file is named in it) or a file path, absolute. */;
      target: string;
      folder: boolean;
    }
  | { kind: 'cronjob'; cronjob: string }
  | { kind: 'command'; command: string[] };

export interface BackupResult {
  kind: BackupSpec['kind'];
  /** The dump file's name without `.dump`, the Job's name, or the command's last line of output. */
  id: string;
  /** The dump file, relative to the workspace (pg-dump only). */
  path: string | undefined;
  ran: string;
  elapsedMs: number;
}

const EXAMPLE = '{ pg-dump: backups/ } (or { cronjob: db-backup }, { command: [./snapshot.sh] }, none)';

/** Reads the `backup` input: `none`, or exactly one of pg-dump, cronjob, command. */
export function parseBackupSpec(document: unknown, workspace: string, input = 'backup'): BackupSpec {
  const fail = (problem: string): never => {
    const given = typeof document === 'string' ? document : JSON.stringify(document);
    throw new InputError(input, problem, withoutPasswords(given), EXAMPLE);
  };
  if (document === 'none' || document === false) return { kind: 'none' };
  if (document === null || typeof document !== 'object' || Array.isArray(document))
    return fail('must be none or a mapping');
  const spec = document as Record<string, unknown>;
  const ways = Object.keys(spec);
  if (ways.length !== 1 || !['pg-dump', 'cronjob', 'command'].includes(ways[0]!))
    return fail(`give exactly one of pg-dump, cronjob or command (got ${ways.join(', ') || 'none'})`);
  if (spec['pg-dump'] !== undefined) {
    const given = spec['pg-dump'];
    if (typeof given !== 'string' || given === '')
      return fail('pg-dump must be a folder or file path in the workspace');
    const resolved = resolveInWorkspace(given, workspace);
    if ('problem' in resolved) return fail(`pg-dump ${resolved.problem}`);
    const folder = given.endsWith('/') || (existsSync(resolved.path) && statSync(resolved.path).isDirectory());
    return { kind: 'pg-dump', target: resolved.path, folder };
  }
  if (spec['cronjob'] !== undefined) {
    if (typeof spec['cronjob'] !== 'string' || spec['cronjob'] === '') return fail('cronjob must be a CronJob name');
    return { kind: 'cronjob', cronjob: spec['cronjob'] };
  }
  const command = spec['command'];
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string'))
    return fail('command must be a list of strings: the program, then its arguments');
  return { kind: 'command', command: command as string[] };
}

/** Refuses a dump path that cannot be written, before anything changes (creating the folder if needed). */
export function checkBackupTarget(spec: BackupSpec, workspace: string, input = 'backup'): void {
  if (spec.kind !== 'pg-dump') return;
  const folder = spec.folder ? spec.target : dirname(spec.target);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
    if (!spec.folder && existsSync(spec.target))
      throw new Error('a file of that name exists already (a backup is never overwritten)');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      input,
      `pg-dump cannot be written: ${code ? `${code} on ${relative(workspace, folder) || '.'}` : (error as Error).message}`,
      relative(workspace, spec.target),
      EXAMPLE,
    );
  }
}

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function takeBackup(
  spec: Exclude<BackupSpec, { kind: 'none' }>,
  context: RestoreContext & { databaseUrl?: string | undefined; workspace: string },
): Promise<BackupResult> {
  const started = context.clock.now();
  const done = (id: string, ran: string, path?: string): BackupResult => ({
    kind: spec.kind,
    id,
    path,
    ran,
    elapsedMs: context.clock.now() - started,
  });
  switch (spec.kind) {
    case 'pg-dump': {
      if (!context.databaseUrl) throw new UserError('A pg-dump backup needs database-url');
      const url = new URL(context.databaseUrl);
      const password = urlPassword(context.databaseUrl);
      if (password) context.mask(password);
      url.password = '';
      const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
      const file = spec.folder ? join(spec.target, `${database}-${stamp(started)}.dump`) : spec.target;
      const args = ['--format=custom', '--no-owner', '--file', file, '--dbname', url.toString()];
      // The dump holds the data: only this user reads it, from its first byte (pg_dump keeps the mode of a
      // file that exists); a dump that fails half-way is removed rather than left behind.
      closeSync(openSync(file, 'w', 0o600));
      chmodSync(file, 0o600);
      try {
        await runProgram('pg_dump', args, { ...context.env, ...(password ? { PGPASSWORD: password } : {}) }, context);
      } catch (error) {
        rmSync(file, { force: true });
        throw error;
      }
      return done(
        basename(file).replace(/\.dump$/, ''),
        ['pg_dump', ...args].join(' '),
        relative(context.workspace, file),
      );
    }
    case 'cronjob': {
      if (!context.client) throw new UserError(`A backup from cronjob/${spec.cronjob} needs a Kubernetes cluster`);
      const job = await jobFromCronJob(
        context.client,
        context.namespace,
        spec.cronjob,
        `${spec.cronjob}-migrate-${Math.floor(started / 1000)}`,
      );
      const name = await runJob(job, { ...context, client: context.client });
      return done(name, `job/${name}`);
    }
    case 'command': {
      // The command reaches the database the way the migration does: DATABASE_URL.
      const env = context.databaseUrl ? { ...context.env, DATABASE_URL: context.databaseUrl } : context.env;
      for (const secret of commandSecrets(spec.command, env)) context.mask(secret);
      const result = await runProgram(spec.command[0]!, spec.command.slice(1), env, context);
      const id = result.stdout.trim().split('\n').at(-1)?.trim() || stamp(started);
      return done(id, spec.command.join(' '));
    }
  }
}
