/**
 * The Job controller: runs pods until `completions` succeed (at most `parallelism` at once), retries failures
 * with the controller's back-off (10s, 20s, ... capped at 6m) until `backoffLimit` is passed, and stops at
 * `activeDeadlineSeconds`. Finished Jobs carry the conditions a 1.31+ cluster writes: SuccessCriteriaMet then
 * Complete, or FailureTarget then Failed (reasons BackoffLimitExceeded, DeadlineExceeded); as there, the
 * terminal condition (Complete, Failed) waits until no pod of the Job is still terminating (`status.terminating`).
 */
import type { KubeObject } from '../store';
import {
  condition,
  enqueueOwner,
  isPodActive,
  isPodReady,
  isPodTerminating,
  isTerminating,
  JOBS,
  key,
  MANAGER,
  PODS,
  parseTime,
  setCondition,
  splitKey,
  timestamp,
  writeStatus,
} from './common';
import type { ControllerContext } from './context';
import { WorkQueue } from './queue';
import { createPodWithGeneratedName, podFromTemplate } from './replicaset';

const JOB_BACKOFF_MS = 10_000;
const JOB_BACKOFF_MAX_MS = 360_000;

export class JobController {
  readonly queue: WorkQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('job', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(JOBS, undefined, undefined, (e) =>
        this.queue.add(key(e.object.metadata.namespace, e.object.metadata.name)),
      ),
      store.watch(PODS, undefined, undefined, enqueueOwner('Job', this.queue)),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private sync(k: string): void {
    const { store, clock, events } = this.ctx;
    const [ns, name] = splitKey(k);
    const job = store.find(JOBS, ns, name);
    if (!job || isTerminating(job)) return;
    if (condition(job, 'Complete')?.status === 'True' || condition(job, 'Failed')?.status === 'True') return;
    if (job.spec?.suspend === true) return;
    const now = clock.now();
    const pods = this.ctx.pods.owned(job.metadata.uid);
    let active = pods.filter(isPodActive);
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
    // With restartPolicy OnFailure a failing container restarts in place; its restarts count as failures.
    const restarts = active.reduce(
      (n, p) =>
        n + (p.status?.containerStatuses ?? []).reduce((m: number, c: KubeObject) => m + (c.restartCount ?? 0), 0),
      0,
    );
    const failed = failedPods.length + restarts;
    const completions: number = job.spec?.completions ?? 1;
    const parallelism: number = job.spec?.parallelism ?? 1;
    const backoffLimit: number = job.spec?.backoffLimit ?? 6;
    const startTime = parseTime(job.status?.startTime) ?? now;
    const deadline = job.spec?.activeDeadlineSeconds;

    /** The Job's pods as stored now (the ones just deleted included), that are terminating. */
    const terminatingPods = () =>
      pods.filter((p) => {
        const live = store.find(PODS, ns, p.metadata.name);
        return live !== undefined && live.metadata.uid === p.metadata.uid && isPodTerminating(live);
      });
    let conditions: KubeObject[] = job.status?.conditions ?? [];
    let finished: 'Complete' | 'Failed' | undefined;
    /** Stop the active pods; the terminal condition follows once none is terminating (now, or on a later sync). */
    const conclude = (target: 'FailureTarget' | 'SuccessCriteriaMet', reason: string, message: string) => {
      for (const p of active) if (store.find(PODS, ns, p.metadata.name)) store.delete(PODS, ns, p.metadata.name);
      active = [];
      const terminal = target === 'FailureTarget' ? 'Failed' : 'Complete';
      if (condition(job, target)?.status !== 'True') {
        conditions = setCondition(conditions, { type: target, status: 'True', reason, message }, now, {
          withUpdateTime: true,
        });
      }
      if (terminatingPods().length > 0) return;
      conditions = setCondition(conditions, { type: terminal, status: 'True', reason, message }, now, {
        withUpdateTime: true,
      });
      if (terminal === 'Failed') events.record(job, 'Warning', reason, message, { component: 'job-controller' });
      else events.record(job, 'Normal', 'Completed', 'Job completed', { component: 'job-controller' });
      finished = terminal;
    };
    const target = ['FailureTarget', 'SuccessCriteriaMet']
      .map((type) => condition(job, type))
      .find((c) => c?.status === 'True');

    if (target) {
      // Decided already: waiting for the last pods to terminate.
      conclude(target.type, target.reason, target.message);
    } else if (deadline !== undefined && now >= startTime + deadline * 1000) {
      conclude('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline');
    } else if (failed > backoffLimit) {
      conclude('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else if (succeeded >= completions) {
      conclude('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
    } else {
      const want = Math.min(parallelism, completions - succeeded) - active.length;
      if (want > 0) {
        // After failures, wait 10s * 2^(failures-1) from the last one before starting a replacement.
        const lastFailure = failedPods.reduce((m, p) => Math.max(m, finishedAt(p) ?? 0), 0);
        const delay =
          failedPods.length > 0 ? Math.min(JOB_BACKOFF_MS * 2 ** (failedPods.length - 1), JOB_BACKOFF_MAX_MS) : 0;
        const wait = lastFailure + delay - now;
        if (wait > 0) this.queue.addAfter(k, wait);
        else {
          for (let i = 0; i < want; i++) {
            const pod = createPodWithGeneratedName(this.ctx, job, `${name}-`, (podName) =>
              podFromTemplate(job, job.spec.template, podName, {
                'batch.kubernetes.io/controller-uid': job.metadata.uid,
                'batch.kubernetes.io/job-name': name,
                'controller-uid': job.metadata.uid,
                'job-name': name,
              }),
            );
            events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, {
              component: 'job-controller',
            });
            active.push(pod);
          }
        }
      }
      if (deadline !== undefined) this.queue.addAfter(k, startTime + deadline * 1000 - now);
    }
    const terminating = terminatingPods().length;

    const status: KubeObject = {
      ...(conditions.length ? { conditions } : {}),
      startTime: timestamp(startTime),
      ...(finished === 'Complete' ? { completionTime: timestamp(now) } : {}),
      ...(active.length ? { active: active.length } : {}),
      ...(succeeded ? { succeeded } : {}),
      ...(failed ? { failed } : {}),
      ready: active.filter(isPodReady).length,
      terminating,
      uncountedTerminatedPods: {},
    };
    if (JSON.stringify(job.status ?? {}) === JSON.stringify(status)) return;
    writeStatus(store, JOBS, job, status, MANAGER);
  }
}

function finishedAt(pod: KubeObject): number | undefined {
  let latest: number | undefined;
  for (const c of pod.status?.containerStatuses ?? []) {
    const t = parseTime(c.state?.terminated?.finishedAt);
    if (t !== undefined && (latest === undefined || t > latest)) latest = t;
  }
  return latest;
}
