/**
 * The behaviour table: what a container running a given image does in the simulation (how long until it is
 * Ready, whether it crash-loops, fails to pull, exits, what it logs and how it answers HTTP). Tests set it with
 * `sim.behaviour.set('ghcr.io/acme/web:v2*', { readyAfter: '5s' })`; a scenario file carries the same shape.
 */
import { parseDuration } from '@deploy-actions/core/inputs';

/** A duration: `5s`, `250ms`, `1m30s`, or a number of milliseconds. */
export type DurationSpec = string | number;

export interface LatencySpec {
  /** Median, in milliseconds. */
  p50: number;
  /** 99th percentile, in milliseconds (>= p50). Latencies follow a lognormal with these two quantiles. */
  p99: number;
}

export interface RouteSpec {
  status?: number;
  body?: string | Record<string, unknown>;
  headers?: Record<string, string>;
  latencyMs?: LatencySpec | number;
  errorRate?: number;
}

export interface HttpSpec extends RouteSpec {
  /** Per-path answers (exact path, or a prefix ending in `*`); unmatched paths use the top-level answer. */
  routes?: Record<string, RouteSpec>;
}

export interface ImageBehaviour {
  /** Time from container start to Ready; `never` keeps it running but not Ready. Default 1s. */
  readyAfter?: DurationSpec | 'never';
  /** Readiness flips back to false at this time after the container starts (a probe that starts failing). */
  notReadyAfter?: DurationSpec;
  /** The container crashes this long after every start (exit code 1 unless `exitCode` says otherwise); never Ready unless `readyAfter` is given. */
  crashLoop?: boolean | { after?: DurationSpec; exitCode?: number; message?: string };
  /** The container exits by itself this long after it starts, with `exitCode` (default 0): Job pods. */
  exitAfter?: DurationSpec;
  exitCode?: number;
  /** The terminated state's reason instead of Completed/Error, e.g. `OOMKilled` (with exitCode 137) for a container over its memory limit. */
  exitReason?: string;
  /** The image cannot be pulled: ErrImagePull, then ImagePullBackOff. `true` or the error message. */
  pullError?: boolean | string;
  /** Text served by `/log` for the container. */
  logs?: string | string[];
  /**
   * How long the container takes to exit after SIGTERM (its pod deleted); the kubelet kills it when the pod's
   * grace period ends first. Left out, it ignores SIGTERM: the pod takes its whole grace period.
   */
  stopAfter?: DurationSpec;
  /** How a simulated app in this image answers through the service proxy and the traffic generator. */
  http?: HttpSpec;
  /**
   * CPU the container uses, as the resource metrics API reports it (what an HPA reads): `idle` plus `perRps`
   * for every request per second its pod answered over the last metrics window (the traffic generator's and
   * the service proxy's requests, spread over the Ready pods). Quantities: `250m`, `0.5`, or a number of
   * cores. Read at every metrics sample (not when the pod starts), so a test can change the load of running
   * pods. Default 0 and 0.
   */
  cpu?: CpuSpec;
}

export interface CpuSpec {
  /** Usage with no traffic. */
  idle?: string | number;
  /** Usage added per request per second. */
  perRps?: string | number;
}

/** The resolved, millisecond form the kubelet uses. */
export interface ResolvedBehaviour {
  readyAfterMs: number | undefined;
  notReadyAfterMs: number | undefined;
  /** Run time before the container exits by itself, or undefined when it runs forever. */
  exitAfterMs: number | undefined;
  exitCode: number;
  exitReason: string | undefined;
  exitMessage: string | undefined;
  pullError: string | undefined;
  logs: string;
  http: HttpSpec | undefined;
  /** Time from SIGTERM to exit, or undefined when SIGTERM is ignored. */
  stopAfterMs: number | undefined;
}

export const DEFAULT_READY_MS = 1_000;
/** A Job's pod of an image nobody described runs for this long and exits 0. */
export const DEFAULT_JOB_RUN_MS = 1_000;

export function durationMs(value: DurationSpec, what: string): number {
  if (typeof value === 'number') {
    if (!(value >= 0)) throw new Error(`kube-sim behaviour: ${what} must be a non-negative duration, got ${value}`);
    return value;
  }
  const ms = parseDuration(value);
  if (ms === undefined)
    throw new Error(`kube-sim behaviour: ${what} must be a duration like 5s or 250ms, got "${value}"`);
  return ms;
}

