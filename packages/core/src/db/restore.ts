/**
 * Database restores for rollback (and later migrate): a PostgreSQL dump put
 * back with `pg_restore`, a Kubernetes Job created from a restore CronJob (as
 * `kubectl create job --from=cronjob/...`), or the user's own command. Every
 * program runs from an argument array; a database password travels in
 * PGPASSWORD, never on a command line where `ps` would show it.
 */
import { existsSync } from 'node:fs';
import { InputError, UserError } from '../errors';
import { type ExecResult, execCommand } from '../exec';
import { resolveInWorkspace } from '../inputs/files';
import type { KubeClient } from '../kube/client';
import type { Clock, Runtime } from '../runtime/port';
import { jobFromCronJob, runJob } from './jobs';

export type RestoreSpec =
  | { kind: 'pg-restore'; dump: string; databaseUrl: string; scaleDown: boolean }
  | { kind: 'cronjob'; cronjob: string; scaleDown: boolean }
  | { kind: 'command'; command: string[]; scaleDown: boolean };

const EXAMPLE = '{ pg-dump: backups/pre-v1.4.0.dump, database-url: ${{ secrets.DATABASE_URL }} }';

/**
 * Reads the `database-restore` YAML: exactly one of `pg-dump` (with
 * `database-url`, or DATABASE_URL in the environment), `cronjob` or
 * `command`; `scale-down` (default true) stops the app while the data changes.
 */
