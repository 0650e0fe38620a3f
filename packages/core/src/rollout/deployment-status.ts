/**
 * The GitHub Deployment of a release, in one place: created before the first change (or picked up from the
 * job that started it), `success` / `in_progress` / `failure` from the outcome, `failure` when the run fails
 * (a cancelled run leaves it to its post step, which undoes the release first). Recording is best effort
 * (ReleaseTracker never throws); nothing is recorded in a dry run or without a token and an environment.
 */
import { holdVirtualTime } from '../clock/quiescence';
import type { DeployOutcome } from '../deploy/types';
import type { ReleaseContent, ReleaseTracker } from '../github/release';
import type { Runtime } from '../runtime/port';
import type { RolloutRecord } from '../state/record';
import { markFinished, saveDeploymentId, savedDeploymentId } from './run-state';
import type { RolloutOutcome } from './types';

export interface DeploymentStatusInputs {
  'dry-run': boolean;
  token?: string | undefined;
  environment?: string | undefined;
  'environment-url'?: string | undefined;
}

export class DeploymentStatus {
  private constructor(
    private readonly rt: Runtime,
    private readonly tracker: ReleaseTracker | undefined,
  ) {}

  /** This run's recorder (a debug line says why there is none). The GitHub module loads only when it records. */
  static async open(rt: Runtime, inputs: DeploymentStatusInputs): Promise<DeploymentStatus> {
    if (inputs['dry-run']) return new DeploymentStatus(rt, undefined);
    if (!inputs.token || !inputs.environment) {
      rt.log.debug(
        `No GitHub Deployment is recorded: ${inputs.token ? 'no environment' : 'no token'} input (both are needed)`,
      );
      return new DeploymentStatus(rt, undefined);
    }
    const { ReleaseTracker } = await holdVirtualTime(import('../github/release'));
    return new DeploymentStatus(
      rt,
      ReleaseTracker.create(rt, {
        token: inputs.token,
        environment: inputs.environment,
        environmentUrl: inputs['environment-url'],
      }),
    );
  }

  /** The post step: the Deployment its main step started (by id), or none. */
  static async reopen(rt: Runtime, inputs: DeploymentStatusInputs): Promise<DeploymentStatus> {
    const id = savedDeploymentId(rt);
    if (id === undefined) return new DeploymentStatus(rt, undefined);
    const status = await DeploymentStatus.open(rt, inputs);
    await status.tracker?.resume(() => true, { id, quiet: true });
    return status;
  }

  /** Whether a Deployment of this release is started or picked up (and will be marked). */
  get recording(): boolean {
    return this.tracker?.record !== undefined;
  }

  /** Create the Deployment (its payload: per workload the images it will run), before the first change. */
  async start(content: ReleaseContent, description: string): Promise<void> {
    if (this.tracker === undefined) return;
    const { releasePayload } = await holdVirtualTime(import('../github/release'));
    await this.tracker.start(releasePayload(content), description);
    this.remember();
  }

  /** Pick up the Deployment an earlier job started, the newest in progress whose payload `match` accepts. */
  async resume(match: (payload: Record<string, unknown>) => boolean): Promise<void> {
    await this.tracker?.resume(match);
    this.remember();
  }

  /** Pick up the Deployment `start` created for the rollout `record` describes. */
  async resumeRollout(record: RolloutRecord): Promise<void> {
    await this.resume(
      (payload) =>
        payload['app'] === record.app &&
        payload['namespace'] === record.namespace &&
        payload['strategy'] === record.strategy &&
        payload['version'] === record.canaryVersion,
    );
  }

  /**
   * Run the release's work and mark the main step finished. An error marks the Deployment failed, unless the
   * run was cancelled: the post step then undoes the release and marks it. `finishedOnError`: an error
   * finishes the step too (nothing is left for the post step to undo).
   */
  async track<T>(work: () => Promise<T>, options: { finishedOnError?: boolean } = {}): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (error) {
      if (!this.rt.signal.aborted) {
        if (options.finishedOnError) markFinished(this.rt);
        await this.tracker?.fail((error as Error).message);
      }
      throw error;
    }
    markFinished(this.rt);
    return result;
  }

  /** promoted → success (the replaced release → inactive), paused → still in progress, aborted → failure. */
  async settleRollout(outcome: RolloutOutcome): Promise<void> {
    if (this.tracker?.record === undefined) return;
    if (outcome.result === 'promoted') await this.tracker.succeed(outcome.reason);
    // The reason says at which weight it stopped and how to go on.
    else if (outcome.result === 'paused') await this.tracker.progress(outcome.reason);
    else if (outcome.result === 'aborted' || outcome.result === 'rolled-back') await this.tracker.fail(outcome.reason);
  }

  /** deployed → success; a plan changes nothing; anything else → failure with its first line. */
  async settleDeploy(outcome: DeployOutcome): Promise<void> {
    if (outcome.verdict === 'deployed') await this.tracker?.succeed(`Deployed ${outcome.app}`);
    else if (outcome.verdict !== 'planned')
      await this.tracker?.fail(outcome.failure?.split('\n')[0] ?? outcome.verdict);
  }

  /** `failure` with the reason (a post step's undo). */
  async fail(reason: string): Promise<void> {
    await this.tracker?.fail(reason);
  }

  /** The job-summary section ('' when nothing was recorded). */
  summary(): string {
    return this.tracker?.summary() ?? '';
  }

  private remember(): void {
    const record = this.tracker?.record;
    if (record) saveDeploymentId(this.rt, record.id);
  }
}
