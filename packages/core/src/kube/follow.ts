/**
 * Following a watch from a resourceVersion, as client-go's reflector does: a
 * watch the server ends cleanly after delivering events is resumed from the
 * last resourceVersion seen (bookmarks included). It ends, for the caller to
 * start over with a fresh GET or list, on an ERROR event (410 Gone, history
 * compacted: `gone`) or a watch that ends before any event (`empty`, possibly
 * a server that closes at once: back off first); or when `onEvent` returns
 * true (`stopped`). The open watch is always closed on the way out, a throw
 * from `onEvent` included. Shared by waitForRollout and the Informer.
 */
import type { KubeClient, WatchEvent, WatchOptions } from './client';
import type { KnownKind, ResourceType } from './resources';
import type { KubeObject } from './types';

export interface WatchEnd {
  reason: 'gone' | 'empty' | 'aborted' | 'stopped';
  /** Whether any watch of this chain delivered an event (bookmarks and errors too) before it ended. */
  sawEvents: boolean;
  /** The last resourceVersion seen, to resume from. */
  resourceVersion: string | undefined;
}

export async function followWatch<T extends KubeObject>(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  selection: Omit<WatchOptions, 'resourceVersion' | 'allowWatchBookmarks'>,
  resourceVersion: string | undefined,
  signal: AbortSignal,
  /** Each ADDED, MODIFIED or DELETED event; return true to stop following. */
  onEvent: (event: WatchEvent<T>) => boolean | undefined,
): Promise<WatchEnd> {
  let from = resourceVersion;
  let sawEvents = false;
  const end = (reason: WatchEnd['reason']): WatchEnd => ({ reason, sawEvents, resourceVersion: from });
  for (;;) {
    let events = 0;
    for await (const event of client.watch<T>(
      kind,
      {
        ...selection,
        ...(from === undefined || from === '' ? {} : { resourceVersion: from }),
        allowWatchBookmarks: true,
      },
      signal,
    )) {
      events++;
      sawEvents = true;
      if (event.type === 'ERROR') return end('gone');
      from = event.object.metadata?.resourceVersion ?? from;
      if (event.type !== 'BOOKMARK' && onEvent(event)) return end('stopped');
    }
    if (signal.aborted) return end('aborted');
    if (events === 0) return end('empty');
  }
}
