/**
 * GitHub Deployments for canary-promote and rollback
 * (https://docs.github.com/rest/deployments/deployments and .../statuses).
 *
 * A release is recorded as one Deployment of the environment with statuses
 * `in_progress` → `success` | `failure`; when it succeeds, the deployment it
 * replaced gets `inactive`. Rollback mode `github` reads the history back:
 * the newest deployment that reached `success` and was never marked bad.
 */
import { UserError } from '../errors';
import { canonicalJson } from '../json';
import type { Runtime } from '../runtime/port';
import { type FetchLike, GitHubApi, GitHubApiError, type GitHubApiOptions } from './api';
import { type GitHubContext, githubContext } from './context';

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

/** What we store in a Deployment's payload: enough to redeploy it. */
export interface DeploymentPayload {
  /** The rollout's key (the first Deployment's name): one environment can hold several apps. */
  app?: string;
  /** container → image reference */
  images?: Record<string, string>;
  [key: string]: unknown;
}

/** The fields of GitHub's deployment object that we use. */
export interface GitHubDeployment {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  payload: DeploymentPayload | string;
  created_at: string;
  creator?: { login: string } | null;
  transient_environment?: boolean;
  production_environment?: boolean;
}

export interface GitHubDeploymentStatus {
  id: number;
  state: DeploymentState;
  description: string | null;
  environment_url?: string | null;
  log_url?: string | null;
  created_at: string;
}

export interface StartDeployment {
  /** The GitHub environment, e.g. `production`. */
  environment: string;
  /** Branch, tag or SHA to record (default: `sha`, then the run's GITHUB_SHA). */
  ref?: string | undefined;
  /** The commit built; used as the ref when no ref is given, so a moved branch cannot change what is recorded. */
  sha?: string | undefined;
  description?: string | undefined;
  payload: DeploymentPayload;
  environmentUrl?: string | undefined;
  /** The environment goes away later (a preview): default false. */
  transient?: boolean | undefined;
  /** Default: true for an environment named `production`, as GitHub does. */
  production?: boolean | undefined;
  /** Task name (default `deploy`). */
  task?: string | undefined;
}

/** What happened to the recorded Deployment, for summaries and results. */
export interface DeploymentRecord {
  id: number;
  environment: string;
  state: DeploymentState;
  ref: string;
  sha: string;
  description: string | undefined;
  environmentUrl: string | undefined;
  logUrl: string | undefined;
  /** The environment's deployment history page on GitHub. */
  historyUrl: string;
  /** Deployments this one replaced (marked `inactive` on success). */
  replaced: number[];
  payload: DeploymentPayload;
}

/** A deployment rollback mode `github` can return to. */
export interface SuccessfulDeployment {
  id: number;
  environment: string;
  sha: string;
  ref: string;
  createdAt: string;
  creator: string | undefined;
  payload: DeploymentPayload;
  /** Its newest `success` status. */
  status: GitHubDeploymentStatus;
  /** Its newest status of any kind: `success` when still active, `inactive` when a later release replaced it. */
  latestState: DeploymentState;
}

export interface RollbackTarget {
  /** The release being undone: the active deployment, when there is one. */
  bad: SuccessfulDeployment | undefined;
  /** The release to put back. */
  target: SuccessfulDeployment;
  /** Its images, container → image (checked to be non-empty strings). */
  images: Record<string, string>;
}

export interface LookupOptions {
  /** Only deployments older than this one (the bad release being rolled back). */
  before?: number | undefined;
  /** Never return these deployments. */
  exclude?: readonly number[] | undefined;
  /** Only deployments whose payload names this app. */
  app?: string | undefined;
  /** Give up after looking at this many deployments (default 200). */
  limit?: number | undefined;
}

export interface DeploymentRecorderOptions {
  token: string;
  context: GitHubContext;
  fetch?: FetchLike;
  retry?: GitHubApiOptions['retry'];
  /** Deployments asked per page (GitHub's maximum is 100). */
  pageSize?: number;
  /** Per-attempt request limit in real ms (default 30 s). */
  timeoutMs?: number;
}

const DESCRIPTION_MAX = 140; // GitHub rejects longer status and deployment descriptions with a 422.

function clip(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > DESCRIPTION_MAX ? `${line.slice(0, DESCRIPTION_MAX - 1)}…` : line;
}

function payloadOf(deployment: GitHubDeployment): DeploymentPayload {
  let payload: unknown = deployment.payload;
  if (typeof payload === 'string') {
    // Deployments created by other tools may carry the payload as JSON text.
    try {
      payload = payload === '' ? {} : JSON.parse(payload);
    } catch {
      return {};
    }
  }
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
    ? (payload as DeploymentPayload)
    : {};
}

