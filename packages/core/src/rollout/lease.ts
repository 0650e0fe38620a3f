/**
 * One coordination.k8s.io/v1 Lease per app, so two workflows cannot roll out
 * the same app at once. The holder is the GitHub run (id and attempt); the
 * lease is renewed while the run works and expires by itself when a runner
 * dies, so a later run is never locked out for longer than the lease.
 */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { isConflict, isNotFound, KubeApiError } from '../kube/errors';
import type { KubeObject } from '../kube/types';
import type { Clock } from '../runtime/port';
import { APP_LABEL, MANAGED_BY, recordName } from './record';

export const LEASE_SECONDS = 60;
const RENEW_EVERY_MS = 20_000;
/** How long handing the lease back may take (its GET and DELETE), whatever the run's signal says. */
const RELEASE_TIMEOUT_MS = 15_000;
const RUN_URL_ANNOTATION = 'deploy-actions.dev/run-url';

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
  /** Who holds it: `<run id>-<attempt>` on GitHub, else a random id. */
  holder: string;
  runUrl?: string | undefined;
  clock: Clock;
  /**
   * Held for this long, extended by `hold()` at step boundaries instead of a renewal every 20 s: requests
   * then grow with steps, not with minutes waited. Left out: LEASE_SECONDS, renewed in the background.
   */
  holdMs?: number | undefined;
}

/** Added to every explicit hold: time for the requests around a wait (a slow API server, a retry). */
export const HOLD_MARGIN_MS = 60_000;

