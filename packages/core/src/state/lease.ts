/**
 * One coordination.k8s.io/v1 Lease per app, so two workflows cannot roll out
 * the same app (or the same Deployments under another app) at once. The holder
 * is the GitHub run (id and attempt) or a local process (host and PID); the
 * Lease is short (LEASE_SECONDS) and renewed every RENEW_EVERY_MS while the
 * holder works, so a dead holder's Lease lapses within a minute whatever the
 * step's timeout. A holder proven dead (same host and its PID gone, or a
 * GitHub run the API reports finished) is taken over at once; `force` takes
 * over any holder. Every write of a release is fenced by `check()`: the holder
 * and the transition count this run took it with must still be the Lease's.
 */
import { hostname } from 'node:os';
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { isNotFound, KubeApiError } from '../kube/errors';
import { getOptional } from '../kube/objects';
import type { KubeObject } from '../kube/types';
import type { Clock } from '../runtime/port';
import { APP_LABEL, MANAGED_BY, recordName } from './record';

/** A dead holder keeps others out no longer than this after its last renewal. */
export const LEASE_SECONDS = 30;
export const RENEW_EVERY_MS = 10_000;
/** How long handing the lease back may take (its GET and DELETE), whatever the run's signal says. */
const RELEASE_TIMEOUT_MS = 15_000;
const RUN_URL_ANNOTATION = 'deploy-actions.dev/run-url';
/** The host and PID of the process holding the Lease: a holder on this host whose PID is gone is dead. */
const HOST_ANNOTATION = 'deploy-actions.dev/host';
const PID_ANNOTATION = 'deploy-actions.dev/pid';
/** The Deployments the holder's release touches (comma-separated): another app touching one of them is refused. */
const DEPLOYMENTS_ANNOTATION = 'deploy-actions.dev/deployments';
/** What a "held by" error suggests. */
export const FORCE_HINT =
  'or give force: true to take it over now (the run holding it then changes nothing more and stops at its next write)';

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaseOptions {
  namespace: string;
  app: string;
  /** Who holds it: `<run id>-<attempt>` on GitHub, else `local-<pid>-<random>`. */
  holder: string;
  runUrl?: string | undefined;
  clock: Clock;
  /** The stable Deployments the release touches: a live Lease of another app naming one of them refuses this one. */
  deployments?: readonly string[] | undefined;
  /** Take the Lease over whoever holds it (the run holding it is fenced out); said in the log. */
  force?: boolean | undefined;
  /** Renewal stops when this aborts without handing the Lease back (a killed or cancelled run). */
  signal?: AbortSignal | undefined;
  /** Where takeovers and a lost Lease are said. */
  log?: ((line: string) => void) | undefined;
  /**
   * Whether the holder is proven dead, beyond same host and PID gone (e.g. a GitHub run the API reports as
   * completed): a sentence saying why, or undefined when it may be alive.
   */
  holderDead?: ((holder: string) => Promise<string | undefined>) | undefined;
}

/** Thrown by every fenced write of a run that no longer holds its Lease: it changed nothing and stops. */
export class LeaseLostError extends UserError {}

/** MicroTime as the API server writes it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Whether process `pid` runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function expiresAt(lease: Lease): number {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
  return Number.isFinite(renewed) ? renewed + duration : Number.NaN;
}

/** Who holds the app's lease and until when (its last renewal + its duration), or undefined when there is none. */
export async function readLease(
  client: KubeClient,
  namespace: string,
  app: string,
): Promise<{ holder: string | undefined; expiresAt: Date | undefined } | undefined> {
  const lease = await getOptional<Lease>(client, 'Lease', namespace, recordName(app));
  if (lease === undefined) return undefined;
  const expiry = expiresAt(lease);
  return {
    holder: lease.spec?.holderIdentity || undefined,
    expiresAt: Number.isFinite(expiry) ? new Date(expiry) : undefined,
  };
}

const isConflictCode = (error: unknown) => error instanceof KubeApiError && error.code === 409;

export class RolloutLease {
  private timer: AbortController | undefined;
  /** Set when the Lease was lost (another holder, deleted): every fenced write then fails. */
  lost: Error | undefined;
  /** leaseTransitions when this run took it: a takeover since changes it, whoever the holder says it is. */
  private transitions = 0;
  private released = false;

  private constructor(
    private readonly client: KubeClient,
    private readonly options: LeaseOptions,
  ) {}

  /** Take the lease or fail with a UserError naming the run that holds it. Renews it in the background until `release()`. */
  static async acquire(client: KubeClient, options: LeaseOptions): Promise<RolloutLease> {
    const lease = new RolloutLease(client, options);
    await lease.take();
    lease.startRenewing();
    return lease;
  }

  get app(): string {
    return this.options.app;
  }

  private get ref() {
    return { namespace: this.options.namespace, name: recordName(this.options.app) };
  }