/** `failure` and `error` mark a release bad; `success` good; the rest are lifecycle (queued, in_progress, inactive). */
function isVerdict(state: DeploymentState): boolean {
  return state === 'success' || state === 'failure' || state === 'error';
}

const WRITE = 'deployments: write';
const READ = 'deployments: read';

export class DeploymentRecorder {
  readonly api: GitHubApi;
  private readonly base: string;
  private readonly pageSize: number;
  private record: DeploymentRecord | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly options: DeploymentRecorderOptions,
  ) {
    const { context } = options;
    this.api = new GitHubApi(rt, {
      token: options.token,
      apiUrl: context.apiUrl,
      graphqlUrl: context.graphqlUrl,
      repository: context.repository,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    this.base = `/repos/${encodeURIComponent(context.owner)}/${encodeURIComponent(context.repo)}/deployments`;
    this.pageSize = Math.min(100, Math.max(1, options.pageSize ?? 100));
  }

  /** The deployment recorded by `start`, with its latest state. */
  get current(): DeploymentRecord | undefined {
    return this.record;
  }

  /** Create the Deployment (never auto-merging, never waiting for checks) and its `in_progress` status. */
  async start(request: StartDeployment): Promise<DeploymentRecord> {
    if (this.record !== undefined) throw new Error(`deployment #${this.record.id} was already started`);
    const environment = request.environment.trim();
    if (environment === '') {
      throw new UserError('A GitHub Deployment needs an environment name', { hint: 'environment: production' });
    }
    const { context } = this.options;
    const ref = request.ref ?? request.sha ?? context.sha;
    if (ref === undefined) {
      throw new UserError('A GitHub Deployment needs a ref or commit, and GITHUB_SHA is not set', {
        hint: 'run inside GitHub Actions, or set GITHUB_SHA to the commit being deployed',
      });
    }
    const description = clip(request.description);
    const body = {
      ref,
      task: request.task ?? 'deploy',
      // Never merge the default branch into the ref (a 409 or an unexpected commit), never wait for commit statuses:
      // the workflow itself is the gate, and a pending check must not block a rollback.
      auto_merge: false,
      required_contexts: [] as string[],
      payload: request.payload,
      environment,
      ...(description !== undefined ? { description } : {}),
      transient_environment: request.transient ?? false,
      production_environment: request.production ?? environment === 'production',
    };
    const created = await this.api.request<GitHubDeployment>('POST', this.base, {
      body,
      permission: WRITE,
      // A retried create must not record the release twice: adopt a deployment the failed attempt made.
      recover: () => this.findUnstarted(body),
    });
    if (typeof created.data?.id !== 'number') {
      // 202 {"message": "Auto-merged ..."} cannot happen with auto_merge false; anything else is a surprise.
      throw new Error(`GitHub answered ${created.status} to the deployment request without a deployment`);
    }
    const deployment = created.data;
    this.record = {
      id: deployment.id,
      environment,
      state: 'pending',
      ref: deployment.ref ?? ref,
      sha: deployment.sha ?? request.sha ?? '',
      description,
      environmentUrl: request.environmentUrl,
      logUrl: context.runUrl,
      historyUrl: this.historyUrl(environment),
      replaced: [],
      payload: request.payload,
    };
    if (request.sha !== undefined && deployment.sha !== undefined && deployment.sha !== request.sha) {
      this.rt.log.warning(
        `GitHub resolved ${ref} to ${deployment.sha}, not the commit built (${request.sha}): the ref moved since the run started`,
      );
    }
    await this.status(deployment.id, {
      state: 'in_progress',
      ...(context.runUrl !== undefined ? { log_url: context.runUrl } : {}),
      ...(request.environmentUrl !== undefined ? { environment_url: request.environmentUrl } : {}),
      ...(description !== undefined ? { description } : {}),
    });
    this.record.state = 'in_progress';
    this.rt.log.info(`GitHub Deployment #${deployment.id} for ${environment} is in progress`);
    return { ...this.record };
  }

  /**
   * Continue a Deployment started by an earlier job or step (canary-promote `action: continue | promote`, or the
   * `post:` step of a cancelled run): checks it exists and belongs to the repository, and, unless `quiet` or it has
   * already finished, posts `in_progress` with this run's log URL so the environment links to the job now driving it.
   */
  async resume(id: number, options: { environmentUrl?: string; quiet?: boolean } = {}): Promise<DeploymentRecord> {
    if (this.record !== undefined) throw new Error(`deployment #${this.record.id} was already started`);
    if (!Number.isInteger(id) || id <= 0) throw new UserError(`Not a GitHub Deployment id: ${id}`);
    const { context } = this.options;
    const found = await this.api
      .request<GitHubDeployment>('GET', `${this.base}/${id}`, { permission: READ })
      .catch((error: unknown) => {
        const cause = error instanceof UserError ? error.cause : undefined;
        if (cause instanceof GitHubApiError && cause.status === 404) {
          throw new UserError(
            `GitHub Deployment #${id} was not found in ${context.repository} (or the token may not read its Deployments: \`permissions: ${READ}\`)`,
            { cause },
          );
        }
        throw error;
      });
    const deployment = found.data;
    const { latest } = await this.statusSummary(id);
    this.record = {
      id,
      environment: deployment.environment,
      state: latest?.state ?? 'pending',
      ref: deployment.ref,
      sha: deployment.sha,
      description: deployment.description ?? undefined,
      environmentUrl: options.environmentUrl ?? latest?.environment_url ?? undefined,
      logUrl: context.runUrl,
      historyUrl: this.historyUrl(deployment.environment),
      replaced: [],
      payload: payloadOf(deployment),
    };
    const finished = ['success', 'failure', 'error', 'inactive'].includes(this.record.state);
    if (!options.quiet && !finished) {
      await this.status(id, {
        state: 'in_progress',
        ...(context.runUrl !== undefined ? { log_url: context.runUrl } : {}),
        ...(this.record.environmentUrl !== undefined ? { environment_url: this.record.environmentUrl } : {}),
        ...(this.record.description !== undefined ? { description: this.record.description } : {}),
      });
      this.record.state = 'in_progress';
    }
    return { ...this.record };
  }

  /**
   * `success` with the environment URL, then `inactive` for the deployment(s) of the same environment (and app) it
   * replaces. We send `auto_inactive: false` and mark them ourselves: GitHub's `auto_inactive` (default true) marks
   * every earlier `success` deployment of the environment inactive, whatever app it was for (so with two apps in one
   * environment, rollback would lose the other app's active release), skips production and transient environments,
   * and is silent about what it touched. Only those still `success` are marked (nothing twice), and they are listed in
   * the summary.
   */
  async succeed(environmentUrl?: string, description?: string): Promise<DeploymentRecord> {
    const record = this.started('succeed');
    const url = environmentUrl ?? record.environmentUrl;
    const text = clip(description) ?? record.description;
    await this.status(record.id, {
      state: 'success',
      ...(record.logUrl !== undefined ? { log_url: record.logUrl } : {}),
      ...(url !== undefined ? { environment_url: url } : {}),
      ...(text !== undefined ? { description: text } : {}),
      auto_inactive: false,
    });
    record.state = 'success';
    record.environmentUrl = url;
    record.description = text;
    try {
      record.replaced = await this.deactivatePrevious(record);
    } catch (error) {
      // The release itself is recorded as a success; an old deployment still shown as active is cosmetic.
      this.rt.log.warning(
        `GitHub Deployment #${record.id} succeeded, but the deployment it replaced could not be marked inactive: ${(error as Error).message}`,
      );
    }
    this.rt.log.info(
      `GitHub Deployment #${record.id} for ${record.environment} succeeded` +
        (record.replaced.length > 0 ? `; replaced ${record.replaced.map((id) => `#${id}`).join(', ')}` : ''),
    );
    return { ...record };
  }

  /** Another `in_progress` status saying where the release stands (a canary paused at a weight), with this run's log. */
  async progress(description: string): Promise<DeploymentRecord> {
    const record = this.started('progress');
    const text = clip(description);
    await this.status(record.id, {
      state: 'in_progress',
      ...(record.logUrl !== undefined ? { log_url: record.logUrl } : {}),
      ...(record.environmentUrl !== undefined ? { environment_url: record.environmentUrl } : {}),
      ...(text !== undefined && text !== '' ? { description: text } : {}),
    });
    record.state = 'in_progress';
    record.description = text;
    return { ...record };
  }

  /**
   * The newest deployment of the environment still under way (latest status `in_progress`, `queued` or `pending`)
   * whose payload `match` accepts: how a later job (canary-promote `action: continue`) finds the Deployment its
   * `start` created. Only reads.
   */
  async findInProgress(
    environment: string,
    match: (payload: DeploymentPayload) => boolean,
    limit = 50,
  ): Promise<GitHubDeployment | undefined> {
    let seen = 0;
    for await (const deployment of this.deployments(environment)) {
      if (++seen > limit) break;
      if (!match(payloadOf(deployment))) continue;
      const { latest } = await this.statusSummary(deployment.id);
      if (latest !== undefined && !['in_progress', 'queued', 'pending'].includes(latest.state)) continue;
      return deployment;
    }
    return undefined;
  }

  /** `failure` with the reason (clipped to GitHub's 140 characters). */
  async fail(reason: string): Promise<DeploymentRecord> {
    const record = this.started('fail');
    const text = clip(reason);
    await this.status(record.id, {
      state: 'failure',
      ...(record.logUrl !== undefined ? { log_url: record.logUrl } : {}),
      ...(record.environmentUrl !== undefined ? { environment_url: record.environmentUrl } : {}),
      ...(text !== undefined && text !== '' ? { description: text } : {}),
    });
    record.state = 'failure';
    record.description = text;
    this.rt.log.info(`GitHub Deployment #${record.id} for ${record.environment} failed: ${text}`);
    return { ...record };
  }

  /**
   * For rollback: mark a bad release `failure` (with the reason) and then `inactive`, so the environment no longer
   * shows it as active and `lastSuccessfulDeployment` never returns to it. Call before `succeed` of the restored one.
   */
  async markBad(deploymentId: number, reason: string): Promise<void> {
    const logUrl = this.options.context.runUrl;
    const text = clip(reason);
    const common = {
      ...(logUrl !== undefined ? { log_url: logUrl } : {}),
      ...(text !== undefined && text !== '' ? { description: text } : {}),
    };
    await this.status(deploymentId, { state: 'failure', ...common });
    await this.status(deploymentId, { state: 'inactive', ...common });
    this.rt.log.info(`GitHub Deployment #${deploymentId} marked failure, then inactive: ${text}`);
  }

  /**
   * Rollback mode `github`: the release to undo (the active deployment, if any) and the one to return to (the newest
   * earlier deployment that reached `success` and was never marked bad), whose payload must name its images.
   * Only reads; a UserError says what is missing before anything changes.
   */
  async findRollbackTarget(environment: string, options: { app?: string | undefined } = {}): Promise<RollbackTarget> {
    const scope = options.app !== undefined ? ` for app ${options.app}` : '';
    const bad = await this.activeDeployment(environment, options);
    const target = await this.lastSuccessfulDeployment(environment, {
      app: options.app,
      ...(bad !== undefined ? { before: bad.id } : {}),
    });
    if (target === undefined) {
      throw new UserError(
        `No earlier successful GitHub Deployment of environment ${environment}${scope} to return to` +
          (bad !== undefined ? ` (the active one is #${bad.id})` : ''),
        { hint: 'use mode: kubernetes (previous revision) or mode: image with to-version instead' },
      );
    }
    const images = target.payload.images;
    if (
      images === undefined ||
      typeof images !== 'object' ||
      Object.keys(images).length === 0 ||
      Object.values(images).some((image) => typeof image !== 'string' || image === '')
    ) {
      throw new UserError(
        `GitHub Deployment #${target.id} of ${environment} (${target.ref}) has no images in its payload, so it cannot be redeployed`,
        {
          hint: 'deployments recorded by deploy-actions carry payload.images; use mode: image with to-version instead',
        },
      );
    }
    return { bad, target, images: images as Record<string, string> };
  }

  /** The environment's currently active deployment: the newest whose latest status is `success`. */
  async activeDeployment(environment: string, options: LookupOptions = {}): Promise<SuccessfulDeployment | undefined> {
    return this.find(environment, options, (latest) => latest?.state === 'success');
  }

  /**
   * The newest deployment of the environment that reached `success` and was not marked bad afterwards: its newest
   * `success`/`failure`/`error` status is `success`. Its latest status may be `inactive` — that is what every earlier
   * release becomes once a later one succeeds, so "latest status is success" alone would only ever find the current
   * release. Abandoned ones (in_progress → inactive) and rolled-back ones (success → failure) are skipped.
   */
  async lastSuccessfulDeployment(
    environment: string,
    options: LookupOptions = {},
  ): Promise<SuccessfulDeployment | undefined> {
    return this.find(environment, options, (_latest, verdict) => verdict?.state === 'success');
  }

  private async find(
    environment: string,
    options: LookupOptions,
    accept: (latest: GitHubDeploymentStatus | undefined, verdict: GitHubDeploymentStatus | undefined) => boolean,
  ): Promise<SuccessfulDeployment | undefined> {
    const limit = options.limit ?? 200;
    let seen = 0;
    for await (const deployment of this.deployments(environment)) {
      if (++seen > limit) break;
      if (options.before !== undefined && deployment.id >= options.before) continue;
      if (options.exclude?.includes(deployment.id)) continue;
      const payload = payloadOf(deployment);
      if (options.app !== undefined && payload.app !== options.app) continue;
      const { latest, verdict } = await this.statusSummary(deployment.id);
      if (!accept(latest, verdict) || verdict === undefined || latest === undefined) continue;
      return {
        id: deployment.id,
        environment: deployment.environment,
        sha: deployment.sha,
        ref: deployment.ref,
        createdAt: deployment.created_at,
        creator: deployment.creator?.login ?? undefined,
        payload,
        status: verdict,
        latestState: latest.state,
      };
    }
    return undefined;
  }

  /** The newest deployment with this exact ref, task, environment and payload, and no status yet. */
  private async findUnstarted(body: {
    ref: string;
    task: string;
    environment: string;
    payload: DeploymentPayload;
  }): Promise<GitHubDeployment | undefined> {
    const listed = await this.api.request<GitHubDeployment[]>('GET', this.base, {
      query: { environment: body.environment, ref: body.ref, task: body.task, per_page: 5 },
      permission: READ,
      attempts: 1,
    });
    const wanted = canonicalJson(body.payload);
    for (const deployment of Array.isArray(listed.data) ? listed.data : []) {
      if (canonicalJson(payloadOf(deployment)) !== wanted) continue;
      const statuses = await this.api.request<GitHubDeploymentStatus[]>(
        'GET',
        `${this.base}/${deployment.id}/statuses`,
        {
          query: { per_page: 1 },
          permission: READ,
        },
      );
      return Array.isArray(statuses.data) && statuses.data.length === 0 ? deployment : undefined;
    }
    return undefined;
  }

  /** The deployments of an environment, newest first, across pages. */
  deployments(environment: string): AsyncGenerator<GitHubDeployment> {
    return this.api.paginate<GitHubDeployment>(this.base, { environment, per_page: this.pageSize }, READ);
  }

  /** The newest status, and the newest verdict status (success/failure/error), reading only as many pages as needed. */
  private async statusSummary(
    id: number,
  ): Promise<{ latest: GitHubDeploymentStatus | undefined; verdict: GitHubDeploymentStatus | undefined }> {
    let latest: GitHubDeploymentStatus | undefined;
    for await (const status of this.api.paginate<GitHubDeploymentStatus>(
      `${this.base}/${id}/statuses`,
      { per_page: 100 },
      READ,
    )) {
      latest ??= status;
      if (isVerdict(status.state)) return { latest, verdict: status };
    }
    return { latest, verdict: undefined };
  }

  /** Older deployments of the same environment and app still shown as active → `inactive`. */
  private async deactivatePrevious(record: DeploymentRecord): Promise<number[]> {
    const replaced: number[] = [];
    let seen = 0;
    for await (const deployment of this.deployments(record.environment)) {
      if (++seen > 200) break;
      if (deployment.id === record.id || deployment.id > record.id) continue;
      if (payloadOf(deployment).app !== record.payload.app) continue;
      const { latest } = await this.statusSummary(deployment.id);
      if (latest?.state === 'success') {
        await this.status(deployment.id, {
          state: 'inactive',
          ...(record.logUrl !== undefined ? { log_url: record.logUrl } : {}),
          description: `Replaced by deployment #${record.id}`,
        });
        replaced.push(deployment.id);
      } else if (latest?.state === 'inactive') {
        // Already replaced by an earlier release: everything older was handled then.
        break;
      }
    }
    return replaced;
  }

  private async status(id: number, body: Record<string, unknown>): Promise<GitHubDeploymentStatus> {
    const response = await this.api.request<GitHubDeploymentStatus>('POST', `${this.base}/${id}/statuses`, {
      body,
      permission: WRITE,
    });
    return response.data;
  }

  private historyUrl(environment: string): string {
    const { serverUrl, repository } = this.options.context;
    return `${serverUrl}/${repository}/deployments/${encodeURIComponent(environment)}`;
  }

  private started(what: string): DeploymentRecord {
    if (this.record === undefined) throw new Error(`${what}() before start(): no GitHub Deployment was created`);
    return this.record;
  }
}

/**
 * The recorder for this run: context from the runtime's `GITHUB_*` variables (GITHUB_REPOSITORY required).
 * Adapters call it only when a token is given, after `await import('@deploy-actions/core/github')`.
 */
export function createDeploymentRecorder(
  rt: Runtime,
  token: string,
  options: Omit<DeploymentRecorderOptions, 'token' | 'context'> & { context?: GitHubContext } = {},
): DeploymentRecorder {
  return new DeploymentRecorder(rt, { ...options, token, context: options.context ?? githubContext(rt.env) });
}
