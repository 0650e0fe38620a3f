/**
 * Kubernetes Jobs for databases: a Job made from a CronJob's template (what `kubectl create job
 * --from=cronjob/x` does) or given whole, run to its end. Each pod's log goes to the step log when the pod
 * ends; a failed Job fails with its reason (BackoffLimitExceeded, DeadlineExceeded), the pod's own reason
 * (ImagePullBackOff, OOMKilled, Error with its exit code) and the last lines of its log. A pod that cannot
 * pull its image fails the wait at once: a real Job would wait for it forever.
 */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { importClientNode } from '../kube/config';
import { isNotFound } from '../kube/errors';
import type { KubeObject } from '../kube/types';
import type { Clock } from '../runtime/port';

export interface Job extends KubeObject {
  spec?: Record<string, any>;
  status?: {
    succeeded?: number;
    failed?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

interface Pod extends KubeObject {
  status?: {
    phase?: string;
    containerStatuses?: Array<{
      name: string;
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { reason?: string; exitCode?: number; message?: string };
      };
    }>;
  };
}

export interface JobContext {
  client: KubeClient;
  namespace: string;
  clock: Clock;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  log: (line: string) => void;
}

/** A pod's log text (the API answers text, not JSON, so through client-node's CoreV1Api). */
async function podLog(client: KubeClient, namespace: string, name: string, container: string | undefined) {
  const { CoreV1Api } = await importClientNode();
  const api = client.config.makeApiClient(CoreV1Api);
  return String(await api.readNamespacedPodLog({ name, namespace, ...(container ? { container } : {}) }));
}

/** Pod failures that never heal by waiting. */
const STUCK = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError']);
const TAIL = 10;

/** The Job `kubectl create job <name> --from=cronjob/<cronjob>` would create. */
export async function jobFromCronJob(
  client: KubeClient,
  namespace: string,
  cronjob: string,
  name: string,
): Promise<Job> {
  const source = await client
    .get<KubeObject & { spec?: { jobTemplate?: { metadata?: KubeObject['metadata']; spec?: unknown } } }>('CronJob', {
      namespace,
      name: cronjob,
    })
    .catch((error: unknown) => {
      if (isNotFound(error)) throw new UserError(`CronJob "${cronjob}" not found in namespace "${namespace}"`);
      throw error;
    });
  const template = source.spec?.jobTemplate ?? {};
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: name.slice(0, 63).replace(/-+$/, ''),
      namespace,
      labels: { ...(template.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': 'deploy-actions' },
      annotations: { ...(template.metadata?.annotations ?? {}), 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: cronjob, uid: source.metadata?.uid ?? '', controller: true },
      ],
    },
    spec: template.spec as Record<string, any>,
  };
}

function condition(job: Job, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Creates the Job; a name taken already (two runs in one second) gets `-2`, `-3`, ... */
async function createUnique(client: KubeClient, job: Job): Promise<Job> {
  const base = job.metadata!.name!;
  for (let attempt = 1; ; attempt++) {
    const name = attempt === 1 ? base : `${base.slice(0, 60)}-${attempt}`;
    try {
      return await client.create<Job>('Job', { ...job, metadata: { ...job.metadata, name } });
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt >= 20) throw error;
    }
  }
}

/** Creates `job`, waits for it to complete, and returns its name; throws a UserError saying why it failed. */
export async function runJob(job: Job, context: JobContext): Promise<string> {
  const { client, namespace } = context;
  const created = await createUnique(client, { ...job, metadata: { ...job.metadata, namespace } });
  const name = created.metadata!.name!;
  context.log(`Created job/${name}`);
  const logged = new Set<string>();
  const tails = new Map<string, string[]>();
  const printLogs = async (pod: Pod) => {
    const podName = pod.metadata!.name!;
    if (logged.has(podName)) return;
    logged.add(podName);
    const container = pod.status?.containerStatuses?.[0]?.name;
    const text = await podLog(client, namespace, podName, container).catch(() => '');
    const lines = String(text ?? '')
      .split('\n')
      .filter((line) => line !== '');
    for (const line of lines) context.log(`[${podName}] ${line}`);
    tails.set(podName, lines.slice(-TAIL));
  };
  const podProblem = (pod: Pod): string | undefined => {
    for (const status of pod.status?.containerStatuses ?? []) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && STUCK.has(waiting.reason))
        return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
      const terminated = status.state?.terminated;
      if (terminated && terminated.exitCode !== 0)
        return `${terminated.reason ?? 'Error'} (exit code ${terminated.exitCode})${terminated.message ? `: ${terminated.message}` : ''}`;
    }
    return undefined;
  };
  let podsVersion: string | undefined;
  const pods = async () => {
    const list = await client.list<Pod>('Pod', { namespace, labelSelector: `job-name=${name}` });
    podsVersion = list.metadata?.resourceVersion;
    return list.items;
  };

  const stop = new AbortController();
  const onAbort = () => stop.abort(context.signal?.reason);
  context.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = new AbortController();
  let timedOut = false;
  context.clock.sleep(context.timeoutMs, timer.signal).then(
    () => {
      timedOut = true;
      stop.abort(new Error('timeout'));
    },
    () => {},
  );
  const failure = async (why: string): Promise<never> => {
    const all = await pods().catch(() => [] as Pod[]);
    for (const pod of all)
      if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') await printLogs(pod);
    const problems = [...new Set(all.map(podProblem).filter((p): p is string => p !== undefined))];
    const tail = [...tails.values()].at(-1) ?? [];
    throw new UserError(
      `job/${name} ${why}${problems.length > 0 ? `; pod: ${problems.join('; ')}` : ''}${tail.length > 0 ? `\nLast log lines:\n  ${tail.join('\n  ')}` : ''}`,
    );
  };
  try {
    for (;;) {
      const current = await client.get<Job>('Job', { namespace, name });
      for (const pod of await pods()) {
        const phase = pod.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed') await printLogs(pod);
        const problem = podProblem(pod);
        if (problem && STUCK.has(problem.split(':')[0]!)) await failure(`cannot start`);
      }
      const failed = condition(current, 'Failed');
      if (failed) await failure(`failed: ${failed.reason ?? ''}${failed.message ? ` (${failed.message})` : ''}`);
      if (condition(current, 'Complete')) return name;
      // Anything about the Job or its pods changes: look again.
      const changed = new AbortController();
      const both = AbortSignal.any([stop.signal, changed.signal]);
      const watchOne = async (kind: 'Job' | 'Pod', selector: Record<string, string>) => {
        try {
          for await (const event of client.watch(kind, { namespace, ...selector }, both)) {
            if (event.type === 'MODIFIED' || event.type === 'ADDED' || event.type === 'DELETED') break;
          }
        } catch {
          // aborted, or the watch broke: the loop looks again either way
        }
        changed.abort();
      };
      await Promise.race([
        watchOne('Job', {
          fieldSelector: `metadata.name=${name}`,
          resourceVersion: current.metadata?.resourceVersion ?? '',
        }),
        watchOne('Pod', { labelSelector: `job-name=${name}`, resourceVersion: podsVersion ?? '' }),
      ]);
      changed.abort();
      if (stop.signal.aborted) {
        if (timedOut) await failure(`did not finish within ${Math.round(context.timeoutMs / 1000)}s`);
        throw stop.signal.reason;
      }
    }
  } finally {
    timer.abort();
    context.signal?.removeEventListener('abort', onAbort);
  }
}
