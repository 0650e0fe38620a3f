/**
 * The life of one container as a lazy sequence of steps in time, computed from its behaviour alone: when it
 * starts, turns Ready, stops being Ready, exits, waits in CrashLoopBackOff (10s, 20s, 40s ... capped at 5m, the
 * kubelet's back-off, with the first restart immediate) or fails to pull its image. The kubelet walks it on the
 * sim's clock; tests read it directly.
 */
import type { ResolvedBehaviour } from '../behaviour';

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string } };

export interface ContainerSnapshot {
  state: ContainerState;
  lastState: ContainerState | Record<string, never>;
  ready: boolean;
  started: boolean;
  restartCount: number;
}

export interface TimelineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Step {
  /** Absolute time (ms since epoch) at which this snapshot holds. */
  at: number;
  snapshot: ContainerSnapshot;
  events: TimelineEvent[];
  /** No more steps follow. */
  done?: boolean;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
/** How long ErrImagePull shows before the kubelet turns it into ImagePullBackOff. */
const PULL_ERROR_MS = 1_000;
/** When a never-ready container's failing readiness probe is first reported. */
const FIRST_PROBE_FAILURE_MS = 10_000;

/** The wait before restart number `n` (1-based): 0 for the first, then 10s, 20s, 40s ... capped at 5m. */
export function restartDelay(n: number): number {
  if (n <= 1) return 0;
  return Math.min(BACKOFF_INITIAL_MS * 2 ** (n - 2), BACKOFF_MAX_MS);
}

/** The wait before image pull retry number `n` (1-based): 10s, 20s ... capped at 5m. */
export function pullRetryDelay(n: number): number {
  return Math.min(BACKOFF_INITIAL_MS * 2 ** (n - 1), BACKOFF_MAX_MS);
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function backoffText(ms: number): string {
  return ms >= 60_000
    ? `${Math.floor(ms / 60_000)}m${ms % 60_000 ? `${(ms % 60_000) / 1000}s` : '0s'}`
    : `${ms / 1000}s`;
}

export interface TimelineInput {
  container: string;
  image: string;
  podName: string;
  namespace: string;
  behaviour: ResolvedBehaviour;
  restartPolicy: RestartPolicy;
  /** When the pod was scheduled (the container's first start). */
  start: number;
}

export function* containerTimeline(input: TimelineInput): Generator<Step, void, undefined> {
  const { container, image, behaviour: b, start } = input;
  const pod = `${input.podName}_${input.namespace}`;

  if (b.pullError !== undefined) {
    let at = start;
    for (let attempt = 1; ; attempt++) {
      yield {
        at,
        snapshot: {
          state: {
            waiting: { reason: 'ErrImagePull', message: `failed to pull and unpack image "${image}": ${b.pullError}` },
          },
          lastState: {},
          ready: false,
          started: false,
          restartCount: 0,
        },
        events: [
          { type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"` },
          {
            type: 'Warning',
            reason: 'Failed',
            message: `Failed to pull image "${image}": failed to pull and unpack image "${image}": ${b.pullError}`,
          },
          { type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' },
        ],
      };
      at += PULL_ERROR_MS;
      yield {
        at,
        snapshot: {
          state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } },
          lastState: {},
          ready: false,
          started: false,
          restartCount: 0,
        },
        events: [
          { type: 'Normal', reason: 'BackOff', message: `Back-off pulling image "${image}"` },
          { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' },
        ],
      };
      at += pullRetryDelay(attempt);
    }
  }

  let restartCount = 0;
  let lastState: ContainerSnapshot['lastState'] = {};
  let runStart = start;
  for (;;) {
    const running: ContainerState = { running: { startedAt: iso(runStart) } };
    const startEvents: TimelineEvent[] =
      restartCount === 0
        ? [
            { type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"` },
            {
              type: 'Normal',
              reason: 'Pulled',
              message: `Successfully pulled image "${image}" in 0s (0s including waiting)`,
            },
          ]
        : [{ type: 'Normal', reason: 'Pulled', message: `Container image "${image}" already present on machine` }];
    startEvents.push(
      { type: 'Normal', reason: 'Created', message: `Created container: ${container}` },
      { type: 'Normal', reason: 'Started', message: `Started container ${container}` },
    );

    // Moments within this run, relative to its start.
    const exitAt = b.exitAfterMs;
    const readyAt = b.readyAfterMs;
    const unreadyAt = b.notReadyAfterMs;
    const within = (t: number | undefined) => t !== undefined && (exitAt === undefined || t < exitAt);
    const readyNow = readyAt === 0 && !(unreadyAt !== undefined && unreadyAt <= 0);
    yield {
      at: runStart,
      snapshot: { state: running, lastState, ready: readyNow, started: true, restartCount },
      events: startEvents,
    };
    if (within(readyAt) && readyAt! > 0 && !(unreadyAt !== undefined && unreadyAt <= readyAt!)) {
      yield {
        at: runStart + readyAt!,
        snapshot: { state: running, lastState, ready: true, started: true, restartCount },
        events: [],
      };
    }
    if (within(unreadyAt) && readyAt !== undefined && unreadyAt! > readyAt) {
      yield {
        at: runStart + unreadyAt!,
        snapshot: { state: running, lastState, ready: false, started: true, restartCount },
        events: [
          {
            type: 'Warning',
            reason: 'Unhealthy',
            message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
          },
        ],
      };
    }
    if (readyAt === undefined && within(FIRST_PROBE_FAILURE_MS)) {
      yield {
        at: runStart + FIRST_PROBE_FAILURE_MS,
        snapshot: { state: running, lastState, ready: false, started: true, restartCount },
        events: [
          {
            type: 'Warning',
            reason: 'Unhealthy',
            message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
          },
        ],
      };
    }
    if (exitAt === undefined) return;

    const finishedAt = runStart + exitAt;
    const code = b.exitCode;
    const terminated: ContainerState = {
      terminated: {
        exitCode: code,
        reason: b.exitReason ?? (code === 0 ? 'Completed' : 'Error'),
        ...(b.exitMessage ? { message: b.exitMessage } : {}),
        startedAt: iso(runStart),
        finishedAt: iso(finishedAt),
      },
    };
    const restarts = input.restartPolicy === 'Always' || (input.restartPolicy === 'OnFailure' && code !== 0);
    if (!restarts) {
      yield {
        at: finishedAt,
        snapshot: { state: terminated, lastState, ready: false, started: false, restartCount },
        events: [],
        done: true,
      };
      return;
    }
    lastState = terminated;
    const delay = restartDelay(restartCount + 1);
    if (delay > 0) {
      yield {
        at: finishedAt,
        snapshot: {
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${backoffText(delay)} restarting failed container=${container} pod=${pod}(${input.podName})`,
            },
          },
          lastState,
          ready: false,
          started: false,
          restartCount,
        },
        events: [
          {
            type: 'Warning',
            reason: 'BackOff',
            message: `Back-off restarting failed container ${container} in pod ${pod}`,
          },
        ],
      };
    }
    restartCount++;
    runStart = finishedAt + delay;
  }
}
