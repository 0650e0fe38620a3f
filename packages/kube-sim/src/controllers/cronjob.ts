/**
 * CronJob controller, simplified: on the sim's clock, at each time the five-field schedule (UTC; `*`, lists,
 * ranges, steps, `@hourly`-style macros) names, it creates a Job `<cronjob>-<minutes since epoch>` from
 * `jobTemplate`, unless `suspend` is set or `concurrencyPolicy: Forbid` and a Job is still running; it keeps
 * `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` finished Jobs and writes `lastScheduleTime`,
 * `lastSuccessfulTime` and `active`. Missed runs while the sim was not running are not caught up.
 */
import { copyJson } from '../frozen';
import type { KubeObject } from '../store';
import {
  CRONJOBS,
  condition,
  controllerRef,
  enqueueOwner,
  JOBS,
  key,
  MANAGER,
  ownerReference,
  splitKey,
  timestamp,
  writeStatus,
} from './common';
import type { ControllerContext } from './context';
import { WorkQueue } from './queue';

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function field(text: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo = min;
    let hi = max;
    if (range !== '*') {
      const [a, b] = range.split('-');
      lo = Number(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : Number(b);
    }
    if (![lo, hi, step].every(Number.isInteger) || lo < min || hi > max || step < 1) {
      throw new Error(`invalid cron field "${text}"`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** The first minute strictly after `after` (ms) that the schedule names, in UTC. */
export function nextRun(schedule: string, after: number): number {
  const fields = (MACROS[schedule.trim()] ?? schedule).trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`a cron schedule has 5 fields, got "${schedule}"`);
  const [minutes, hours, days, months, weekdays] = [
    field(fields[0]!, 0, 59),
    field(fields[1]!, 0, 23),
    field(fields[2]!, 1, 31),
    field(fields[3]!, 1, 12),
    field(fields[4]!.replace(/\b7\b/, '0'), 0, 6),
  ];
  const anyDay = fields[2] === '*';
  const anyWeekday = fields[4] === '*';
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  // Four years of minutes bound the search (a schedule like 29 Feb still lands).
  for (let i = 0; i < 4 * 366 * 24 * 60; i++, t += 60_000) {
    const d = new Date(t);
    if (!months.has(d.getUTCMonth() + 1) || !hours.has(d.getUTCHours()) || !minutes.has(d.getUTCMinutes())) continue;
    const dayOk = days.has(d.getUTCDate());
    const weekdayOk = weekdays.has(d.getUTCDay());
    // As cron does: when both are restricted, either matching is enough.
    if (anyDay || anyWeekday ? dayOk && weekdayOk : dayOk || weekdayOk) return t;
  }
  throw new Error(`schedule "${schedule}" never runs`);
}

const isFinished = (job: KubeObject) =>
  condition(job, 'Complete')?.status === 'True' || condition(job, 'Failed')?.status === 'True';

export class CronJobController {
  readonly queue: WorkQueue;
  /** When each CronJob was last looked at, so every scheduled time is run once. */
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('cronjob', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(CRONJOBS, undefined, undefined, (e) => {
        const k = key(e.object.metadata.namespace, e.object.metadata.name);
        if (e.type === 'DELETED') this.lastSeen.delete(k);
        else this.queue.add(k);
      }),
      store.watch(JOBS, undefined, undefined, enqueueOwner('CronJob', this.queue)),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private sync(k: string): void {
    const { store, clock } = this.ctx;
    const [ns, name] = splitKey(k);
    const cj = store.find(CRONJOBS, ns, name);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const now = clock.now();
    const since = this.lastSeen.get(k) ?? now;
    this.lastSeen.set(k, now);
    const jobs = store.list(JOBS, ns).filter((j) => controllerRef(j)?.uid === cj.metadata.uid);
    const active = jobs.filter((j) => !isFinished(j));
    let lastSchedule: number | undefined;
    let due: number | undefined;
    try {
      for (let t = nextRun(cj.spec.schedule, since); t <= now; t = nextRun(cj.spec.schedule, t)) due = t;
    } catch (error) {
      this.ctx.events.record(cj, 'Warning', 'UnparseableSchedule', String((error as Error).message), {
        component: 'cronjob-controller',
      });
      return;
    }
    if (due !== undefined && !cj.spec.suspend) {
      const policy = cj.spec.concurrencyPolicy ?? 'Allow';
      const jobName = `${name}-${Math.floor(due / 60_000)}`;
      if (policy === 'Replace')
        for (const j of active) store.delete(JOBS, ns, j.metadata.name, { propagationPolicy: 'Background' });
      const blocked = policy === 'Forbid' && active.length > 0;
      if (!blocked && !store.find(JOBS, ns, jobName)) {
        const template = copyJson(cj.spec.jobTemplate ?? {});
        const job = store.create(
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: {
              name: jobName,
              namespace: ns,
              labels: template.metadata?.labels,
              annotations: {
                ...(template.metadata?.annotations ?? {}),
                'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(due).toISOString().replace('.000Z', 'Z'),
              },
              ownerReferences: [ownerReference(cj)],
            },
            spec: template.spec ?? {},
          },
          { fieldManager: MANAGER },
        );
        this.ctx.events.record(cj, 'Normal', 'SuccessfulCreate', `Created job ${job.metadata.name}`, {
          component: 'cronjob-controller',
        });
        active.push(job);
        lastSchedule = due;
      }
    }
    // History limits: the oldest finished Jobs go first.
    const finished = jobs
      .filter(isFinished)
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
    const limits = { Complete: cj.spec.successfulJobsHistoryLimit ?? 3, Failed: cj.spec.failedJobsHistoryLimit ?? 1 };
    for (const kind of ['Complete', 'Failed'] as const) {
      const these = finished.filter((j) => condition(j, kind)?.status === 'True');
      for (const j of these.slice(0, Math.max(0, these.length - limits[kind]))) {
        if (store.find(JOBS, ns, j.metadata.name))
          store.delete(JOBS, ns, j.metadata.name, { propagationPolicy: 'Background' });
      }
    }
    const succeeded = finished
      .filter((j) => condition(j, 'Complete')?.status === 'True')
      .map((j) => j.status?.completionTime as string | undefined)
      .filter((t): t is string => !!t)
      .sort();
    const status: KubeObject = { ...(cj.status ?? {}) };
    if (lastSchedule !== undefined) status.lastScheduleTime = timestamp(lastSchedule);
    if (succeeded.length) status.lastSuccessfulTime = succeeded.at(-1);
    const refs = active
      .filter((j) => store.find(JOBS, ns, j.metadata.name))
      .map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name, namespace: ns, uid: j.metadata.uid }));
    if (refs.length) status.active = refs;
    else delete status.active;
    if (JSON.stringify(cj.status ?? {}) !== JSON.stringify(status)) writeStatus(store, CRONJOBS, cj, status, MANAGER);
    try {
      this.queue.addAfter(k, nextRun(cj.spec.schedule, now) - now);
    } catch {
      // Reported above.
    }
  }
}
