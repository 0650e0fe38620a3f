/**
 * One safe migration step: everything checked first (files, names, drift, order, lint, the backup path),
 * then a backup, maintenance mode on, the migrations under the advisory lock, maintenance mode off (also
 * on failure), and a summary. `status` and `plan` change nothing; `undo` runs undo files; `restore` puts
 * a backup back through the same code as rollback's database-restore.
 */
import { UserError } from '../errors';
import { failedWith } from '../runtime/action';
import type { Runtime } from '../runtime/port';
import { type BackupResult, checkBackupTarget, takeBackup } from './backup';
import { runMigrationCommand } from './command-runner';
import { connect, type Database, describeUrl } from './connect';
import { type MigrationFile, type MigrationSet, readMigrations } from './files';
import { type HistoryRow, readHistory } from './history';
import { migrationJob } from './job-runner';
import { runJob } from './jobs';
import { type LintFinding, lintMigrations } from './lint';
import { enterMaintenance, leaveMaintenance, type MaintenanceOptions, type Saved } from './maintenance';
import { type MigrationPlan, planMigrations, planUndo } from './plan';
import type { MigrateContext, MigrateRequest, MigrateResult } from './request';
import { type RestoreContext, restoreContextOf, restoreDatabase } from './restore';
import { MigrationError, recordBaseline, runMigration, withMigrationLock } from './sql-runner';
import { migrateOutputs, renderMigrateSummary } from './summary';

function needSql(request: MigrateRequest): { url: string; folder: string } {
  if (!request.databaseUrl)
    throw new UserError(
      "Input 'database-url' is required for runner sql. Example: database-url: ${{ secrets.DATABASE_URL }}",
    );
  if (!request.folder)
    throw new UserError("Input 'migrations' is required for runner sql. Example: migrations: db/migrations");
  return { url: request.databaseUrl, folder: request.folder };
}

/** The plan with a requested baseline applied to a database that has no history yet. */
function withBaseline(history: HistoryRow[], baseline: string | undefined): HistoryRow[] {
  if (baseline === undefined || history.length > 0) return history;
  return [
    {
      rank: 0,
      version: baseline,
      description: '<< baseline >>',
      type: 'BASELINE',
      script: '<< baseline >>',
      checksum: null,
      installedBy: '',
      installedAt: new Date(0),
      executionMs: 0,
      runId: null,
    },
  ];
}

/** Drift and out-of-order files stop apply and undo before anything changes. */
function refuseUnsafe(plan: MigrationPlan, request: MigrateRequest) {
  if (plan.drift.length > 0) {
    throw new UserError(
      `Drift: ${plan.drift.map((s) => s.file).join(', ')} changed after ${plan.drift.length === 1 ? 'it was' : 'they were'} applied (checksum differs from the history). Put the applied text back and add a new migration instead; nothing was applied`,
    );
  }
  if (plan.outOfOrder.length > 0 && !request.outOfOrder) {
    throw new UserError(
      `Out of order: ${plan.outOfOrder.map((f) => f.file).join(', ')} ${plan.outOfOrder.length === 1 ? 'is' : 'are'} older than the applied version ${plan.current}. Renumber, or set out-of-order: true; nothing was applied`,
    );
  }
}

function annotate(rt: Runtime, findings: LintFinding[], blocking: boolean) {
  for (const finding of findings) {
    const text = `${finding.rule}: ${finding.statement ? `${finding.statement}: ` : ''}${finding.message}`;
    const props = { title: `migrate lint (${finding.file})`, file: finding.path, startLine: finding.line };
    if (blocking || finding.rule === 'syntax') rt.log.error(text, props);
    else rt.log.warning(text, props);
  }
}

async function lintOrRefuse(rt: Runtime, request: MigrateRequest, files: MigrationFile[]): Promise<LintFinding[]> {
  if (files.length === 0) return [];
  const findings = await lintMigrations(files);
  const blocking = findings.filter((f) => f.rule === 'syntax' || !request.allowDestructive);
  annotate(rt, findings, !request.allowDestructive);
  if (blocking.length > 0 && (request.mode === 'apply' || request.mode === 'undo') && !request.dryRun) {
    throw new UserError(
      `${blocking.length} statement${blocking.length === 1 ? '' : 's'} blocked by the lint (set allow-destructive: true to run them): ${blocking
        .map(
          (f) =>
            `${f.path}:${f.line} ${f.rule === 'syntax' ? `does not parse (${f.message})` : `${f.rule} "${f.statement}"`}`,
        )
        .join('; ')}; nothing was applied`,
    );
  }
  return findings;
}

/** What backups and restores run with: the step's clock, signal, log and masking (and the cluster for a CronJob). */
async function programContext(ctx: MigrateContext, request: MigrateRequest, cluster: boolean): Promise<RestoreContext> {
  return restoreContextOf(ctx.rt, {
    namespace: request.namespace,
    timeoutMs: request.timeoutMs,
    client: cluster ? await ctx.kube() : undefined,
  });
}

