/**
 * The state one rollout run shares between its concerns (prepare, steps, promote, abort, blue-green, the dry-run
 * plan): the ports, the settings, the units (one per stable Deployment), the record and what this run saw.
 * Each concern is a file of functions taking this context; `Rollout` (canary.ts) is the facade over them.
 */
import type { KubeClient } from '../kube/client';
import { waitForRollout } from '../kube/rollout-wait';
import type { Deployment, KubeObject, PodTemplateSpec } from '../kube/types';
import { type MetricSpec, uniqueMetrics } from '../metrics/spec';
import type { TrafficRouter } from '../routing/types';
import type { Runtime } from '../runtime/port';
import type { RecordStore, RolloutRecord, WorkloadRecord } from '../state/record';
import type { RolloutOutcome, RolloutResult, RolloutSettings, WeightPoint } from './types';
import { baselineVersion, configRefs } from './workloads';

/** One stable Deployment in the rollout, with what runs beside it and the router between them. */
export interface Unit {
  stable: Deployment;
  record: WorkloadRecord;
  canary?: Deployment;
  baseline?: Deployment;
  /** Config copies to create (prepare); none after resume. */
  copies: KubeObject[];
  router: TrafficRouter;
  /**
   * The template the stable takes at promotion, given whole (staged rollback: the previous revision's); else
   * the stable's own with the canary's images and config copies.
   */
  promotionTemplate?: PodTemplateSpec;
}

/** A workload's record with its own versions (records written before them have none: the rollout's). */
export type VersionedWorkload = WorkloadRecord & { stableVersion?: string; canaryVersion?: string };

/** Why an abort happened, as the user reads it in the summary: one sentence. */
export class StepFailed extends Error {}

export class RolloutContext {
  units: Unit[] = [];
  readonly timeline: WeightPoint[] = [];
  readonly analyses: RolloutOutcome['analyses'] = [];
  /** Router details of the last weight change. */
  routing: string[] = [];
  record!: RolloutRecord;
  /** The highest weight this run sized the canary for (a step that failed half-way included). */
  highestWeight = 0;

  constructor(
    readonly rt: Runtime,
    readonly client: KubeClient,
    readonly store: RecordStore,
    readonly settings: RolloutSettings,
  ) {}

  get log() {
    return this.rt.log;
  }

  async save(change: Partial<RolloutRecord>): Promise<void> {
    Object.assign(this.record, change, { updatedAt: new Date(this.rt.clock.now()).toISOString() });
    await this.store.save(this.record);
  }

  async holdLease(ms: number): Promise<void> {
    await this.settings.holdLease?.(ms);
  }

  outcome(
    result: RolloutResult,
    reason: string,
    extra: { plan?: string[]; stepFailure?: string } = {},
  ): RolloutOutcome {
    return {
      result,
      record: this.record,
      reason,
      timeline: this.timeline,
      analyses: this.analyses,
      routing: this.routing,
      ...extra,
    };
  }

  /** The versions a query's placeholders stand for. */
  targets(stable = this.record.stableVersion, canary = this.record.canaryVersion) {
    return {
      canary,
      stable,
      // The baseline runs the stable version, but its pods carry their own version label value.
      ...(this.settings.baseline ? { baseline: baselineVersion(stable) } : {}),
      namespace: this.settings.namespace,
      app: this.store.app,
    };
  }

  /** Every metric the plan checks: the steps' analyses, then post-promotion's, each name once. */
  plannedMetrics(): MetricSpec[] {
    return uniqueMetrics([
      ...this.settings.steps.flatMap((step) => step.analysis),
      ...(this.settings.postPromotion?.metrics ?? []),
    ]);
  }

  /** One Deployment's rollout to its end, within the rollout timeout. */
  waitForDeployment(name: string, timeoutMs = this.settings.rolloutTimeoutMs) {
    return waitForRollout(
      this.client,
      { kind: 'Deployment', namespace: this.settings.namespace, name },
      { clock: this.rt.clock, timeoutMs, signal: this.rt.signal },
    );
  }

  /** Every stable Deployment's rollout, to the end (after a promotion patch, a patch back, or a surge), at once. */
  async waitForStables(units: Unit[] = this.units): Promise<void> {
    await Promise.all(units.map((unit) => this.waitForDeployment(unit.record.stable)));
  }

  /** ConfigMap and Secret names the namespace's Deployments reference, leaving out the Deployments `except`. */
  async referencedConfig(except: ReadonlySet<string | undefined> = new Set()): Promise<Set<string>> {
    const names = new Set<string>();
    const deployments = await this.client.list<Deployment>('Deployment', { namespace: this.settings.namespace });
    for (const deployment of deployments.items) {
      if (except.has(deployment.metadata?.name)) continue;
      const refs = configRefs(deployment.spec?.template);
      for (const name of [...refs.configMaps, ...refs.secrets]) names.add(name);
    }
    return names;
  }
}

/** An error's message as a clause, its final period dropped, to go on inside a longer sentence. */
export function sentenceOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.+$/, '');
}
