/**
 * The cluster connection and the app's Lease as a release holds them: one holder per run (runIdentity),
 * renewed while the run works, takeovers said in the log, and (with a token) a holder whose GitHub run
 * ended taken over at once. See README.md "The lease".
 */
import { holdVirtualTime } from '../clock/quiescence';
import { KubeClient } from '../kube/client';
import { kubeSource } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import { type LeaseOptions, RolloutLease } from '../state/lease';
import { runIdentity } from '../state/run-identity';
import { githubRunEnded } from '../state/run-liveness';
import type { ReleaseInputs } from './release-inputs';

type ConnectInputs = Pick<ReleaseInputs, 'kubeconfig' | 'context' | 'oidc-audience' | 'api-retry-budget'>;

/** The cluster, with the run's clock and signal; API retries said in the log, for at most `api-retry-budget`. */
export async function connectCluster(rt: Runtime, inputs: ConnectInputs): Promise<KubeClient> {
  return KubeClient.connect(kubeSource(rt, inputs), {
    clock: rt.clock,
    signal: rt.signal,
    onRetry: (message) => rt.log.warning(message),
    retryBudgetMs: inputs['api-retry-budget'],
  });
}

/** The Lease options of this run: holder, force, renewal tied to the run's signal, takeovers said in the log. */
export function releaseLeaseOptions(
  rt: Runtime,
  inputs: Pick<ReleaseInputs, 'force' | 'token'>,
  target: { namespace: string; app: string; deployments?: string[] },
): LeaseOptions {
  const repository = rt.env['GITHUB_REPOSITORY'];
  const token = inputs.token;
  return {
    namespace: target.namespace,
    app: target.app,
    ...runIdentity(rt.env),
    clock: rt.clock,
    deployments: target.deployments ?? [],
    force: inputs.force,
    signal: rt.signal,
    log: (line: string) => rt.log.warning(line),
    // With a token: a holder whose GitHub run GitHub reports completed or cancelled is taken over at once.
    ...(token && repository
      ? {
          // Real HTTP (and a module loaded on first use): virtual time waits for it in tests.
          holderDead: (holder: string) =>
            holdVirtualTime(
              githubRunEnded(async () => {
                const { GitHubApi } = await import('../github/api');
                return new GitHubApi(rt, {
                  token,
                  apiUrl: rt.env['GITHUB_API_URL'] ?? 'https://api.github.com',
                  repository,
                });
              }, repository)(holder),
            ),
        }
      : {}),
  };
}

/**
 * The app's Lease over one run of a release: a client whose writes check it once it is taken (reads and
 * the checks before it need none), taken before the first change, handed back at the end.
 */
export class ReleaseLease {
  private lease: RolloutLease | undefined;
  /** Every write of the release goes through this client: a run that lost the Lease changes nothing more. */
  readonly client: KubeClient;

  /** `raw`: the client without the fence, for the Lease's own requests. */
  constructor(private readonly raw: KubeClient) {
    this.client = raw.fenced(() => this.lease?.check() ?? Promise.resolve());
  }

  /** Called before each wait: checks the Lease is still this run's (it is renewed in the background). */
  hold(ms: number): Promise<void> {
    return this.lease?.hold(ms) ?? Promise.resolve();
  }

  /**
   * Take the Lease, run `work`, hand the Lease back. A cancelled or timed-out run keeps it instead: the
   * rollout is still in flight and the post step (post-if: always()) takes it over under the same holder,
   * aborting it or, with on-cancel: leave, keeping the Lease until it expires. Handing it back here would let
   * another run in before it (it stops being renewed and lapses in 30 s).
   */
  async holding<T>(rt: Runtime, options: LeaseOptions, work: () => Promise<T>): Promise<T> {
    // Renewed every 10 s while this run works; every write of the release checks it is still ours.
    const lease = await RolloutLease.acquire(this.raw, options);
    this.lease = lease;
    try {
      return await work();
    } finally {
      if (!rt.signal.aborted) await lease.release();
      else lease.stop();
    }
  }
}
