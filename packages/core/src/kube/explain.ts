/**
 * Why a rollout is stuck, in a few lines: the waiting or crashing containers
 * of the newest pods and the Warning events about them, as `kubectl describe`
 * would show. Failures then read "CrashLoopBackOff: exit code 1" instead of
 * only "exceeded its progress deadline".
 */
import type { KubeClient } from './client';
import type { Deployment, KubeObject } from './types';
import { matchLabelsSelector } from './workloads';

interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number; message?: string };
  };
  lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
}

interface Pod extends KubeObject {
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

interface Event extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string };
}

/** Reasons a container is not running that a user can act on (not the normal ContainerCreating). */
export const STUCK_REASONS: ReadonlySet<string> = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'InvalidImageName',
  'RunContainerError',
]);

/** Up to `limit` lines naming the pods of the Deployment's newest template that are not healthy, and why. */
export async function explainDeployment(client: KubeClient, deployment: Deployment, limit = 5): Promise<string[]> {
  const namespace = deployment.metadata?.namespace ?? '';
  const selector = matchLabelsSelector(deployment);
  const pods = await client.list<Pod>('Pod', { namespace, ...(selector ? { labelSelector: selector } : {}) });
  const lines: string[] = [];
  const troubled = new Set<string>();
  for (const pod of pods.items) {
    const name = pod.metadata?.name ?? '';
    for (const container of pod.status?.containerStatuses ?? []) {
      const waiting = container.state?.waiting;
      if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
        const last = container.lastState?.terminated;
        const exit = last ? `, last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}` : '';
        lines.push(
          `pod ${name}: container ${container.name} ${waiting.reason} (restarts ${container.restartCount ?? 0}${exit})${waiting.message ? `: ${waiting.message}` : ''}`,
        );
        troubled.add(name);
      }
    }
    const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
    if (scheduled?.status === 'False') {
      lines.push(
        `pod ${name}: not scheduled (${scheduled.reason ?? 'Unschedulable'})${scheduled.message ? `: ${scheduled.message}` : ''}`,
      );
      troubled.add(name);
    }
  }
  if (troubled.size > 0) {
    const events = await client.list<Event>('Event', { namespace });
    for (const event of events.items) {
      if (
        event.type !== 'Warning' ||
        event.involvedObject?.kind !== 'Pod' ||
        !troubled.has(event.involvedObject.name ?? '')
      )
        continue;
      lines.push(
        `event ${event.reason} on pod ${event.involvedObject.name}${event.count && event.count > 1 ? ` (x${event.count})` : ''}: ${event.message}`,
      );
    }
  }
  return lines.length > limit ? [...lines.slice(0, limit), `... and ${lines.length - limit} more`] : lines;
}