export function parseRestoreSpec(
  document: unknown,
  context: { workspace: string; env: Readonly<Record<string, string | undefined>>; databaseUrl?: string | undefined },
  input = 'database-restore',
): RestoreSpec {
  const fail = (problem: string): never => {
    throw new InputError(input, problem, withoutPasswords(JSON.stringify(document)), EXAMPLE);
  };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return fail('must be a mapping');
  const spec = document as Record<string, unknown>;
  const known = ['pg-dump', 'database-url', 'cronjob', 'command', 'scale-down'];
  const unknown = Object.keys(spec).filter((key) => !known.includes(key));
  if (unknown.length > 0) fail(`unknown key ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const ways = ['pg-dump', 'cronjob', 'command'].filter((key) => spec[key] !== undefined);
  if (ways.length !== 1) fail(`give exactly one of pg-dump, cronjob or command (got ${ways.join(', ') || 'none'})`);
  const scaleDown = spec['scale-down'] === undefined ? true : spec['scale-down'];
  if (typeof scaleDown !== 'boolean') return fail('scale-down must be true or false');

  if (spec['pg-dump'] !== undefined) {
    if (typeof spec['pg-dump'] !== 'string') return fail('pg-dump must be a path in the workspace');
    const resolved = resolveInWorkspace(spec['pg-dump'], context.workspace);
    if ('problem' in resolved) return fail(`pg-dump ${resolved.problem}`);
    if (!existsSync(resolved.path)) return fail(`pg-dump names a file that does not exist: ${spec['pg-dump']}`);
    const databaseUrl = spec['database-url'] ?? context.databaseUrl ?? context.env['DATABASE_URL'];
    if (typeof databaseUrl !== 'string' || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
      return fail('pg-dump needs database-url (postgres://user:password@host:5432/db) or DATABASE_URL');
    }
    if (!URL.canParse(databaseUrl) || new URL(databaseUrl).hostname === '')
      return fail(
        'database-url is not a valid URL (host, a numeric port, database: postgres://user:password@host:5432/db)',
      );
    return { kind: 'pg-restore', dump: resolved.path, databaseUrl, scaleDown };
  }
  if (spec['cronjob'] !== undefined) {
    if (typeof spec['cronjob'] !== 'string' || spec['cronjob'] === '') return fail('cronjob must be a CronJob name');
    return { kind: 'cronjob', cronjob: spec['cronjob'], scaleDown };
  }
  const command = spec['command'];
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string')) {
    return fail('command must be a list of strings: the program, then its arguments');
  }
  return { kind: 'command', command: command as string[], scaleDown };
}

export interface RestoreContext {
  /** Needed for the cronjob way only. */
  client?: KubeClient | undefined;
  namespace: string;
  clock: Clock;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  /** Masks the database password wherever it would be logged. */
  mask: (secret: string) => void;
  log: (line: string) => void;
  /** Environment for programs (PATH, ...). */
  env: Readonly<Record<string, string | undefined>>;
}

/** A step's RestoreContext: its clock, signal, log and masking, and the cluster for the CronJob way. */
export function restoreContextOf(
  rt: Runtime,
  options: { namespace: string; timeoutMs: number; client?: KubeClient | undefined },
): RestoreContext {
  return {
    ...(options.client ? { client: options.client } : {}),
    namespace: options.namespace,
    clock: rt.clock,
    signal: rt.signal,
    timeoutMs: options.timeoutMs,
    mask: (secret) => rt.mask(secret),
    log: (line) => rt.log.info(line),
    env: rt.env,
  };
}

export interface RestoreResult {
  kind: RestoreSpec['kind'];
  /** What ran: the program and arguments, or the Job's name. */
  ran: string;
  elapsedMs: number;
}

export async function restoreDatabase(spec: RestoreSpec, context: RestoreContext): Promise<RestoreResult> {
  const started = context.clock.now();
  let ran: string;
  switch (spec.kind) {
    case 'pg-restore': {
      const url = new URL(spec.databaseUrl);
      const password = decodeURIComponent(url.password);
      if (password) context.mask(password);
      url.password = '';
      const args = [
        '--clean',
        '--if-exists',
        '--no-owner',
        '--single-transaction',
        '--exit-on-error',
        '--dbname',
        url.toString(),
        spec.dump,
      ];
      await runProgram('pg_restore', args, { ...context.env, ...(password ? { PGPASSWORD: password } : {}) }, context);
      ran = ['pg_restore', ...args].join(' ');
      break;
    }
    case 'cronjob':
      ran = `job/${await runJobFromCronJob(spec.cronjob, context)}`;
      break;
    case 'command':
      for (const secret of commandSecrets(spec.command, context.env)) context.mask(secret);
      await runProgram(spec.command[0]!, spec.command.slice(1), context.env, context);
      ran = spec.command.join(' ');
      break;
  }
  return { kind: spec.kind, ran, elapsedMs: context.clock.now() - started };
}

/** `text` with the password of every URL in it replaced by ***, for error messages that echo an input. */
export function withoutPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/@:"']*:)[^\s/@"']+@/gi, '$1***@');
}

/**
 * What a user's restore command may print or carry that must never reach a log or the summary: the password
 * of a connection URL among its arguments or in DATABASE_URL, and PGPASSWORD.
 */
export function commandSecrets(
  command: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const secrets: string[] = [];
  for (const text of [...command, env['DATABASE_URL'] ?? '']) {
    for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:([^\s/@]+)@/gi)) {
      const password = match[1]!;
      secrets.push(password);
      try {
        secrets.push(decodeURIComponent(password));
      } catch {
        // not percent-encoded: the raw form is already masked
      }
    }
  }
  if (env['PGPASSWORD']) secrets.push(env['PGPASSWORD']);
  return [...new Set(secrets)];
}

/** Runs a program (argument array, no shell) with its output in the step log; a non-zero exit is a UserError. */
export async function runProgram(
  program: string,
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
  context: { log: (line: string) => void; signal?: AbortSignal | undefined },
): Promise<ExecResult> {
  const result = await execCommand(program, args, {
    // Without a PATH of its own the program is looked up where this process looks (as spawn does).
    env: env['PATH'] === undefined ? { PATH: process.env['PATH'], ...env } : env,
    signal: context.signal,
    log: { info: context.log },
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    throw new UserError(
      `${program} was not found on the PATH`,
      /^pg_(dump|restore)$/.test(program) ? { hint: 'install postgresql-client on the runner' } : undefined,
    );
  });
  if (result.exitCode !== 0) {
    // The error line rather than a detail after it (pg_dump: "error: ...", then "detail: Query was: ...").
    const lines = `${result.stdout}\n${result.stderr}`.trim().split('\n');
    const last = lines.findLast((line) => /\berror:/i.test(line)) ?? lines.at(-1) ?? '';
    throw new UserError(`${program} exited with ${result.exitCode}: ${last.trim()}`);
  }
  return result;
}

/** Creates a Job from the CronJob's template (what `kubectl create job --from=cronjob/x` does) and waits for it. */
async function runJobFromCronJob(cronjob: string, context: RestoreContext): Promise<string> {
  if (!context.client) throw new UserError(`A restore from cronjob/${cronjob} needs a Kubernetes cluster (kubeconfig)`);
  const name = `${cronjob}-restore-${Math.floor(context.clock.now() / 1000)}`;
  const job = await jobFromCronJob(context.client, context.namespace, cronjob, name);
  return runJob(job, { ...context, client: context.client });
}