  /**
   * A client whose every write (not reads, not dry runs) first checks that this run still holds the Lease:
   * a run that lost it changes nothing and stops with a LeaseLostError.
   */
  fence(client: KubeClient): KubeClient {
    return client.fenced(() => this.check());
  }

  /** Throws a LeaseLostError when another run holds the Lease now, or took it over since this run did. */
  async check(): Promise<void> {
    if (this.lost) throw this.lost;
    const current = await getOptional<Lease>(this.client, 'Lease', this.ref.namespace, this.ref.name);
    const holder = current?.spec?.holderIdentity;
    if (current && holder === this.options.holder && (current.spec?.leaseTransitions ?? 0) === this.transitions) return;
    this.lost = new LeaseLostError(
      `This run lost the rollout lease of "${this.options.app}" ${
        current === undefined
          ? '(it was deleted)'
          : `to ${holder || 'nobody'} (transition ${current.spec?.leaseTransitions ?? 0})`
      }: it changed nothing more and stopped; the run holding the Lease now (or action: abort) decides what happens to the release`,
    );
    this.options.log?.(this.lost.message);
    this.timer?.abort();
    throw this.lost;
  }

  /** At the rollout's step boundaries: checks the Lease is still this run's (the renewal runs in the background). */
  async hold(_ms?: number): Promise<void> {
    await this.check();
  }

