/**
 * Kubernetes Jobs for databases: a Job made from a CronJob's template (what `kubectl create job
 * --from=cronjob/x` does) or given whole, run to its end. Each pod's log is followed (`follow=true`) from
 * the moment its container starts, so its lines reach the step log as the pod writes them; a failed Job fails with its reason (BackoffLimitExceeded, DeadlineExceeded), the pod's own reason
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
        running?: { startedAt?: string };
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
  /** Where to say that the Job was left running (a warning); `log` when not given. */
  warn?: (line: string) => void;
}

/**
 * Follows a container's log (`follow=true`), calling `onLine` for each line as it arrives, until the
 * container ends (the server closes the stream) or `signal` aborts. Through client-node's fetch so that the
 * kubeconfig's TLS and credentials apply; the body is read as a stream, not buffered.
 */
async function followPodLog(
  client: KubeClient,
  where: { namespace: string; pod: string; container: string | undefined },
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<void> {
  const lib = await importClientNode();
  const url = new URL(
    `${client.server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(where.namespace)}/pods/${encodeURIComponent(where.pod)}/log`,
  );
  url.searchParams.set('follow', 'true');
  if (where.container) url.searchParams.set('container', where.container);
  const request = new lib.RequestContext(url.toString(), 'GET' as never);
  await client.config.applySecurityAuthentication(request);
  request.setSignal(signal);
  const response = await new lib.IsomorphicFetchHttpLibrary().send(request).toPromise();
  if (response.httpStatusCode >= 400) {
    await response.body.text().catch(() => '');
    throw new Error(`log of pod ${where.pod}: HTTP ${response.httpStatusCode}`);
  }
  const body = (await response.body.stream?.()) as ReadableStream<Uint8Array> | undefined;
  if (!body) return;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  }
  pending += decoder.decode();
  if (pending !== '') onLine(pending);
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
  // Each pod's log is followed once its container has started; the lines reach the step log live.
  const following = new Map<string, Promise<void>>();
  const stopFollowing = new AbortController();
  const tails = new Map<string, string[]>();
  const started = (pod: Pod) => {
    const state = pod.status?.containerStatuses?.[0]?.state;
    const phase = pod.status?.phase;
    return Boolean(state?.running || state?.terminated || phase === 'Succeeded' || phase === 'Failed');
  };
  const follow = (pod: Pod) => {
    const podName = pod.metadata!.name!;
    if (following.has(podName) || !started(pod)) return;
    const tail: string[] = [];
    tails.set(podName, tail);
    const where = { namespace, pod: podName, container: pod.status?.containerStatuses?.[0]?.name };
    const done = followPodLog(client, where, stopFollowing.signal, (line) => {
      context.log(`[${podName}] ${line}`);
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
    }).catch(() => {
      // Not readable yet (or the stream broke before any line): the next look at the pods tries again.
      if (tail.length === 0 && !stopFollowing.signal.aborted) following.delete(podName);
    });
    following.set(podName, done);
  };
  /** Waits for the logs of the pods that have ended (their streams close), stops following the others. */
  const finishLogs = async (all: Pod[]) => {
    for (const pod of all) follow(pod);
    const ended = new Set(
      all
        .filter((pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')
        .map((pod) => pod.metadata!.name!),
    );
    await Promise.all([...following].filter(([podName]) => ended.has(podName)).map(([, done]) => done));
    stopFollowing.abort();
    await Promise.all(following.values());
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
    await finishLogs(all);
    const problems = [...new Set(all.map(podProblem).filter((p): p is string => p !== undefined))];
    const tail = [...tails.values()].at(-1) ?? [];
    throw new UserError(
      `job/${name} ${why}${problems.length > 0 ? `; pod: ${problems.join('; ')}` : ''}${tail.length > 0 ? `\nLast log lines:\n  ${tail.join('\n  ')}` : ''}`,
    );
  };
  try {
    for (;;) {
      const current = await client.get<Job>('Job', { namespace, name });
      const all = await pods();
      for (const pod of all) {
        follow(pod);
        const problem = podProblem(pod);
        if (problem && STUCK.has(problem.split(':')[0]!)) await failure(`cannot start`);
      }
      const failed = condition(current, 'Failed');
      if (failed) await failure(`failed: ${failed.reason ?? ''}${failed.message ? ` (${failed.message})` : ''}`);
      if (condition(current, 'Complete')) {
        await finishLogs(all);
        return name;
      }
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
        // The step stops waiting (cancelled, or its timeout passed); the Job goes on: say so, and how to stop it.
        (context.warn ?? context.log)(
          `job/${name} in namespace ${namespace} was left running when the step stopped waiting; it may still finish. To stop it: kubectl delete job ${name} -n ${namespace}`,
        );
        throw stop.signal.reason;
      }
    }
  } finally {
    stopFollowing.abort();
    timer.abort();
    context.signal?.removeEventListener('abort', onAbort);
  }
}