/** The holder identity of this run. A re-run of the same GitHub run may take over its own earlier attempt's lease. */
export function holderIdentity(env: Readonly<Record<string, string | undefined>>): string {
  const run = env['GITHUB_RUN_ID'];
  if (run) return `${run}-${env['GITHUB_RUN_ATTEMPT'] ?? '1'}`;
  return `local-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** MicroTime as the API server writes it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Who holds the app's lease and until when (its last renewal + its duration), or undefined when there is none. */
export async function readLease(
  client: KubeClient,
  namespace: string,
  app: string,
): Promise<{ holder: string | undefined; expiresAt: Date | undefined } | undefined> {
  let lease: Lease;
  try {
    lease = await client.get<Lease>('Lease', { namespace, name: recordName(app) });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
  return {
    holder: lease.spec?.holderIdentity,
    expiresAt: Number.isFinite(renewed) ? new Date(renewed + duration) : undefined,
  };
}

export class RolloutLease {
  private timer: AbortController | undefined;
  /** Set when a renewal failed: the run should stop changing things. */
  lost: Error | undefined;

  private constructor(
    private readonly client: KubeClient,
    private readonly options: LeaseOptions,
  ) {}

  /**
   * Take the lease or fail with a UserError naming the run that holds it. Renews
   * it in the background until `release()`.
   */
  static async acquire(client: KubeClient, options: LeaseOptions): Promise<RolloutLease> {
    const lease = new RolloutLease(client, options);
    lease.seconds = options.holdMs === undefined ? LEASE_SECONDS : Math.ceil((options.holdMs + HOLD_MARGIN_MS) / 1000);
    await lease.take();
    if (options.holdMs === undefined) lease.startRenewing();
    return lease;
  }

  /** leaseDurationSeconds of the next write. */
  private seconds = LEASE_SECONDS;

  /**
   * Hold the lease for `ms` (plus HOLD_MARGIN_MS) from now: one GET and one PUT. Called before each wait
   * (pods, a step's pause and analysis, promotion), so a dead runner keeps other runs out no longer than
   * the wait it died in. Throws a UserError when another run holds it now.
   */
  async hold(ms: number): Promise<void> {
    const ref = { namespace: this.options.namespace, name: recordName(this.options.app) };
    const current = await this.client.get<Lease>('Lease', ref).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (current?.spec?.holderIdentity && current.spec.holderIdentity !== this.options.holder)
      throw new UserError(
        `Lost the rollout lease of "${this.options.app}" to ${current.spec.holderIdentity}: this run stopped before its next change`,
      );
    this.seconds = Math.ceil((ms + HOLD_MARGIN_MS) / 1000);
    if (current) await this.client.replace<Lease>('Lease', this.body(current));
    else await this.client.create<Lease>('Lease', this.body(undefined));
  }

  private body(existing: Lease | undefined): Lease {
    const now = microTime(this.options.clock.now());
    const sameHolder = existing?.spec?.holderIdentity === this.options.holder;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: recordName(this.options.app),
        namespace: this.options.namespace,
        labels: { ...MANAGED_BY, [APP_LABEL]: this.options.app },
        annotations: this.options.runUrl ? { [RUN_URL_ANNOTATION]: this.options.runUrl } : {},
        ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.options.holder,
        leaseDurationSeconds: this.seconds,
        acquireTime: sameHolder ? (existing?.spec?.acquireTime ?? now) : now,
        renewTime: now,
        leaseTransitions: (existing?.spec?.leaseTransitions ?? 0) + (existing && !sameHolder ? 1 : 0),
      },
    };
  }

  private async take(): Promise<void> {
    const { client, options } = this;
    const ref = { namespace: options.namespace, name: recordName(options.app) };
    let existing: Lease | undefined;
    try {
      existing = await client.get<Lease>('Lease', ref);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (existing && !this.free(existing)) {
      const url = existing.metadata?.annotations?.[RUN_URL_ANNOTATION];
      const renewed = existing.spec?.renewTime ?? existing.spec?.acquireTime ?? 'unknown';
      const seconds = existing.spec?.leaseDurationSeconds ?? LEASE_SECONDS;
      throw new UserError(
        `Another run is rolling out "${options.app}" in "${options.namespace}": lease ${ref.name} is held by ${existing.spec?.holderIdentity}${url ? ` (${url})` : ''}, last renewed ${renewed}; wait for it to finish, or for the lease to expire ${seconds}s after its last renewal`,
      );
    }
    try {
      if (existing) await client.replace<Lease>('Lease', this.body(existing));
      else await client.create<Lease>('Lease', this.body(undefined));
    } catch (error) {
      if (isConflict(error) || (error instanceof KubeApiError && error.code === 409)) {
        // Someone took it between our read and our write: report who.
        return this.take();
      }
      throw error;
    }
  }

  /** Free: not held, held by us, or expired. */
  private free(lease: Lease): boolean {
    const holder = lease.spec?.holderIdentity;
    if (!holder || holder === this.options.holder) return true;
    // A re-run of the same GitHub run (another attempt) follows one that has ended.
    const run = this.options.holder.replace(/-\d+$/, '');
    if (!run.startsWith('local-') && holder.replace(/-\d+$/, '') === run) return true;
    const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
    const duration = (lease.spec?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
    return !Number.isFinite(renewed) || renewed + duration < this.options.clock.now();
  }

  private startRenewing() {
    const stop = new AbortController();
    this.timer = stop;
    const loop = async () => {
      while (!stop.signal.aborted) {
        await this.options.clock.sleep(RENEW_EVERY_MS, stop.signal);
        try {
          const current = await this.client.get<Lease>('Lease', {
            namespace: this.options.namespace,
            name: recordName(this.options.app),
          });
          if (current.spec?.holderIdentity !== this.options.holder) {
            this.lost = new UserError(
              `Lost the rollout lease of "${this.options.app}" to ${current.spec?.holderIdentity ?? 'nobody'}`,
            );
            return;
          }
          await this.client.replace<Lease>('Lease', this.body(current));
        } catch (error) {
          if (stop.signal.aborted) return;
          // One failed renewal is not fatal: the lease lasts three renewal periods.
          if (isNotFound(error)) this.lost = new UserError(`The rollout lease of "${this.options.app}" was deleted`);
        }
      }
    };
    loop().catch(() => {});
  }

  /**
   * Stop renewing and hand the lease back (holder cleared, so the next run need not wait for expiry). Also after
   * a timeout or a cancel aborted the run's signal: the requests have their own RELEASE_TIMEOUT_MS instead, else
   * the lease would keep other runs out (an abort refused) until it expires.
   */
  async release(): Promise<void> {
    this.timer?.abort();
    this.timer = undefined;
    try {
      const client = this.client.detached(RELEASE_TIMEOUT_MS);
      const ref = { namespace: this.options.namespace, name: recordName(this.options.app) };
      const current = await client.get<Lease>('Lease', ref);
      if (current.spec?.holderIdentity !== this.options.holder) return;
      await client.delete('Lease', ref);
    } catch {
      // Best effort: an unreleased lease expires by itself.
    }
  }
}