  private body(existing: Lease | undefined, takeover: boolean): Lease {
    const now = microTime(this.options.clock.now());
    const sameHolder = existing?.spec?.holderIdentity === this.options.holder && !takeover;
    const deployments = this.options.deployments ?? [];
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: recordName(this.options.app),
        namespace: this.options.namespace,
        labels: { ...MANAGED_BY, [APP_LABEL]: this.options.app },
        annotations: {
          ...(this.options.runUrl ? { [RUN_URL_ANNOTATION]: this.options.runUrl } : {}),
          [HOST_ANNOTATION]: hostname(),
          [PID_ANNOTATION]: String(process.pid),
          ...(deployments.length > 0 ? { [DEPLOYMENTS_ANNOTATION]: [...deployments].sort().join(',') } : {}),
        },
        ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.options.holder,
        leaseDurationSeconds: LEASE_SECONDS,
        acquireTime: sameHolder ? (existing?.spec?.acquireTime ?? now) : now,
        renewTime: now,
        // Every take counts (even by the same holder: a post step after its main step), so a fenced write of an
        // earlier take with the same holder fails too.
        leaseTransitions: (existing?.spec?.leaseTransitions ?? 0) + (existing && !sameHolder ? 1 : 0),
      },
    };
  }

  private async take(): Promise<void> {
    const { client, options } = this;
    for (let attempt = 0; ; attempt++) {
      const existing = await getOptional<Lease>(client, 'Lease', this.ref.namespace, this.ref.name);
      await this.refuseOverlap();
      const why = existing ? await this.freeBecause(existing) : 'free';
      if (why === undefined) throw this.heldError(existing!);
      if (existing?.spec?.holderIdentity && why !== 'free' && why !== 'ours')
        options.log?.(`Took over the rollout lease of "${options.app}" from ${this.whose(existing)}: ${why}`);
      try {
        // A take by this same holder (a post step after its own main step) still counts as a transition.
        const takeover = existing !== undefined && why !== 'free';
        const written = existing
          ? await client.replace<Lease>('Lease', this.body(existing, takeover))
          : await client.create<Lease>('Lease', this.body(undefined, false));
        this.transitions = written.spec?.leaseTransitions ?? 0;
        return;
      } catch (error) {
        // Someone wrote it between our read and our write (or an API hiccup answered 409): read again.
        if (isConflictCode(error) && attempt < 5) continue;
        throw error;
      }
    }
  }

  private whose(lease: Lease): string {
    const url = lease.metadata?.annotations?.[RUN_URL_ANNOTATION];
    return `${lease.spec?.holderIdentity}${url ? ` (${url})` : ''}`;
  }

  private heldError(existing: Lease): UserError {
    const { options } = this;
    const renewed = existing.spec?.renewTime ?? existing.spec?.acquireTime ?? 'unknown';
    const seconds = existing.spec?.leaseDurationSeconds ?? LEASE_SECONDS;
    return new UserError(
      `Another run is rolling out "${options.app}" in "${options.namespace}": lease ${this.ref.name} is held by ${this.whose(existing)}, last renewed ${renewed}; wait for it to finish, or for the lease to lapse ${seconds}s after its last renewal (a dead run stops renewing it), ${FORCE_HINT}`,
    );
  }

  /**
   * Why the Lease may be taken: 'free' (no holder), 'ours', or a sentence (expired, same GitHub run, holder
   * proven dead, forced); undefined while another live run holds it.
   */
  private async freeBecause(lease: Lease): Promise<string | undefined> {
    const holder = lease.spec?.holderIdentity;
    if (!holder) return 'free';
    if (holder === this.options.holder) return 'ours';
    // A re-run of the same GitHub run (another attempt) follows one that has ended.
    const run = this.options.holder.replace(/-\d+$/, '');
    if (!run.startsWith('local-') && holder.replace(/-\d+$/, '') === run)
      return `the same GitHub run (${run}), an earlier attempt`;
    const expiry = expiresAt(lease);
    if (!Number.isFinite(expiry) || expiry < this.options.clock.now())
      return `it lapsed at ${Number.isFinite(expiry) ? new Date(expiry).toISOString() : 'an unknown time'}`;
    const host = lease.metadata?.annotations?.[HOST_ANNOTATION];
    const pid = Number(lease.metadata?.annotations?.[PID_ANNOTATION]);
    if (host === hostname() && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid))
      return `its process ${pid} on ${host} is gone`;
    const dead = await this.options.holderDead?.(holder).catch(() => undefined);
    if (dead) return dead;
    if (this.options.force) return 'force: true';
    return undefined;
  }

  /** A live Lease of another app naming one of our Deployments: refused (with force, that Lease is taken from its holder). */
  private async refuseOverlap(): Promise<void> {
    const mine = new Set(this.options.deployments ?? []);
    if (mine.size === 0) return;
    const selector = Object.entries(MANAGED_BY)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const leases = await this.client.list<Lease>('Lease', {
      namespace: this.options.namespace,
      labelSelector: selector,
    });
    for (const other of leases.items) {
      if (other.metadata?.name === this.ref.name) continue;
      const shared = (other.metadata?.annotations?.[DEPLOYMENTS_ANNOTATION] ?? '')
        .split(',')
        .filter((name) => mine.has(name));
      if (shared.length === 0) continue;
      const why = await this.freeBecause(other);
      if (why !== undefined && why !== 'force: true') continue;
      const app = other.metadata?.labels?.[APP_LABEL] ?? other.metadata?.name;
      if (why === 'force: true') {
        // Fence the other run out: its next write finds a Lease it does not hold.
        this.options.log?.(
          `Took the rollout lease of "${app}" from ${this.whose(other)}: force: true (it touches ${shared.join(', ')})`,
        );
        await this.client.delete('Lease', { namespace: this.options.namespace, name: other.metadata!.name! });
        continue;
      }
      throw new UserError(
        `Deployment ${shared.join(', ')} is being rolled out by another release (app "${app}", lease ${other.metadata?.name} held by ${this.whose(other)}): one release per Deployment at a time; wait for it to finish, ${FORCE_HINT}`,
      );
    }
  }

  /** One renewal: GET, then PUT with its resourceVersion (a 409 is read again and retried). */
  private async renew(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.client.get<Lease>('Lease', this.ref);
      if (
        current.spec?.holderIdentity !== this.options.holder ||
        (current.spec?.leaseTransitions ?? 0) !== this.transitions
      )
        return void (await this.check());
      try {
        await this.client.replace<Lease>('Lease', this.body(current, false));
        return;
      } catch (error) {
        if (isConflictCode(error) && attempt < 5) continue;
        throw error;
      }
    }
  }

  private startRenewing() {
    const stop = new AbortController();
    this.timer = stop;
    const signal = this.options.signal ? AbortSignal.any([stop.signal, this.options.signal]) : stop.signal;
    const loop = async () => {
      while (!signal.aborted && !this.lost) {
        await this.options.clock.sleep(RENEW_EVERY_MS, signal);
        try {
          await this.renew();
        } catch (error) {
          if (signal.aborted || error instanceof LeaseLostError) return;
          if (isNotFound(error)) {
            await this.check().catch(() => {}); // sets `lost`, saying how
            return;
          }
          // One failed renewal is not fatal: the lease lasts three renewal periods.
        }
      }
    };
    loop().catch(() => {});
  }

  /**
   * Stop renewing and hand the lease back (deleted, so the next run need not wait for it to lapse). Also after
   * a timeout or a cancel aborted the run's signal: the requests have their own RELEASE_TIMEOUT_MS instead.
   * A Lease another run took over is left alone.
   */
  async release(): Promise<void> {
    this.timer?.abort();
    this.timer = undefined;
    if (this.released) return;
    this.released = true;
    try {
      const client = this.client.detached(RELEASE_TIMEOUT_MS);
      const current = await client.get<Lease>('Lease', this.ref);
      if (
        current.spec?.holderIdentity !== this.options.holder ||
        (current.spec?.leaseTransitions ?? 0) !== this.transitions
      )
        return;
      await client.delete('Lease', this.ref);
    } catch {
      // Best effort: an unreleased lease lapses by itself.
    }
  }

  /** Stop renewing without handing the Lease back (a cancelled main step leaves it to its post step). */
  stop(): void {
    this.timer?.abort();
    this.timer = undefined;
  }
}
