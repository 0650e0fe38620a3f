/**
 * Following a watch from a resourceVersion, as client-go's reflector does: a
 * watch the server ends cleanly after delivering events is resumed from the
 * last resourceVersion seen (bookmarks included). The caller starts over with
 * a fresh GET or list when this ends: on an ERROR event (410 Gone, history
 * compacted: `gone`) or a watch that ends before any event (`empty`, possibly
 * a server that closes at once: back off first). Shared by waitForRollout and
 * the Informer so both resume the same way.
 */
import type { KubeClient, WatchEvent, WatchOptions } from './client';
import type { KnownKind, ResourceType } from './resources';
import type { KubeObject } from './types';

export interface WatchEnd {
  /** `gone`: an ERROR event; `empty`: a watch ended before any event; `aborted`: the signal. */
  reason: 'gone' | 'empty' | 'aborted';
  /** Whether any watch of this chain delivered an event (bookmarks and errors too) before it ended. */
  sawEvents: boolean;
  /** The last resourceVersion seen, to resume from. */
  resourceVersion: string | undefined;
}

export async function* followWatch<T extends KubeObject>(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  selection: Omit<WatchOptions, 'resourceVersion' | 'allowWatchBookmarks'>,
  resourceVersion: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>, WatchEnd> {
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
      if (event.type === 'ERROR') {
        sawEvents = true;
        return end('gone');
      }
      from = event.object.metadata?.resourceVersion ?? from;
      if (event.type !== 'BOOKMARK') yield event;
    }
    if (signal.aborted) return end('aborted');
    if (events === 0) return end('empty');
    sawEvents = true;
  }
}
