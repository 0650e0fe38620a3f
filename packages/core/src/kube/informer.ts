/**
 * A local cache of the objects a list selects, kept current by a watch, as
 * client-go's informers do: one list, then a watch from the list's
 * resourceVersion. A watch the server ends is resumed from the last
 * resourceVersion seen; an ERROR event, 410 Gone (history compacted) or a
 * failed connection starts over with a list. Reads cost no request, so a caller that looks
 * every 10 s for an hour makes one list and the watches the server's
 * timeouts force, not 360 lists.
 */
import { abortReason } from '../clock/sleep';
import { backoffMs } from '../retry';
import type { Clock } from '../runtime/port';
import type { KubeClient } from './client';
import { KubeApiError } from './errors';
import { followWatch } from './follow';
import type { KnownKind, ResourceType } from './resources';
import type { KubeObject } from './types';

export interface InformerOptions {
  clock: Clock;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** After the cache took in a list or a change (tests wait on it). */
  onChange?: () => void;
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly stop = new AbortController();
  private synced = false;
  /** The last failure to list or watch, until a list succeeds again. */
  private failure: unknown;
  private waiters = new Set<() => void>();
  /** Settles when the list-and-watch loop has ended after close(). */
  private readonly loop: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    private readonly kind: KnownKind | ResourceType,
    private readonly options: InformerOptions,
  ) {
    this.loop = this.run();
  }

  /**
   * The objects as last seen, after the first list. While the cache cannot
   * follow the server (the list or watch failing after the client's retries)
   * this throws that failure instead of answering with objects that may be stale.
   */
  async items(signal?: AbortSignal): Promise<T[]> {
    if (this.stop.signal.aborted) throw new Error('informer closed');
    while (!this.synced && this.failure === undefined) await this.changed(signal);
    if (this.failure !== undefined) throw this.failure;
    return [...this.objects.values()];
  }

  /** Ends the watch; resolves once it is closed. */
  async close(): Promise<void> {
    this.stop.abort();
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.options;
    const selection = { namespace, labelSelector, fieldSelector };
    const signal = this.stop.signal;
    // Undefined: (re)list before watching.
    let resourceVersion: string | undefined;
    for (let failures = 0; !signal.aborted; ) {
      try {
        if (resourceVersion === undefined) {
          const list = await untilAborted(this.client.list<T>(this.kind, selection), signal);
          this.objects.clear();
          for (const item of list.items) this.objects.set(keyOf(item), item);
          resourceVersion = list.metadata?.resourceVersion ?? '';
          this.synced = true;
          this.failure = undefined;
          this.changedNow();
        }
        const end = await followWatch<T>(this.client, this.kind, selection, resourceVersion, signal, (event) => {
          if (event.type === 'DELETED') this.objects.delete(keyOf(event.object));
          else this.objects.set(keyOf(event.object), event.object);
          this.changedNow();
          return false;
        });
        // gone: list again; empty: back off, then watch again from where it was (a server that closes at once).
        resourceVersion = end.reason === 'gone' ? undefined : end.resourceVersion;
        failures = end.reason === 'gone' ? 0 : end.sawEvents ? 1 : failures + 1;
      } catch (error) {
        if (signal.aborted) break;
        // As waitForRollout: a failed list or watch starts over with a list, whose success clears the failure.
        resourceVersion = undefined;
        if (error instanceof KubeApiError && error.code === 410) continue;
        this.failure = error;
        this.changedNow();
        failures++;
      }
      if (failures > 0 && !signal.aborted) {
        await this.options.clock.sleep(backoffMs(failures, { baseMs: 200, maxMs: 5_000 }), signal).catch(() => {});
      }
    }
  }

  private changedNow(): void {
    this.wake();
    this.options.onChange?.();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const resolve of waiters) resolve();
  }

  private changed(signal?: AbortSignal): Promise<void> {
    if (this.stop.signal.aborted) return Promise.reject(new Error('informer closed'));
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(done);
        reject(abortReason(signal!));
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A list in flight cannot be aborted (retries and all): close() must not wait for it. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
