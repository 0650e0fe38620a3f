/**
 * Tells when the process has gone quiet: no async callback (socket read,
 * connect, fs/dns completion, nextTick, child process event) has run for a few
 * event-loop turns and no I/O request is still in flight. A virtual clock only
 * jumps to its next timer then, so an action and an in-process server talking
 * over real loopback sockets see the same order of events on every run.
 */
import { createHook } from 'node:async_hooks';

/** Resource types that stand for work still in flight until they are destroyed. */
const IN_FLIGHT = new Set([
  'TCPCONNECTWRAP',
  'PIPECONNECTWRAP',
  'GETADDRINFOREQWRAP',
  'GETNAMEINFOREQWRAP',
  'QUERYWRAP',
  'FSREQCALLBACK',
  'FSREQPROMISE',
  'FILEHANDLECLOSEREQ',
  'WRITEWRAP',
  'SHUTDOWNWRAP',
  'PROCESSWRAP',
]);

/**
 * In-flight work older than this (real time) no longer holds the clock back: a
 * long-lived child (a server started mid-test) would otherwise stop time forever.
 */
const STALE_AFTER_MS = 10_000;

let users = 0;
let activity = 0;
/** Promises passed to holdVirtualTime that have not settled yet. */
let held = 0;
const inFlight = new Map<number, number>();
const ownIds = new Set<number>();
// Promise reactions are bookkeeping, not I/O: the hook sees them but must not count them.
const promiseIds = new Set<number>();
let creatingOwn = false;

const hook = createHook({
  init(asyncId, type) {
    if (type === 'PROMISE') promiseIds.add(asyncId);
    else if (creatingOwn) ownIds.add(asyncId);
    else if (IN_FLIGHT.has(type)) inFlight.set(asyncId, performance.now());
  },
  before(asyncId) {
    if (promiseIds.delete(asyncId) || ownIds.has(asyncId)) return;
    activity++;
  },
  destroy(asyncId) {
    promiseIds.delete(asyncId);
    ownIds.delete(asyncId);
    if (inFlight.delete(asyncId)) activity++;
  },
});

/** Start watching; pair with the returned release. Watching costs a little on every async call. */
export function watchActivity(): () => void {
  if (users++ === 0) hook.enable();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) {
      hook.disable();
      inFlight.clear();
      ownIds.clear();
      promiseIds.clear();
    }
  };
}

/** One event-loop turn (after microtasks and the poll phase) that is not counted as activity. */
export function quietTurn(): Promise<void> {
  return new Promise((resolve) => {
    creatingOwn = true;
    try {
      setImmediate(resolve);
    } finally {
      creatingOwn = false;
    }
  });
}

/**
 * Resolves once `turns` consecutive event-loop turns passed with no activity and
 * nothing in flight. Without an active watch it waits one turn, which settles
 * pure promise chains.
 */
export async function waitForQuiet(turns = 3): Promise<void> {
  if (users === 0) {
    await quietTurn();
    return;
  }
  let quiet = 0;
  while (quiet < turns) {
    const before = activity;
    await quietTurn();
    const busy = pendingWork();
    if (activity === before && !busy) quiet++;
    else quiet = 0;
    if (busy) await realPause();
  }
}

/**
 * Keeps a virtual clock from jumping while `work` settles: for waits the activity hook cannot see, such as a
 * lazy `import()` that a test runner serves over its worker channel (an auto-advancing clock would otherwise
 * find the process quiet and jump to the step's timeout). Free when no clock watches.
 */
export async function holdVirtualTime<T>(work: Promise<T>): Promise<T> {
  held++;
  try {
    return await work;
  } finally {
    held--;
    activity++;
  }
}

function pendingWork(): boolean {
  if (held > 0) return true;
  const now = performance.now();
  for (const started of inFlight.values()) if (now - started < STALE_AFTER_MS) return true;
  return false;
}

/** While a request is in flight on the thread pool, yield for real instead of spinning. */
function realPause(): Promise<void> {
  return new Promise((resolve) => {
    creatingOwn = true;
    try {
      setTimeout(resolve, 1);
    } finally {
      creatingOwn = false;
    }
  });
}
