/**
 * The rollout state record: one ConfigMap `deploy-actions-<app>` beside the
 * workloads, holding what a later run (continue, abort, finalize, rollback
 * in-flight, the post step) needs to pick up where this one stopped. Every
 * write carries the resourceVersion last read, so two writers never silently
 * overwrite each other.
 */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { isConflict, KubeApiError } from '../kube/errors';
import { getOptional } from '../kube/objects';
import type { KubeObject } from '../kube/types';
import type { MetricSpec } from '../metrics/spec';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'deploy-actions' } as const;
export const ROLE_LABEL = 'deploy-actions.dev/role';
export const VERSION_LABEL = 'deploy-actions.dev/version';
export const APP_LABEL = 'deploy-actions.dev/app';
/** On a ConfigMap/Secret copy made for a canary: the name it was copied from. */
export const COPY_OF_ANNOTATION = 'deploy-actions.dev/copy-of';
/** On a canary, baseline or green Deployment: the stable Deployment it was made beside. */
export const STABLE_ANNOTATION = 'deploy-actions.dev/stable';

export type RolloutPhase =
  /** Steps are running (or the run died while they were). */
  | 'progressing'
  /** Stopped at a weight on purpose (pause-at, or previous-step after a failed step). */
  | 'paused'
  /** The stable Deployment is taking the new template. */
  | 'promoting'
  /** Blue-green: traffic switched, the old version still running until finalize. */
  | 'switched'
  /** An abort began (traffic back to stable, canary to 0; during a promotion the stables back first): a later run finishes it, never promotes. */
  | 'aborting'
  | 'promoted'
  | 'aborted'
  | 'rolled-back';

/** Phases in which traffic may still go to a canary (what rollback's `mode: in-flight` acts on). */
export const IN_FLIGHT_PHASES: readonly RolloutPhase[] = ['progressing', 'paused', 'promoting', 'switched', 'aborting'];

export interface StepVerdict {
  step: number;
  weight: number;
  /** The share the router really served at this step (whole pods for the replicas router), when known. */
  served?: number;
  verdict: 'pass' | 'fail' | 'inconclusive' | 'skipped';
  reason: string;
  at: string;
}

export interface WorkloadRecord {
  /** The stable Deployment. */
  stable: string;
  /** The canary (or green) Deployment; baseline when started. */
  canary: string;
  baseline?: string;
  stableImages: Record<string, string>;
  canaryImages: Record<string, string>;
  /** Original ConfigMap/Secret name → the versioned copy the canary uses, per kind. */
  configCopies: { configMaps: Record<string, string>; secrets: Record<string, string> };
  /** The stable's revision before promotion (what post-promotion rollback returns to). */
  stableRevision?: number;
  /**
   * The stable's template before promotion, as the first promote found it: its images and the ConfigMaps and
   * Secrets it references. An abort during the promotion and a post-promotion rollback return the stable to the
   * ReplicaSet with this template (a restored ReplicaSet takes a new revision number). Older records: none.
   */
  stableTemplate?: { images: Record<string, string>; configMaps: string[]; secrets: string[] };
}

/** One step of the recorded plan. */
export interface PlannedStep {
  weight: number;
  /** ms */
  pause: number;
  analysis: MetricSpec[];
}

/**
 * The plan a `start` ran with, so `continue`, `promote` and `finalize` in a later job follow it whatever
 * their own inputs say (inputs that differ are refused). Secrets in the analysis (Datadog keys,
 * credential headers) are stored as REDACTED: a later job must give that input again.
 */
export interface RolloutPlan {
  steps: PlannedStep[];
  onStepFailure: 'abort' | 'previous-step';
  baseline: boolean;
  postPromotion?: { duration: number; metrics: MetricSpec[] };
  /** Blue-green: ms blue stays after the switch, or `manual` (until a later finalize or abort). */
  scaleDownDelay?: number | 'manual';
  /** The parsed plan inputs this was built from (secrets REDACTED), what a later job's inputs are compared with. */
  inputs: Record<string, unknown>;
}

/** Stands in for a secret value in the record. */
export const REDACTED = '(secret: not stored, give this input again)';

