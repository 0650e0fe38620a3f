/** What a migrate step is asked to do (MigrateRequest), with what (MigrateContext), and what it reports (MigrateResult). */
import type { KubeClient } from '../kube/client';
import type { Runtime } from '../runtime/port';
import type { BackupResult, BackupSpec } from './backup';
import type { MigrationCommands } from './command-runner';
import type { MigrationFile } from './files';
import type { JobSpec } from './job-runner';
import type { LintFinding } from './lint';
import type { MigrationPlan } from './plan';
import type { RestoreResult, RestoreSpec } from './restore';
import type { Applied } from './sql-runner';

export type MigrateMode = 'status' | 'plan' | 'apply' | 'undo' | 'restore';

export interface MigrateRequest {
  mode: MigrateMode;
  runner: 'sql' | 'command' | 'job';
  databaseUrl?: string | undefined;
  /** The migrations folder, absolute (sql runner). */
  folder?: string | undefined;
  table: string;
  target?: string | undefined;
  baseline?: string | undefined;
  outOfOrder: boolean;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  allowDestructive: boolean;
  backup: BackupSpec;
  restore?: RestoreSpec | undefined;
  commands: MigrationCommands;
  job?: JobSpec | undefined;
  image?: string | undefined;
  secret?: string | undefined;
  maintenance?: { deployments: string[]; name: string; value: string } | undefined;
  namespace: string;
  timeoutMs: number;
  dryRun: boolean;
}

export interface MigrateResult {
  mode: MigrateMode;
  runner: MigrateRequest['runner'];
  verdict: 'applied' | 'up-to-date' | 'planned' | 'status' | 'undone' | 'restored' | 'dry-run';
  plan?: MigrationPlan | undefined;
  pending: MigrationFile[];
  applied: Applied[];
  lint: LintFinding[];
  backup?: BackupResult | undefined;
  restore?: RestoreResult | undefined;
  statusOutput?: string | undefined;
  job?: string | undefined;
  maintenance?: string[] | undefined;
  database?: string | undefined;
}

export interface MigrateContext {
  rt: Runtime;
  /** Connects to the cluster on first use (Job runner, cronjob backups, maintenance mode). */
  kube: () => Promise<KubeClient>;
  /** Who runs it (the GitHub actor) and from where (the run's URL), for the history table. */
  actor?: string | undefined;
  runId?: string | undefined;
}