async function backupFirst(ctx: MigrateContext, request: MigrateRequest): Promise<BackupResult | undefined> {
  const { rt } = ctx;
  if (request.backup.kind === 'none') return undefined;
  const spec = request.backup;
  return rt.log.group(`Backup (${spec.kind})`, async () => {
    try {
      const backup = await takeBackup(spec, {
        ...(await programContext(ctx, request, spec.kind === 'cronjob')),
        databaseUrl: request.databaseUrl,
        workspace: rt.workspace,
      });
      rt.log.info(`Backup ${backup.id} taken${backup.path ? ` at ${backup.path}` : ''}`);
      return backup;
    } catch (error) {
      throw new UserError(`Backup failed, so nothing was migrated: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** Runs `fn` with maintenance mode on the named Deployments, switched off again whatever `fn` does. */
async function inMaintenance<T>(ctx: MigrateContext, request: MigrateRequest, fn: () => Promise<T>): Promise<T> {
  if (!request.maintenance) return fn();
  const { rt } = ctx;
  const options: MaintenanceOptions = {
    client: await ctx.kube(),
    namespace: request.namespace,
    ...request.maintenance,
    clock: rt.clock,
    signal: rt.signal,
    timeoutMs: request.timeoutMs,
    log: (line) => rt.log.info(line),
  };
  const saved: Saved = await rt.log.group('Maintenance mode on', () => enterMaintenance(options));
  const off = () =>
    rt.log
      .group('Maintenance mode off', () => leaveMaintenance(options, saved))
      .catch((error: unknown) => {
        throw new UserError(
          `Maintenance mode could not be switched off: ${(error as Error).message}; ${options.name} is still set on ${options.deployments.join(', ')}`,
          { cause: error },
        );
      });
  let value: T;
  try {
    value = await fn();
  } catch (error) {
    // Switched off after a failure too; if that fails as well, both are said.
    await off().catch((offError: Error) => rt.log.error(offError.message));
    throw error;
  }
  await off();
  return value;
}

async function sqlRun(ctx: MigrateContext, request: MigrateRequest, result: MigrateResult): Promise<void> {
  const { rt } = ctx;
  const { url, folder } = needSql(request);
  const set: MigrationSet = readMigrations(folder, rt.workspace);
  if (request.mode === 'apply' || request.mode === 'undo') checkBackupTarget(request.backup, rt.workspace);
  result.database = describeUrl(url);
  const db: Database = await connect(url);
  try {
    const options = { target: request.target, outOfOrder: request.outOfOrder };
    const before = planMigrations(set, withBaseline(await readHistory(db, request.table), request.baseline), options);
    result.plan = before;
    if (request.mode === 'status') {
      result.pending = before.pending;
      result.verdict = 'status';
      return;
    }
    const toRun = request.mode === 'undo' ? planUndo(set, before, request.target) : before.pending;
    result.pending = toRun;
    if (request.mode !== 'plan') refuseUnsafe(before, request);
    result.lint = await lintOrRefuse(rt, request, toRun);
    if (request.mode === 'plan' || request.dryRun) {
      result.verdict = request.mode === 'plan' ? 'planned' : 'dry-run';
      return;
    }
    if (toRun.length === 0) {
      result.verdict = 'up-to-date';
      rt.log.info(`Database ${result.database} is up to date (version ${before.current ?? 'none'})`);
      return;
    }
    result.backup = await backupFirst(ctx, request);
    await inMaintenance(ctx, request, () =>
      withMigrationLock(
        db,
        {
          table: request.table,
          lockTimeoutMs: request.lockTimeoutMs,
          statementTimeoutMs: request.statementTimeoutMs,
          log: (line) => rt.log.info(line),
          signal: rt.signal,
        },
        async () => {
          // Under the lock: what another run applied meanwhile is in the history now.
          let history = await readHistory(db, request.table);
          if (request.baseline !== undefined && history.length === 0) {
            await recordBaseline(db, request.table, request.baseline, ctx.runId ?? null);
            rt.log.info(`Baseline: the database is taken to be at version ${request.baseline}`);
            history = await readHistory(db, request.table);
          }
          const now = planMigrations(set, history, options);
          refuseUnsafe(now, request);
          const files = request.mode === 'undo' ? planUndo(set, now, request.target) : now.pending;
          const who = { table: request.table, runId: ctx.runId ?? null, installedBy: ctx.actor ?? null };
          for (const file of files) {
            rt.signal.throwIfAborted();
            const type = request.mode === 'undo' ? 'UNDO_SQL' : file.kind === 'repeatable' ? 'REPEATABLE' : 'SQL';
            const applied = await runMigration(db, file, type, who).catch((error: unknown) => {
              if (error instanceof MigrationError) {
                rt.log.error(error.message, {
                  title: 'migration failed',
                  file: error.path,
                  ...(error.line ? { startLine: error.line } : {}),
                });
                const done = result.applied.map((a) => a.file.file);
                throw new UserError(
                  `${error.message}${done.length > 0 ? `. Applied before it in this run: ${done.join(', ')}` : ''}`,
                  { cause: error },
                );
              }
              throw error;
            });
            result.applied.push(applied);
            rt.log.info(
              `${request.mode === 'undo' ? 'Undid' : 'Applied'} ${file.file} in ${Math.round(applied.executionMs)} ms`,
            );
          }
          if (files.length === 0) rt.log.info('Another run applied everything while this one waited for the lock');
          result.plan = planMigrations(set, await readHistory(db, request.table), options);
        },
      ),
    );
    result.verdict = result.applied.length === 0 ? 'up-to-date' : request.mode === 'undo' ? 'undone' : 'applied';
  } finally {
    await db.end().catch(() => {});
  }
}

async function externalRun(ctx: MigrateContext, request: MigrateRequest, result: MigrateResult): Promise<void> {
  const { rt } = ctx;
  const commandContext = {
    env: rt.env,
    databaseUrl: request.databaseUrl,
    signal: rt.signal,
    mask: (secret: string) => rt.mask(secret),
    log: (line: string) => rt.log.info(line),
  };
  const status = async () => {
    if (!request.commands.status) return;
    result.statusOutput = (
      await rt.log.group('Status', () => runMigrationCommand('status', request.commands, commandContext))
    ).output;
  };
  if (request.mode === 'status' || request.mode === 'plan' || request.dryRun) {
    await status();
    result.verdict =
      request.dryRun && request.mode === 'apply' ? 'dry-run' : request.mode === 'plan' ? 'planned' : 'status';
    return;
  }
  if (request.mode === 'undo' && (request.runner === 'job' || !request.commands.undo)) {
    throw new UserError(
      request.runner === 'job'
        ? 'mode undo needs runner sql (undo files) or runner command with undo-command; nothing was undone'
        : 'Input \'undo-command\' is required for mode undo with runner command; nothing was undone. Example: undo-command: \'["npm", "run", "db:rollback"]\'',
    );
  }
  if (request.runner === 'command' && request.mode === 'apply' && !request.commands.migrate) {
    throw new UserError(
      'Input \'migration-command\' is required for runner command. Example: migration-command: \'["npm", "run", "migrate:up"]\'',
    );
  }
  if (request.runner === 'job' && !request.job) {
    throw new UserError(
      "Input 'job' is required for runner job. Example: job: '{ cronjob: db-migrate, image: ghcr.io/acme/api:v2 }'",
    );
  }
  checkBackupTarget(request.backup, rt.workspace);
  result.backup = await backupFirst(ctx, request);
  await inMaintenance(ctx, request, async () => {
    if (request.runner === 'command') {
      await rt.log.group(request.mode === 'undo' ? 'Undo' : 'Migrate', () =>
        runMigrationCommand(request.mode === 'undo' ? 'undo' : 'migrate', request.commands, commandContext),
      );
    } else {
      const client = await ctx.kube();
      const job = await migrationJob(
        request.job!,
        { image: request.image, secret: request.secret },
        {
          client,
          namespace: request.namespace,
          now: rt.clock.now(),
        },
      );
      result.job = await rt.log.group(`Migration Job ${job.metadata?.name}`, () =>
        runJob(job, {
          client,
          namespace: request.namespace,
          clock: rt.clock,
          signal: rt.signal,
          timeoutMs: request.timeoutMs,
          log: (line) => rt.log.info(line),
          warn: (line) => rt.log.warning(line),
        }),
      );
    }
  });
  await status();
  result.verdict = request.mode === 'undo' ? 'undone' : 'applied';
}

export async function runMigrate(ctx: MigrateContext, request: MigrateRequest): Promise<MigrateResult> {
  const { rt } = ctx;
  if (request.databaseUrl) rt.mask(request.databaseUrl);
  const result: MigrateResult = {
    mode: request.mode,
    runner: request.runner,
    verdict: 'status',
    pending: [],
    applied: [],
    lint: [],
    maintenance: request.maintenance?.deployments,
  };
  if (request.mode === 'restore') {
    if (!request.restore)
      throw new UserError(
        "Input 'restore' is required for mode restore. Example: restore: '{ pg-dump: backups/shop-20250117T140000Z.dump }'",
      );
    if (request.dryRun) {
      result.verdict = 'dry-run';
      return result;
    }
    const spec = request.restore;
    result.restore = await inMaintenance(ctx, request, () =>
      rt.log.group(`Restore (${spec.kind})`, async () =>
        restoreDatabase(spec, await programContext(ctx, request, spec.kind === 'cronjob')),
      ),
    );
    result.verdict = 'restored';
    rt.summary.append(renderMigrateSummary(result));
    return result;
  }
  try {
    if (request.runner === 'sql') await sqlRun(ctx, request, result);
    else await externalRun(ctx, request, result);
  } catch (error) {
    rt.summary.append(renderMigrateSummary(result, rt.redact((error as Error).message)));
    // The backup taken before the failure is what a restore needs: its outputs are set anyway.
    throw failedWith(error, migrateOutputs(result));
  }
  rt.summary.append(renderMigrateSummary(result));
  return result;
}
