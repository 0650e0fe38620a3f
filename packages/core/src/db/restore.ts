/**
 * Database restores for rollback (and later migrate): a PostgreSQL dump put
 * back with `pg_restore`, a Kubernetes Job created from a restore CronJob (as
 * `kubectl create job --from=cronjob/...`), or the user's own command. Every
 * program runs from an argument array; a database password travels in
 * PGPASSWORD, never on a command line where `ps` would show it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { InputError, UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import type { KubeClient } from '../kube/client';
import type { KubeObject } from '../kube/types';
import type { Clock } from '../runtime/port';

export type RestoreSpec =
  | { kind: 'pg-restore'; dump: string; databaseUrl: string; scaleDown: boolean }
  | { kind: 'cronjob'; cronjob: string; scaleDown: boolean }
  | { kind: 'command'; command: string[]; scaleDown: boolean };

const INPUT = 'database-restore';
const EXAMPLE = '{ pg-dump: backups/pre-v1.4.0.dump, database-url: ${{ secrets.DATABASE_URL }} }';

/**
 * Reads the `database-restore` YAML: exactly one of `pg-dump` (with
 * `database-url`, or DATABASE_URL in the environment), `cronjob` or
 * `command`; `scale-down` (default true) stops the app while the data changes.
 */
export function parseRestoreSpec(
  document: unknown,
  context: { workspace: string; env: Readonly<Record<string, string | undefined>> },
): RestoreSpec {
  const fail = (problem: string): never => {
    throw new InputError(INPUT, problem, JSON.stringify(document), EXAMPLE);
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
    const databaseUrl = spec['database-url'] ?? context.env['DATABASE_URL'];
    if (typeof databaseUrl !== 'string' || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
      return fail('pg-dump needs database-url (postgres://user:password@host:5432/db) or DATABASE_URL');
    }
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
  client: KubeClient;
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

function runProgram(
  program: string,
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
  context: RestoreContext,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: context.signal,
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT')
        reject(
          new UserError(
            `${program} was not found on the PATH`,
            program === 'pg_restore' ? { hint: 'install postgresql-client on the runner' } : undefined,
          ),
        );
      else reject(error);
    });
    child.on('close', (code) => {
      for (const line of output.trim().split('\n').filter(Boolean)) context.log(line);
      if (code === 0) resolve();
      else reject(new UserError(`${program} exited with ${code}: ${output.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

interface Job extends KubeObject {
  status?: {
    succeeded?: number;
    failed?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

/** Creates a Job from the CronJob's template (what `kubectl create job --from=cronjob/x` does) and waits for it. */
async function runJobFromCronJob(cronjob: string, context: RestoreContext): Promise<string> {
  const { client, namespace } = context;
  const source = await client
    .get<KubeObject & { spec?: { jobTemplate?: { metadata?: KubeObject['metadata']; spec?: unknown } } }>('CronJob', {
      namespace,
      name: cronjob,
    })
    .catch((error: unknown) => {
      if ((error as { code?: number }).code === 404)
        throw new UserError(`CronJob "${cronjob}" not found in namespace "${namespace}"`);
      throw error;
    });
  const name = `${cronjob}-restore-${Math.floor(context.clock.now() / 1000)}`.slice(0, 63);
  const template = source.spec?.jobTemplate ?? {};
  const job = await client.create<Job>('Job', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels: { ...(template.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': 'deploy-actions' },
      annotations: { ...(template.metadata?.annotations ?? {}), 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: cronjob, uid: source.metadata?.uid ?? '', controller: true },
      ],
    },
    spec: template.spec,
  });
  context.log(`Created job/${name} from cronjob/${cronjob}`);
  const stop = new AbortController();
  const onAbort = () => stop.abort(context.signal?.reason);
  context.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = new AbortController();
  context.clock.sleep(context.timeoutMs, timer.signal).then(
    () => stop.abort(new UserError(`job/${name} did not finish within the timeout`)),
    () => {},
  );
  try {
    let resourceVersion = job.metadata?.resourceVersion;
    for (;;) {
      const current = await client.get<Job>('Job', { namespace, name });
      const verdict = jobVerdict(current, name);
      if (verdict === 'complete') return name;
      resourceVersion = current.metadata?.resourceVersion ?? resourceVersion;
      for await (const event of client.watch<Job>(
        'Job',
        { namespace, fieldSelector: `metadata.name=${name}`, ...(resourceVersion ? { resourceVersion } : {}) },
        stop.signal,
      )) {
        if (event.type !== 'ADDED' && event.type !== 'MODIFIED') continue;
        if (jobVerdict(event.object, name) === 'complete') return name;
      }
      if (stop.signal.aborted) throw stop.signal.reason;
    }
  } finally {
    timer.abort();
    context.signal?.removeEventListener('abort', onAbort);
  }
}

function jobVerdict(job: Job, name: string): 'complete' | 'running' {
  const conditions = job.status?.conditions ?? [];
  const failed = conditions.find((condition) => condition.type === 'Failed' && condition.status === 'True');
  if (failed)
    throw new UserError(`job/${name} failed: ${failed.reason ?? ''}${failed.message ? ` (${failed.message})` : ''}`);
  return conditions.some((condition) => condition.type === 'Complete' && condition.status === 'True')
    ? 'complete'
    : 'running';
}
