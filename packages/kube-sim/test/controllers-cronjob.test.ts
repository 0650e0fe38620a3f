import { afterEach, describe, expect, it } from 'vitest';
import { nextRun } from '../src/controllers/cronjob';
import { harness } from './controllers-harness';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('cron schedules', () => {
  it('finds the next minute a schedule names, in UTC', () => {
    expect(iso(nextRun('*/15 * * * *', at('2026-01-01T00:07:00Z')))).toBe('2026-01-01T00:15:00.000Z');
    expect(iso(nextRun('0 3 * * *', at('2026-01-01T03:00:00Z')))).toBe('2026-01-02T03:00:00.000Z');
    expect(iso(nextRun('@hourly', at('2026-01-01T10:30:00Z')))).toBe('2026-01-01T11:00:00.000Z');
    expect(iso(nextRun('30 9 * * 1-5', at('2026-01-02T10:00:00Z')))).toBe('2026-01-05T09:30:00.000Z'); // Fri → Mon
    expect(() => nextRun('61 * * * *', 0)).toThrow(/invalid cron field/);
  });
});

describe('CronJob controller (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());

  it('creates a Job at each scheduled time and keeps successfulJobsHistoryLimit of them', async () => {
    h = harness();
    h.behaviour.set('report:*', { exitAfter: '10s' });
    h.store.create({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: 'default' },
      spec: {
        schedule: '*/5 * * * *',
        successfulJobsHistoryLimit: 2,
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'report:1' }] } } },
        },
      },
    });
    await h.run(4 * 60_000, 10_000);
    expect(h.store.list('batch/v1/jobs', 'default')).toHaveLength(0);
    await h.run(60_000, 10_000); // 00:05
    const jobs = h.store.list('batch/v1/jobs', 'default');
    expect(jobs.map((j) => j.metadata.name)).toEqual([
      `report-${Math.floor(h.clock.now() / 60_000) - (Math.floor(h.clock.now() / 60_000) % 5)}`,
    ]);
    expect(jobs[0]!.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(
      '2026-01-01T00:05:00Z',
    );
    await h.run(20 * 60_000, 10_000); // runs at 00:10, 00:15, 00:20, 00:25
    // At 00:25 the 00:25 Job has just started; of the finished ones only the newest two stay.
    const minute = (hhmm: string) => `report-${Math.floor(Date.parse(`2026-01-01T${hhmm}:00Z`) / 60_000)}`;
    const left = h.store
      .list('batch/v1/jobs', 'default')
      .map((j) => j.metadata.name)
      .sort();
    expect(left).toEqual([minute('00:15'), minute('00:20'), minute('00:25')].sort());
    expect(
      h.store.get('batch/v1/cronjobs', 'default', 'report').status.active.map((r: { name: string }) => r.name),
    ).toEqual([minute('00:25')]);
    const cj = h.store.get('batch/v1/cronjobs', 'default', 'report');
    expect(cj.status.lastScheduleTime).toBe('2026-01-01T00:25:00Z');
    expect(cj.status.lastSuccessfulTime).toBeDefined();
  });
});
