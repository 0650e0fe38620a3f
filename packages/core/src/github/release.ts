/**
 * Best-effort GitHub Deployment recording for an action run: the release is
 * what matters, its record on GitHub is a convenience. So: no token or no
 * environment → nothing, with a debug line; a missing run context or any API
 * error → a warning, and the tracker goes quiet; nothing here ever throws.
 *
 * A release that spans jobs (canary `start`, later `continue` / `promote`)
 * keeps one Deployment: the later job finds it with `resume` (newest one of
 * the environment still in progress whose payload matches), or by id when the
 * same job's post step picks it up.
 */
import { UserError } from '../errors';
import type { Runtime } from '../runtime/port';
import type { FetchLike, GitHubApiOptions } from './api';
import { githubContext } from './context';
import { type DeploymentPayload, type DeploymentRecord, DeploymentRecorder } from './deployments';
import { renderDeploymentSummary } from './summary';

/** What a release deploys, as the actions know it before the first change. */
export interface ReleaseContent {
  app: string;
  namespace: string;
  strategy: string;
  /** The new version's label (canary: the image tag), to find this release again in a later job. */
  version?: string | undefined;
  /** Each workload with the images it will run, container → image. */
  workloads: ReadonlyArray<{ kind: string; name: string; images: Readonly<Record<string, string>> }>;
  helm?:
    | {
        release: string;
        chart: string;
        version: string | undefined;
        revision: number;
        previousRevision: number | undefined;
      }
    | undefined;
}

/**
 * The Deployment payload: everything a later rollback needs to redeploy this release. `images` is container →
 * image as `findRollbackTarget` and the `images` input read it; a container name whose workloads run different
 * images is written `workload/container` instead (the `images` input's syntax for one workload's container).
 */
export function releasePayload(content: ReleaseContent): DeploymentPayload {
  const seen = new Map<string, Set<string>>();
  for (const workload of content.workloads)
    for (const [container, image] of Object.entries(workload.images))
      seen.set(container, (seen.get(container) ?? new Set()).add(image));
  const images: Record<string, string> = {};
  for (const workload of content.workloads)
    for (const [container, image] of Object.entries(workload.images))
      images[seen.get(container)!.size > 1 ? `${workload.name}/${container}` : container] = image;
  return {
    app: content.app,
    namespace: content.namespace,
    strategy: content.strategy,
    ...(content.version !== undefined ? { version: content.version } : {}),
    images,
    workloads: content.workloads.map(({ kind, name, images: own }) => ({ kind, name, images: { ...own } })),
    ...(content.helm !== undefined
      ? {
          helm: {
            release: content.helm.release,
            chart: content.helm.chart,
            ...(content.helm.version !== undefined ? { chartVersion: content.helm.version } : {}),
            revision: content.helm.revision,
            ...(content.helm.previousRevision !== undefined ? { previousRevision: content.helm.previousRevision } : {}),
          },
        }
      : {}),
  };
}

export interface ReleaseTrackerOptions {
  /** `token` input; empty or undefined: nothing is recorded. */
  token: string | undefined;
  /** `environment` input; empty or undefined: nothing is recorded. */
  environment: string | undefined;
  /** `environment-url` input: shown on the environment and the pull request. */
  environmentUrl?: string | undefined;
  /** Tests: a fetch and retry timing of their own. */
  fetch?: FetchLike;
  retry?: GitHubApiOptions['retry'];
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof UserError && error.hint ? `${message} (${error.hint.split('\n')[0]})` : message;
}

export class ReleaseTracker {
  private readonly recorder: DeploymentRecorder | undefined;
  private started = false;

  private constructor(
    private readonly rt: Runtime,
    private readonly environment: string,
    private readonly environmentUrl: string | undefined,
    recorder: DeploymentRecorder | undefined,
  ) {
    this.recorder = recorder;
  }

