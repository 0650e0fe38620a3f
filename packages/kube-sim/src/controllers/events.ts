/**
 * Writes `kind: Event` objects as the kubelet and controllers do, folding repeats of the same (object, reason,
 * message) into one Event with a growing `count` and `lastTimestamp`, like the client-go event correlator.
 */
import type { Clock } from '@deploy-actions/core/clock';
import type { KubeObject, ObjectStore } from '../store';
import { EVENTS, timestamp } from './common';

export interface EventSource {
  component: string;
  host?: string;
}

export class EventRecorder {
  private readonly seen = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock,
  ) {}

  record(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
    fieldPath?: string,
  ): void {
    const ns = involved.metadata.namespace ?? 'default';
    const uid = involved.metadata.uid as string;
    const now = timestamp(this.clock.now());
    const dedupe = `${uid}\u0000${fieldPath ?? ''}\u0000${reason}\u0000${message}`;
    const existing = this.seen.get(dedupe);
    try {
      if (existing && this.store.find(EVENTS, ns, existing)) {
        this.store.modify(
          EVENTS,
          ns,
          existing,
          (ev) => {
            ev.count = (ev.count ?? 1) + 1;
            ev.lastTimestamp = now;
          },
          { fieldManager: source.component },
        );
        return;
      }
      const name = `${involved.metadata.name}.${(this.clock.now() * 1000 + this.seq++).toString(16)}`;
      this.store.create(
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace: ns },
          involvedObject: {
            apiVersion: involved.apiVersion,
            kind: involved.kind,
            name: involved.metadata.name,
            namespace: involved.metadata.namespace,
            uid,
            resourceVersion: involved.metadata.resourceVersion,
            ...(fieldPath ? { fieldPath } : {}),
          },
          reason,
          message,
          type,
          source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: source.component,
          reportingInstance: source.host ?? '',
        },
        { fieldManager: source.component },
      );
      this.seen.set(dedupe, name);
    } catch {
      // Events are best effort, as in Kubernetes (e.g. the namespace is being deleted).
    }
  }
}
