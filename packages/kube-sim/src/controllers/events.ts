/**
 * Writes `kind: Event` objects as the kubelet and controllers do, with client-go's event correlator:
 * - a repeat of the same event (object, reason, message, source) updates the one Event: `count` + 1 and a new
 *   `lastTimestamp` (a crash-looping pod has one BackOff Event, not thousands);
 * - more than 10 events of one object and reason with different messages within 10 minutes are combined:
 *   further ones update a single Event whose message is `(combined from similar events): <latest>`;
 * - an Event that expired (the API server's TTL) while the recorder still remembers it is created again under
 *   the same name with the count going on, as client-go does when its PATCH gets 404.
 * Both caches keep the 4 096 most recently used keys, as client-go's LRU caches do.
 */
import type { Clock } from '@deploy-actions/core/clock';
import { ApiError } from '../errors';
import type { KubeObject, ObjectStore } from '../store';
import { EVENTS, timestamp } from './common';

export interface EventSource {
  component: string;
  host?: string;
}

const CACHE_ENTRIES = 4096;
/** Distinct messages of one object and reason before they are combined, and the window that counts them. */
const AGGREGATE_MAX_EVENTS = 10;
const AGGREGATE_INTERVAL_MS = 600_000;
const COMBINED_PREFIX = '(combined from similar events): ';

/**
 * A Map that forgets its least recently used key beyond `limit` entries. The recency order is a linked list:
 * re-inserting a key into a Map on every use (and evicting its first key) left deleted entries at the front of
 * V8's hash table that `keys().next()` walks over each time, which made two thirds of the cost of an Event.
 */
interface LruNode<V> {
  key: string;
  value: V;
  newer: LruNode<V> | undefined;
  older: LruNode<V> | undefined;
}

class Lru<V> {
  private readonly map = new Map<string, LruNode<V>>();
  private newest: LruNode<V> | undefined;
  private oldest: LruNode<V> | undefined;
  constructor(private readonly limit: number) {}
  get(key: string): V | undefined {
    const node = this.map.get(key);
    if (node === undefined) return undefined;
    this.unlink(node);
    this.pushNewest(node);
    return node.value;
  }
  set(key: string, value: V): void {
    const node = this.map.get(key);
    if (node !== undefined) {
      node.value = value;
      this.unlink(node);
      this.pushNewest(node);
      return;
    }
    const added: LruNode<V> = { key, value, newer: undefined, older: undefined };
    this.map.set(key, added);
    this.pushNewest(added);
    if (this.map.size > this.limit && this.oldest) {
      const gone = this.oldest;
      this.unlink(gone);
      this.map.delete(gone.key);
    }
  }
  private unlink(node: LruNode<V>): void {
    if (node.newer) node.newer.older = node.older;
    else this.newest = node.older;
    if (node.older) node.older.newer = node.newer;
    else this.oldest = node.newer;
    node.newer = node.older = undefined;
  }
  private pushNewest(node: LruNode<V>): void {
    node.older = this.newest;
    if (this.newest) this.newest.newer = node;
    else this.oldest = node;
    this.newest = node;
  }
}

interface Logged {
  name: string;
  count: number;
  firstTimestamp: string;
}

interface Similar {
  messages: Set<string>;
  lastMs: number;
}

export class EventRecorder {
  /** Full key (with message) → the Event that counts it. */
  private readonly logged = new Lru<Logged>(CACHE_ENTRIES);
  /** Key without message → the distinct messages seen lately. */
  private readonly similar = new Lru<Similar>(CACHE_ENTRIES);
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
    const nowMs = this.clock.now();
    const now = timestamp(nowMs);
    const similarKey = [
      source.component,
      source.host ?? '',
      involved.kind,
      ns,
      involved.metadata.name,
      uid,
      involved.apiVersion,
      type,
      reason,
      fieldPath ?? '',
    ].join('\u0000');
    let key = `${similarKey}\u0000${message}`;
    let text = message;
    let record = this.similar.get(similarKey);
    if (!record || nowMs - record.lastMs > AGGREGATE_INTERVAL_MS) {
      record = { messages: new Set(), lastMs: nowMs };
      this.similar.set(similarKey, record);
    }
    record.lastMs = nowMs;
    record.messages.add(message);
    if (record.messages.size >= AGGREGATE_MAX_EVENTS) {
      // client-go forgets one message so the set stays bounded, and counts this one on the combined Event.
      record.messages.delete(record.messages.values().next().value!);
      key = similarKey;
      text = COMBINED_PREFIX + message;
    }
    try {
      const seen = this.logged.get(key);
      if (seen) {
        seen.count++;
        const updated = this.bump(ns, seen, text, now, source);
        if (updated) return;
      }
      const logged: Logged = seen ?? {
        name: `${involved.metadata.name}.${(nowMs * 1000 + this.seq++).toString(16)}`,
        count: 1,
        firstTimestamp: now,
      };
      this.store.create(
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: logged.name, namespace: ns },
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
          message: text,
          type,
          source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
          firstTimestamp: logged.firstTimestamp,
          lastTimestamp: now,
          count: logged.count,
          reportingComponent: source.component,
          reportingInstance: source.host ?? '',
        },
        { fieldManager: source.component },
      );
      this.logged.set(key, logged);
    } catch {
      // Events are best effort, as in Kubernetes (e.g. the namespace is being deleted).
    }
  }

  /** Count a repeat on the stored Event; false when it is gone (expired or deleted). */
  private bump(ns: string, seen: Logged, message: string, now: string, source: EventSource): boolean {
    try {
      this.store.modify(
        EVENTS,
        ns,
        seen.name,
        (ev) => {
          ev.count = seen.count;
          ev.lastTimestamp = now;
          ev.message = message;
        },
        { fieldManager: source.component },
      );
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return false;
      throw error;
    }
  }
}
