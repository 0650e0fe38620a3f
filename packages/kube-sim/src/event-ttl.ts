/**
 * Event expiry, as kube-apiserver's `--event-ttl` (default 1h): every write of an Event (create or update)
 * gives it a fresh lease of `ttlMs`, and an Event whose lease runs out is deleted (watchers see DELETED),
 * on the sim's clock. Without it, Events pile up without bound in long runs.
 */
import type { Clock } from '@deploy-actions/core/clock';
import type { ObjectStore } from './store';

export const DEFAULT_EVENT_TTL_MS = 3_600_000;
const EVENTS = 'v1/events';

/** Start expiring Events; returns the function that stops it (pending expiries are dropped). */
export function expireEvents(store: ObjectStore, clock: Clock, ttlMs = DEFAULT_EVENT_TTL_MS): () => void {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs))
    throw new RangeError(`the event TTL must be a positive number of ms, got ${ttlMs}`);
  const abort = new AbortController();
  // Key → expiry time. Every lease is `ttlMs` long and the clock only moves forward, so re-inserting a key on
  // each write keeps the map ordered by expiry: the first entry is always the next to go.
  const leases = new Map<string, number>();
  let timerAt: number | undefined;

  const schedule = () => {
    // One timer at a time, for the earliest lease; a later write never makes a lease earlier. Checked before
    // looking at the first lease: that walks over the entries deleted at the front of the Map (every rewrite
    // of an Event deletes and re-inserts its key), too slow to do on every write.
    if (timerAt !== undefined) return;
    const first = leases.values().next();
    if (first.done || abort.signal.aborted) return;
    timerAt = first.value;
    clock.sleep(Math.max(0, first.value - clock.now()), abort.signal).then(expire, () => {});
  };

  const expire = () => {
    timerAt = undefined;
    const now = clock.now();
    for (const [key, at] of leases) {
      if (at > now) break;
      leases.delete(key);
      const slash = key.indexOf('/');
      const [ns, name] = [key.slice(0, slash), key.slice(slash + 1)];
      try {
        store.delete(EVENTS, ns, name);
      } catch {
        // Deleted meanwhile by someone else: nothing left to expire.
      }
    }
    schedule();
  };

  const stop = store.watch(EVENTS, undefined, undefined, (e) => {
    const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
    leases.delete(key);
    if (e.type === 'DELETED') return;
    leases.set(key, clock.now() + ttlMs);
    schedule();
  });
  return () => {
    abort.abort();
    stop();
    leases.clear();
  };
}