interface Entry {
  pattern: string;
  matcher: RegExp;
  /** Literal characters in the pattern: the more, the more specific. */
  weight: number;
  order: number;
  behaviour: ImageBehaviour;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export class BehaviourTable {
  private readonly entries: Entry[] = [];
  private order = 0;
  private readonly listeners = new Set<() => void>();

  /** Describe the images matching `pattern` (`*` matches anything). The most specific pattern wins; ties go to the latest. */
  set(pattern: string, behaviour: ImageBehaviour): this {
    resolveBehaviour(behaviour, false); // validate now, so a bad duration fails the test where it was written
    if (behaviour.cpu) cpuMillis(behaviour.cpu);
    const existing = this.entries.findIndex((e) => e.pattern === pattern);
    if (existing >= 0) this.entries.splice(existing, 1);
    this.entries.push({
      pattern,
      matcher: globToRegExp(pattern),
      weight: pattern.replace(/\*/g, '').length,
      order: this.order++,
      behaviour,
    });
    for (const listener of this.listeners) listener();
    return this;
  }

  delete(pattern: string): boolean {
    const index = this.entries.findIndex((e) => e.pattern === pattern);
    if (index < 0) return false;
    this.entries.splice(index, 1);
    return true;
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** The behaviour written for an image, or undefined when no pattern matches. */
  lookup(image: string): ImageBehaviour | undefined {
    let best: Entry | undefined;
    for (const e of this.entries) {
      if (!e.matcher.test(image)) continue;
      if (!best || e.weight > best.weight || (e.weight === best.weight && e.order > best.order)) best = e;
    }
    return best?.behaviour;
  }

  /** The resolved behaviour of an image; `runToCompletion` picks the default for Job pods. */
  resolve(image: string, runToCompletion = false): ResolvedBehaviour {
    return resolveBehaviour(this.lookup(image) ?? {}, runToCompletion);
  }

  /** Load `{ images: { '<pattern>': behaviour } }` or a plain `{ '<pattern>': behaviour }` map (scenario files). */
  load(spec: Record<string, ImageBehaviour> | { images: Record<string, ImageBehaviour> } | undefined): this {
    if (!spec) return this;
    const map =
      'images' in spec && typeof spec.images === 'object' ? spec.images : (spec as Record<string, ImageBehaviour>);
    for (const [pattern, behaviour] of Object.entries(map)) this.set(pattern, behaviour);
    return this;
  }

  /** Called after every `set` (the simulated apps re-read HTTP behaviour). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function resolveBehaviour(b: ImageBehaviour, runToCompletion: boolean): ResolvedBehaviour {
  const crash = b.crashLoop === true ? {} : b.crashLoop || undefined;
  let exitAfterMs: number | undefined;
  let exitCode = b.exitCode ?? 0;
  let exitMessage: string | undefined;
  if (crash) {
    exitAfterMs = durationMs(crash.after ?? '1s', 'crashLoop.after');
    exitCode = crash.exitCode ?? 1;
    exitMessage = crash.message;
  } else if (b.exitAfter !== undefined) {
    exitAfterMs = durationMs(b.exitAfter, 'exitAfter');
  } else if (runToCompletion) {
    exitAfterMs = DEFAULT_JOB_RUN_MS;
  }
  // A crash-looping container is never Ready unless told otherwise; a Job's container counts as Ready at once.
  let readyAfterMs: number | undefined;
  if (b.readyAfter === 'never') readyAfterMs = undefined;
  else if (b.readyAfter !== undefined) readyAfterMs = durationMs(b.readyAfter, 'readyAfter');
  else if (crash) readyAfterMs = undefined;
  else readyAfterMs = runToCompletion ? 0 : DEFAULT_READY_MS;
  const logs = Array.isArray(b.logs) ? b.logs.map((line) => `${line}\n`).join('') : (b.logs ?? '');
  return {
    readyAfterMs,
    notReadyAfterMs: b.notReadyAfter === undefined ? undefined : durationMs(b.notReadyAfter, 'notReadyAfter'),
    exitAfterMs,
    exitCode,
    exitReason: b.exitReason,
    exitMessage,
    pullError: b.pullError ? (typeof b.pullError === 'string' ? b.pullError : 'manifest unknown') : undefined,
    logs,
    http: b.http,
    stopAfterMs: b.stopAfter === undefined ? undefined : durationMs(b.stopAfter, 'stopAfter'),
  };
}

/** Millicores of a CPU quantity (`250m`, `0.5`, or a number of cores). */
function cpuQuantity(value: string | number | undefined, what: string): number {
  if (value === undefined) return 0;
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d*)?|\.\d+)(m?)$/.exec(text);
  if (!m) throw new Error(`kube-sim behaviour: ${what} must be a CPU quantity like 250m or 0.5, got "${value}"`);
  return m[2] === 'm' ? Number(m[1]) : Number(m[1]) * 1000;
}

/** The `cpu` entry in millicores: usage with no traffic, and per request per second. */
export function cpuMillis(spec: CpuSpec | undefined): { idle: number; perRps: number } {
  return { idle: cpuQuantity(spec?.idle, 'cpu.idle'), perRps: cpuQuantity(spec?.perRps, 'cpu.perRps') };
}
