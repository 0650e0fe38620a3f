/** backup: the newest backup (a succeeded Job by name prefix, a CronJob's last successful run, or a file) is recent enough. */
import { statSync } from 'node:fs';
import { formatDuration } from '../inputs/scalars';
import type { KubeObject } from '../kube/types';
import { configError, optionalDuration, optionalString } from './config';
import { readReport } from './reports';
import type { GateDefinition } from './types';

type BackupSource =
  | { kind: 'job'; prefix: string }
  | { kind: 'cronjob'; name: string }
  | { kind: 'file'; path: string; shown: string };

interface BackupConfig {
  source: BackupSource;
  maxAgeMs: number;
  namespace: string | undefined;
}

interface Job extends KubeObject {
  status?: { succeeded?: number; completionTime?: string; conditions?: Array<{ type: string; status: string }> };
}

export const backupGate: GateDefinition<BackupConfig> = {
  name: 'backup',
  title: 'Recent backup',
  prepare(raw, source) {
    const maxAgeMs = optionalDuration(raw, 'max-age', source);
    if (maxAgeMs === undefined) throw configError(source, 'max-age', 'is required', '24h');
    const prefix = optionalString(raw, 'job-prefix', source);
    const cronjob = optionalString(raw, 'cronjob', source);
    const file = optionalString(raw, 'file', source);
    const given = [prefix, cronjob, file].filter((v) => v !== undefined).length;
    if (given !== 1)
      throw configError(
        source,
        'job-prefix',
        'give exactly one of job-prefix, cronjob or file',
        'job-prefix: db-backup',
      );
    let backup: BackupSource;
    if (prefix !== undefined) backup = { kind: 'job', prefix };
    else if (cronjob !== undefined) backup = { kind: 'cronjob', name: cronjob };
    else {
      const report = readReport(file!, source.workspace, 'Backup file');
      backup = { kind: 'file', path: report.path, shown: report.shown };
    }
    return { source: backup, maxAgeMs, namespace: optionalString(raw, 'namespace', source) };
  },
  async run(config, ctx) {
    const { source } = config;
    let at: number | undefined;
    let what: string;
    if (source.kind === 'file') {
      at = statSync(source.path).mtimeMs;
      what = `file ${source.shown}`;
    } else {
      const client = await ctx.kube();
      const namespace = config.namespace ?? (await ctx.namespace());
      if (source.kind === 'cronjob') {
        const cron = await client.get<KubeObject & { status?: { lastSuccessfulTime?: string } }>('CronJob', {
          namespace,
          name: source.name,
        });
        const last = cron.status?.lastSuccessfulTime;
        at = last ? Date.parse(last) : undefined;
        what = `CronJob ${namespace}/${source.name}`;
      } else {
        const jobs = await client.list<Job>('Job', { namespace });
        const done = jobs.items
          .filter((job) => job.metadata?.name?.startsWith(source.prefix))
          .filter(
            (job) =>
              (job.status?.succeeded ?? 0) > 0 ||
              job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'),
          )
          .map((job) => ({ name: job.metadata!.name!, at: Date.parse(job.status?.completionTime ?? '') }))
          .filter((job) => !Number.isNaN(job.at))
          .sort((a, b) => b.at - a.at);
        at = done[0]?.at;
        what = done[0] ? `Job ${namespace}/${done[0].name}` : `Jobs ${namespace}/${source.prefix}*`;
      }
    }
    const limit = `newer than ${formatDuration(config.maxAgeMs)}`;
    if (at === undefined)
      return { status: 'fail', value: 'none', limit, message: `No successful backup found (${what})` };
    const age = ctx.clock.now() - at;
    const shown = formatDuration(Math.max(0, Math.round(age / 60_000) * 60_000));
    return {
      status: age <= config.maxAgeMs ? 'pass' : 'fail',
      value: `${shown} old`,
      limit,
      message: `Latest backup: ${what}, finished ${new Date(at).toISOString()} (${shown} ago)${age <= config.maxAgeMs ? '' : `, older than ${formatDuration(config.maxAgeMs)}`}`,
      details: { source: what, finishedAt: new Date(at).toISOString() },
    };
  },
};