export interface RolloutRecord {
  version: 1;
  app: string;
  namespace: string;
  strategy: 'canary' | 'blue-green';
  phase: RolloutPhase;
  /** Index into `steps` of the step reached. -1 before the first. */
  stepIndex: number;
  steps: number[];
  weight: number;
  router: { kind: string; config: unknown };
  stableVersion: string;
  canaryVersion: string;
  workloads: WorkloadRecord[];
  verdicts: StepVerdict[];
  /** One sentence: why the rollout stopped, aborted or rolled back. */
  reason?: string;
  runUrl?: string;
  runId?: string;
  updatedAt: string;
  /** When the rollout started (ISO): the stable's `stable-history` window ends here for every step. */
  startedAt?: string;
  /** Blue-green: when blue may be scaled down (ISO). */
  scaleDownAt?: string;
  /** What start planned (absent in records written before it was kept). */
  plan?: RolloutPlan;
}

export function recordName(app: string): string {
  return `deploy-actions-${app}`;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** Read the record of `app`, or undefined when none was ever written. Used by rollback's `mode: in-flight`. */
export async function readRolloutRecord(
  client: KubeClient,
  namespace: string,
  app: string,
): Promise<RolloutRecord | undefined> {
  return (await RecordStore.load(client, namespace, app)).record;
}

/** The record plus the resourceVersion it was read at: `save` fails rather than overwrite a newer write. */
export class RecordStore {
  private constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly app: string,
    public record: RolloutRecord | undefined,
    private resourceVersion: string | undefined,
  ) {}

  static async load(client: KubeClient, namespace: string, app: string): Promise<RecordStore> {
    const map = await getOptional<ConfigMap>(client, 'ConfigMap', namespace, recordName(app));
    if (map === undefined) return new RecordStore(client, namespace, app, undefined, undefined);
    const text = map.data?.['record'];
    let record: RolloutRecord | undefined;
    if (text) {
      try {
        record = JSON.parse(text) as RolloutRecord;
      } catch {
        throw new UserError(
          `The rollout record ConfigMap "${recordName(app)}" in "${namespace}" does not hold valid JSON in data.record; fix or delete it`,
        );
      }
    }
    return new RecordStore(client, namespace, app, record, map.metadata?.resourceVersion);
  }

  async save(record: RolloutRecord, retries = 3): Promise<void> {
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: recordName(this.app),
        namespace: this.namespace,
        labels: { ...MANAGED_BY, [APP_LABEL]: this.app },
        annotations: {
          'deploy-actions.dev/phase': record.phase,
          ...(record.runUrl ? { 'deploy-actions.dev/run-url': record.runUrl } : {}),
        },
        ...(this.resourceVersion ? { resourceVersion: this.resourceVersion } : {}),
      },
      data: { record: JSON.stringify(record, null, 2) },
    };
    try {
      const written = this.resourceVersion
        ? await this.client.replace<ConfigMap>('ConfigMap', body)
        : await this.client.create<ConfigMap>('ConfigMap', body);
      this.resourceVersion = written.metadata?.resourceVersion;
      this.record = record;
    } catch (error) {
      if ((isConflict(error) || (error instanceof KubeApiError && error.code === 409)) && retries > 0) {
        // Read again and retry: the writes are fenced by the Lease (the client's check), so a write that passes
        // it is this run's to make; what the other write changed is what this run saw (it holds the Lease).
        const fresh = await RecordStore.load(this.client, this.namespace, this.app);
        const written = fresh.record;
        if (written === undefined || written.canaryVersion === record.canaryVersion) {
          this.resourceVersion = fresh.resourceVersion;
          return this.save(record, retries - 1);
        }
      }
      if (isConflict(error) || (error instanceof KubeApiError && error.code === 409)) {
        throw new UserError(
          `The rollout record "${recordName(this.app)}" was changed by another run while this one was working (phase here: ${record.phase}, weight ${record.weight}%); read it with kubectl get configmap ${recordName(this.app)} -n ${this.namespace} -o yaml before trying again`,
        );
      }
      throw error;
    }
  }
}

/** The analysis option that makes every step read the stable's history up to the rollout's start. */
export function stableHistoryEnd(record: RolloutRecord): { stableHistoryEnd?: number } {
  const started = record.startedAt === undefined ? Number.NaN : Date.parse(record.startedAt);
  return Number.isFinite(started) ? { stableHistoryEnd: started } : {};
}