  /** A tracker that records when a token and an environment are given, else does nothing. */
  static create(rt: Runtime, options: ReleaseTrackerOptions): ReleaseTracker {
    const token = options.token?.trim() ?? '';
    const environment = options.environment?.trim() ?? '';
    if (token === '' || environment === '') {
      rt.log.debug(
        `No GitHub Deployment is recorded: ${token === '' ? 'no token' : 'no environment'} input (both are needed)`,
      );
      return new ReleaseTracker(rt, environment, undefined, undefined);
    }
    try {
      const recorder = new DeploymentRecorder(rt, {
        token,
        context: githubContext(rt.env),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        // A few quick retries: GitHub being slow must not hold up the release for minutes.
        retry: { attempts: 3, baseMs: 1000, maxMs: 5000, ...options.retry },
      });
      return new ReleaseTracker(rt, environment, options.environmentUrl, recorder);
    } catch (error) {
      rt.log.warning(`No GitHub Deployment is recorded: ${describe(error)}`);
      return new ReleaseTracker(rt, environment, undefined, undefined);
    }
  }

  /** The Deployment started or resumed by this run, with its latest state. */
  get record(): DeploymentRecord | undefined {
    return this.started ? this.recorder?.current : undefined;
  }

  /** Create the Deployment with `payload` and its `in_progress` status. */
  async start(payload: DeploymentPayload, description: string): Promise<void> {
    await this.attempt('create the GitHub Deployment', async (recorder) => {
      await recorder.start({
        environment: this.environment,
        sha: this.rt.env['GITHUB_SHA'],
        description,
        payload,
        environmentUrl: this.environmentUrl,
      });
      this.started = true;
    });
  }

  /**
   * Pick up the Deployment an earlier job started: by `id` when known (the post step), else the newest of the
   * environment still in progress whose payload `match` accepts. Posts `in_progress` with this run's log URL.
   * Finding none is not a problem (the start ran without a token): an info line says so.
   */
  async resume(match: (payload: DeploymentPayload) => boolean, options: { id?: number; quiet?: boolean } = {}) {
    await this.attempt('find the GitHub Deployment to update', async (recorder) => {
      const id = options.id ?? (await recorder.findInProgress(this.environment, match))?.id;
      if (id === undefined) {
        this.rt.log.info(`No GitHub Deployment of ${this.environment} in progress for this release: none is updated`);
        return;
      }
      const record = await recorder.resume(id, {
        ...(this.environmentUrl !== undefined ? { environmentUrl: this.environmentUrl } : {}),
        ...(options.quiet !== undefined ? { quiet: options.quiet } : {}),
      });
      this.started = !['success', 'failure', 'error', 'inactive'].includes(record.state);
    });
  }

  /** Still under way (a paused canary): another `in_progress` with the description. */
  async progress(description: string): Promise<void> {
    await this.attempt('update the GitHub Deployment', (recorder) => recorder.progress(description), true);
  }

  /** `success`, and `inactive` for the release it replaced. */
  async succeed(description: string): Promise<void> {
    await this.attempt(
      'mark the GitHub Deployment successful',
      (recorder) => recorder.succeed(this.environmentUrl, description),
      true,
    );
  }

  /** `failure` with the reason. */
  async fail(reason: string): Promise<void> {
    await this.attempt('mark the GitHub Deployment failed', (recorder) => recorder.fail(reason), true);
  }

  /** The job-summary section ('' when nothing was recorded). */
  summary(): string {
    const record = this.record;
    return record === undefined ? '' : renderDeploymentSummary(record);
  }

  private async attempt(
    what: string,
    fn: (recorder: DeploymentRecorder) => Promise<unknown>,
    needsStarted = false,
  ): Promise<void> {
    if (this.recorder === undefined || (needsStarted && !this.started)) return;
    try {
      await fn(this.recorder);
    } catch (error) {
      if (this.rt.signal.aborted) return;
      this.rt.log.warning(`Could not ${what} (the release itself is not affected): ${describe(error)}`);
    }
  }
}
