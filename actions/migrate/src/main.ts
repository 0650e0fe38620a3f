/**
 * migrate: database migrations with a backup first, an advisory lock, lint and a way back. The adapter
 * reads the inputs and calls `runMigrate` (core/db), which checks everything before it changes anything.
 */
/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: examples are workflow expressions, not JS templates */
import {
  type BackupSpec,
  type MigrateRequest,
  migrateOutputs,
  parseBackupSpec,
  parseJobSpec,
  parseRestoreSpec,
  runMigrate,
} from '@deploy-actions/core/db';
import { InputError } from '@deploy-actions/core/errors';
import {
  boolean,
  defineInputs,
  duration,
  filePath,
  list,
  makeReader,
  string,
  structured,
} from '@deploy-actions/core/inputs';
import { KubeClient, kubeInputs, kubeSource, resolveNamespace } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';

const VERSION = /^\d+([._]\d+)*$/;
const ARGS = (document: unknown, fail: (problem: string) => never) => {
  if (!Array.isArray(document) || document.length === 0 || !document.every((part) => typeof part === 'string'))
    return fail('must be a list of strings: the program, then its arguments');
  return document as string[];
};

/** A postgres:// URL that parses (a port that is a number, a host); it is a secret, so never echoed. */
const databaseUrl = makeReader(
  'string',
  { secret: true, example: '${{ secrets.DATABASE_URL }}' },
  '${{ secrets.DATABASE_URL }}',
  (raw, fail) => {
    const value = raw.trim();
    const shape = 'postgres://user:password@db.example.com:5432/shop';
    if (!/^postgres(ql)?:\/\//.test(value)) fail(`must start with postgres:// or postgresql://, like ${shape}`);
    try {
      if (new URL(value).hostname === '') fail(`names no host, like ${shape}`);
    } catch (error) {
      if (error instanceof InputError) throw error;
      fail(
        `is not a valid URL (host, a numeric port, database), like ${shape}; a password with @ : / needs %-encoding`,
      );
    }
    return value;
  },
);

export const inputs = defineInputs({
  mode: string({ choices: ['apply', 'status', 'plan', 'undo', 'restore'], default: 'apply' }),
  runner: string({ choices: ['sql', 'command', 'job'], default: 'sql' }),
  'database-url': databaseUrl,
  migrations: filePath({ mustExist: false, example: 'db/migrations' }),
  'history-table': string({
    default: 'deploy_actions_migrations',
    pattern: /^([a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*$/,
    example: 'public.schema_history',
  }),
  target: string({ pattern: VERSION, example: '1.2' }),
  baseline: string({ pattern: VERSION, example: '20250101' }),
  'out-of-order': boolean({ default: 'false' }),
  'lock-timeout': duration({ default: '10s' }),
  'statement-timeout': duration({ default: '0' }),
  'allow-destructive': boolean({ default: 'false' }),
  backup: structured({ example: '{ pg-dump: backups/ }' }),
  restore: structured({ example: '{ pg-dump: backups/shop-20250117T140000Z.dump }' }),
  'migration-command': structured({ validate: ARGS, example: '["npm", "run", "migrate:up"]' }),
  'status-command': structured({ validate: ARGS, example: '["npm", "run", "migrate:status"]' }),
  'undo-command': structured({ validate: ARGS, example: '["npm", "run", "db:rollback"]' }),
  job: structured({ example: '{ cronjob: db-migrate }' }),
  image: string({ example: 'ghcr.io/acme/api:v2' }),
  'job-secret': string({ example: 'db-credentials' }),
  maintenance: list({ example: 'api, worker' }),
  'maintenance-env': string({
    default: 'MAINTENANCE_MODE=true',
    pattern: /^[A-Za-z_][A-Za-z0-9_]*=/,
    example: 'MAINTENANCE_MODE=true',
  }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

/** No `backup` input: a pg_dump into backups/ when there is a database URL to dump, else the user must choose. */
function backupOf(values: Inputs, workspace: string): BackupSpec {
  if (values.backup !== undefined) return parseBackupSpec(values.backup, workspace);
  if (values['database-url']) return parseBackupSpec({ 'pg-dump': 'backups/' }, workspace);
  if (values.mode === 'apply' || values.mode === 'undo')
    throw new InputError(
      'backup',
      'is required when there is no database-url to pg_dump (none to skip it)',
      undefined,
      '{ cronjob: db-backup }',
    );
  return { kind: 'none' };
}

const migrate: ActionDefinition<Inputs> = {
  name: 'migrate',
  inputs,
  async run(rt, values) {
    const backup = backupOf(values, rt.workspace);
    const restore =
      values.restore === undefined
        ? undefined
        : parseRestoreSpec(
            values.restore,
            { workspace: rt.workspace, env: rt.env, databaseUrl: values['database-url'] },
            'restore',
          );
    const [envName, ...envValue] = values['maintenance-env'].split('=');
    let client: Promise<KubeClient> | undefined;
    const kube = () =>
      (client ??= KubeClient.connect(kubeSource(rt, values), {
        clock: rt.clock,
        signal: rt.signal,
        onRetry: (message) => rt.log.warning(message),
      }));
    const usesCluster =
      values.runner === 'job' ||
      values.maintenance !== undefined ||
      backup.kind === 'cronjob' ||
      restore?.kind === 'cronjob';
    const namespace = resolveNamespace(values.namespace, usesCluster ? (await kube()).contextNamespace : undefined);
    const request: MigrateRequest = {
      mode: values.mode,
      runner: values.runner,
      databaseUrl: values['database-url'],
      folder: values.migrations,
      table: values['history-table'],
      target: values.target,
      baseline: values.baseline,
      outOfOrder: values['out-of-order'],
      lockTimeoutMs: values['lock-timeout'],
      statementTimeoutMs: values['statement-timeout'],
      allowDestructive: values['allow-destructive'],
      backup,
      restore,
      commands: {
        migrate: values['migration-command'],
        status: values['status-command'],
        undo: values['undo-command'],
      },
      job: values.job === undefined ? undefined : parseJobSpec(values.job),
      image: values.image,
      secret: values['job-secret'],
      maintenance: values.maintenance?.length
        ? { deployments: values.maintenance, name: envName!, value: envValue.join('=') }
        : undefined,
      namespace,
      timeoutMs: values.timeout,
      dryRun: values['dry-run'],
    };
    const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = rt.env;
    const result = await runMigrate(
      {
        rt,
        kube,
        actor: rt.env['GITHUB_ACTOR'],
        runId: server && repo && run ? `${server}/${repo}/actions/runs/${run}` : undefined,
      },
      request,
    );
    return {
      result: {
        verdict: result.verdict,
        mode: result.mode,
        runner: result.runner,
        applied: result.applied.map((a) => ({
          file: a.file.file,
          version: a.file.version,
          ms: Math.round(a.executionMs),
        })),
        pending: result.pending.map((f) => f.file),
        lint: result.lint,
        backup: result.backup,
        restore: result.restore,
        job: result.job,
      },
      outputs: migrateOutputs(result),
    };
  },
};

export default migrate;
