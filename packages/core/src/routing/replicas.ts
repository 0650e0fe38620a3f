/**
 * Weight by replica counts: canary and stable pods sit behind one Service, so
 * each pod gets about the same share. The total stays the stable's size when
 * the shift began (recorded on the stable Deployment), the canary gets
 * round(N*w/100) pods and the stable the rest. Only `spec.replicas` and
 * annotations change on the stable Deployment: its pod template never does.
 *
 * An HPA on the stable would undo the split: its selector (the stable's) also
 * selects the canary pods, so it sizes the stable for all of them and puts the
 * canary on top instead of out of the stable's pods. While the shift runs the
 * HPA is held at the stable's count (minReplicas = maxReplicas; its own range
 * kept in an annotation on the stable Deployment) and given its range back
 * before promotion and on abort. With an HPA the total may also grow, up to
 * half the base and never past the HPA's maximum, when that brings the share
 * closer to the weight (5 % of 5 pods: 1 of 7, not 1 of 5), unless the HPA's
 * minReplicas already holds the stable above its share.
 */
import { UserError } from '../errors';
import { getOptional, getRequired } from '../kube/objects';
import type { Deployment, KubeObject } from '../kube/types';
import { checkWeight } from './common';
import type { ReplicasRouterConfig, RouterDeps, RouterState, TrafficRouter, TrafficTarget } from './types';

/** The stable Deployment's replica count before the first shift; restored on promote and abort. */
export const BASE_ANNOTATION = 'deploy-actions.dev/stable-replicas';
/**
 * On the stable Deployment while the shift holds its HPA: `{ name, minReplicas, maxReplicas }` (JSON), the
 * HPA's own range, given back on promote and abort (by whichever run does them).
 */
export const HPA_RANGE_ANNOTATION = 'deploy-actions.dev/hpa-range';

interface HpaRange {
  name: string;
  minReplicas?: number;
  maxReplicas?: number;
}

interface Hpa extends KubeObject {
  spec?: { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number };
  status?: { currentReplicas?: number; desiredReplicas?: number };
}

interface Split {
  base: number;
  canary: number;
  /** Baseline pods (the canary's count): behind the same Service, they serve the stable version's share. */
  baseline: number;
  stable: number;
  /** Why the stable count is above base - canary (an HPA's minReplicas). */
  note: string;
}

export class ReplicasRouter implements TrafficRouter {
  readonly name = 'replicas' as const;

  constructor(
    private readonly config: ReplicasRouterConfig,
    private readonly target: TrafficTarget,
    private readonly deps: RouterDeps,
  ) {}

  private get serviceName(): string | undefined {
    return this.config.service ?? this.target.stable.service;
  }

  async validate(): Promise<void> {
    const stable = await this.deployment('stable');
    const canary = await getOptional<Deployment>(
      this.deps.client,
      'Deployment',
      this.target.namespace,
      this.target.canary.deployment,
    );
    await this.checkService(stable, canary);
  }

  async achievableWeight(weight: number): Promise<number> {
    checkWeight(weight);
    const [stable, hpa] = await Promise.all([this.deployment('stable'), this.hpa()]);
    return this.state(weight, this.split(stable, hpa, weight)).actualWeight;
  }

  async setWeight(weight: number): Promise<RouterState> {
    checkWeight(weight);
    const [stable, canary, hpa] = await Promise.all([this.deployment('stable'), this.deployment('canary'), this.hpa()]);
    await this.checkService(stable, canary);
    const split = this.split(stable, hpa, weight);
    // Canary (and baseline) first, then stable: capacity never dips below the total during the shift.
    await this.scale(this.target.canary.deployment, split.canary);
    if (this.target.baseline) await this.scale(this.target.baseline.deployment, split.baseline);
    // The HPA before the stable: it must not scale the stable back up once it has given the canary its pods.
    // Its own range is saved on the stable before the hold: a hold whose range was never saved (the save
    // failed, or the job was cancelled in between) could not be given back, and a later shift would save the
    // held values as the HPA's own.
    const range = hpa ? rangeOf(stable, hpa) : undefined;
    if (hpa && range && weight > 0) {
      const saved = JSON.stringify(range);
      if (stable.metadata?.annotations?.[HPA_RANGE_ANNOTATION] !== saved)
        await this.deps.client.patch(
          'Deployment',
          { namespace: this.target.namespace, name: this.target.stable.deployment },
          { metadata: { annotations: { [HPA_RANGE_ANNOTATION]: saved } } },
          'merge',
        );
      await this.holdHpa(range.name, split.stable);
      this.deps.log?.info(
        `HorizontalPodAutoscaler ${range.name} held at ${split.stable} (the stable's count) until promotion or abort give it back its ${describeRange(range)}`,
      );
    } else if (range && stable.metadata?.annotations?.[HPA_RANGE_ANNOTATION] !== undefined)
      await this.releaseHpa(range);
    // The range annotation: kept while held (saved above), cleared only once the HPA has it back.
    await this.patchStable(split.stable, String(split.base), false, weight > 0 ? undefined : null);
    return this.state(weight, split);
  }

  /**
   * Surge first: the canary (and baseline) up to their count for `weight`, or the stable back up when the
   * weight goes down (0: its size before the shift); nothing is lowered here, so capacity never dips while
   * the new pods start. setWeight (or abort) then lowers the other side once these are Ready.
   */
  async surge(weight: number): Promise<void> {
    checkWeight(weight);
    const [stable, hpa] = await Promise.all([this.deployment('stable'), this.hpa()]);
    const split = this.split(stable, hpa, weight);
    const current = async (name: string) =>
      (await getOptional<Deployment>(this.deps.client, 'Deployment', this.target.namespace, name))?.spec?.replicas ?? 0;
    if (split.canary > (await current(this.target.canary.deployment)))
      await this.scale(this.target.canary.deployment, split.canary);
    if (this.target.baseline && split.baseline > (await current(this.target.baseline.deployment)))
      await this.scale(this.target.baseline.deployment, split.baseline);
    if (split.stable > (stable.spec?.replicas ?? 0)) {
      // An HPA held at the stable's share would scale it straight back: it gets its range back first.
      if (weight === 0) {
        const held = heldRange(stable);
        if (held) await this.giveBackHpa(held);
      }
      await this.scale(this.target.stable.deployment, split.stable);
    }
  }

  async promote(): Promise<void> {
    await this.restore();
  }

  /** Before the stable takes the new version: its HPA gets its own range back, so the stable's full size holds. */
  async releaseAutoscaler(): Promise<void> {
    const stable = await this.deployment('stable');
    const range = heldRange(stable);
    if (range !== undefined) await this.giveBackHpa(range);
  }

  async abort(): Promise<void> {
    await this.restore();
  }

  async plan(weight: number): Promise<string[]> {
    checkWeight(weight);
    const [stable, hpa] = await Promise.all([this.deployment('stable'), this.hpa()]);
    const split = this.split(stable, hpa, weight);
    const canaryExists = await getOptional(
      this.deps.client,
      'Deployment',
      this.target.namespace,
      this.target.canary.deployment,
    );
    if (canaryExists) await this.scale(this.target.canary.deployment, split.canary, true);
    const range = hpa && weight > 0 ? rangeOf(stable, hpa) : undefined;
    if (range) await this.holdHpa(range.name, split.stable, true);
    await this.patchStable(split.stable, String(split.base), true, range);
    const { namespace } = this.target;
    return [
      `scale Deployment ${namespace}/${this.target.canary.deployment} to ${split.canary}${canaryExists ? ' (server dry run passed)' : ''}`,
      ...(range
        ? [
            `hold HorizontalPodAutoscaler ${namespace}/${range.name} at ${split.stable} (minReplicas = maxReplicas; its ${describeRange(range)} comes back at promotion or abort) (server dry run passed)`,
          ]
        : []),
      `scale Deployment ${namespace}/${this.target.stable.deployment} to ${split.stable} (server dry run passed)`,
      this.state(weight, split).detail,
    ];
  }

  /** The HPA at `replicas`: it keeps the stable there while the canary has its share. */
  private async holdHpa(name: string, replicas: number, dryRun = false): Promise<void> {
    await this.deps.client.patch(
      'HorizontalPodAutoscaler',
      { namespace: this.target.namespace, name },
      { spec: { minReplicas: replicas, maxReplicas: replicas } },
      'merge',
      { dryRun },
    );
  }

  /** The HPA's own range back (a missing HPA: nothing to give back). */
  private async releaseHpa(range: HpaRange): Promise<void> {
    await this.deps.client
      .patch(
        'HorizontalPodAutoscaler',
        { namespace: this.target.namespace, name: range.name },
        // null: minReplicas was not set (the API server's default, 1, applies again).
        { spec: { minReplicas: range.minReplicas ?? null, maxReplicas: range.maxReplicas } },
        'merge',
      )
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 404) throw error;
      });
  }

  /** Canary to zero and stable back to its size before the shift (both at once: abort must be fast). */
  private async restore(): Promise<void> {
    const stable = await this.deployment('stable');
    const recorded = Number(stable.metadata?.annotations?.[BASE_ANNOTATION]);
    const base = Number.isInteger(recorded) && recorded > 0 ? recorded : (stable.spec?.replicas ?? 1);
    const held = heldRange(stable);
    await Promise.all([
      this.scale(this.target.canary.deployment, 0, false, true),
      ...(this.target.baseline ? [this.scale(this.target.baseline.deployment, 0, false, true)] : []),
      this.patchStable(Math.max(base, stable.spec?.replicas ?? 0), null, false, undefined),
      ...(held ? [this.giveBackHpa(held)] : []),
    ]);
  }

  /**
   * The HPA's own range back, then the saved range off the stable: only once the HPA has it back, so that if
   * giving it back fails, the next abort (or promotion) still can.
   */
  private async giveBackHpa(range: HpaRange): Promise<void> {
    await this.releaseHpa(range);
    await this.deps.client.patch(
      'Deployment',
      { namespace: this.target.namespace, name: this.target.stable.deployment },
      { metadata: { annotations: { [HPA_RANGE_ANNOTATION]: null } } },
      'merge',
    );
  }

  private split(stable: Deployment, hpa: Hpa | undefined, weight: number): Split {
    const recorded = Number(stable.metadata?.annotations?.[BASE_ANNOTATION]);
    let base: number;
    if (Number.isInteger(recorded) && recorded > 0) base = recorded;
    else if (hpa) {
      // The HPA's own count is the truth for the stable's size; never above its maximum.
      const desired = hpa.status?.desiredReplicas ?? hpa.status?.currentReplicas ?? stable.spec?.replicas ?? 1;
      base = Math.min(Math.max(desired, 1), rangeOf(stable, hpa).maxReplicas ?? desired);
    } else base = stable.spec?.replicas ?? 1;
    base = Math.max(base, 1);
    if (weight === 0) return { base, canary: 0, baseline: 0, stable: base, note: '' };
    const range = hpa ? rangeOf(stable, hpa) : undefined;
    const withBaseline = this.target.baseline ? 2 : 1;
    const min = range?.minReplicas ?? 1;
    let total = base;
    let canary = Math.max(1, Math.round((base * weight) / 100));
    let error = Math.abs(canary / base - weight / 100);
    // Without an HPA the total is the base. With one it may grow (half the base at most, never past the HPA's
    // maximum) when that brings the share closer: the smallest total with the closest share. Not when the
    // HPA's minReplicas already holds the stable above its share (the floor decides the split then).
    const floored = base - canary * withBaseline < min;
    const top =
      range && !floored ? Math.max(base, Math.min(range.maxReplicas ?? base, base + Math.floor(base / 2))) : base;
    for (let t = base + 1; t <= top; t++) {
      for (const c of [Math.floor((t * weight) / 100), Math.ceil((t * weight) / 100)]) {
        if (c < 1 || t - c * withBaseline < min) continue;
        const e = Math.abs(c / t - weight / 100);
        if (e < error - 1e-9) [total, canary, error] = [t, c, e];
      }
    }
    // The baseline's pods take part of the stable version's share: the stable gives them its pods.
    const baseline = this.target.baseline ? canary : 0;
    let stableCount = Math.max(1, total - canary - baseline);
    let note = baseline > 0 ? `; baseline ${baseline} pods serve the stable version's share with it` : '';
    if (stableCount < min) {
      // Below its minimum the HPA would scale the stable straight back up.
      stableCount = Math.min(min, base);
      note += `; stable kept at the HPA's minReplicas ${min}`;
    }
    return { base, canary, baseline, stable: stableCount, note };
  }

  private state(weight: number, split: Split): RouterState {
    const total = split.canary + split.stable + split.baseline;
    const actual = total === 0 ? 0 : Math.round((split.canary / total) * 1000) / 10;
    return {
      weight,
      actualWeight: actual,
      detail: `canary ${split.canary} of ${total} pods (${actual}%), stable ${split.stable}${split.baseline > 0 ? `, baseline ${split.baseline}` : ''}: weights as close as the replica counts allow${split.note}`,
    };
  }

  private async scale(name: string, replicas: number, dryRun = false, ignoreMissing = false): Promise<void> {
    try {
      await this.deps.client.patch(
        'Deployment',
        { namespace: this.target.namespace, name, subresource: 'scale' },
        { spec: { replicas } },
        'merge',
        { dryRun },
      );
    } catch (error) {
      if (ignoreMissing && (error as { code?: unknown }).code === 404) return;
      throw error;
    }
  }

  /**
   * Replicas and the base annotation in one merge patch (never the pod template); `range`: the held HPA's own
   * range to keep (null: none is held any more; undefined: leave the annotation as it is).
   */
  private async patchStable(
    replicas: number,
    base: string | null,
    dryRun = false,
    range?: HpaRange | null,
  ): Promise<void> {
    const annotations: Record<string, string | null> = { [BASE_ANNOTATION]: base };
    if (range !== undefined) annotations[HPA_RANGE_ANNOTATION] = range === null ? null : JSON.stringify(range);
    await this.deps.client.patch(
      'Deployment',
      { namespace: this.target.namespace, name: this.target.stable.deployment },
      { metadata: { annotations }, spec: { replicas } },
      'merge',
      { dryRun },
    );
  }

  private async hpa(): Promise<Hpa | undefined> {
    const list = await this.deps.client.list<Hpa>('HorizontalPodAutoscaler', { namespace: this.target.namespace });
    return list.items.find(
      (h) =>
        h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === this.target.stable.deployment,
    );
  }

  /** The Service must select the pods of both versions, or the canary never sees traffic. */
  private async checkService(stable: Deployment, canary: Deployment | undefined): Promise<void> {
    const name = this.serviceName;
    if (name === undefined) return;
    const service = await getRequired<KubeObject & { spec?: { selector?: Record<string, string> } }>(
      this.deps.client,
      'Service',
      this.target.namespace,
      name,
      'Service',
      `create a Service selecting the pods of both versions (e.g. selector: { app: ${this.target.app} }), or set router-config service`,
    );
    const selector = service.spec?.selector ?? {};
    for (const [which, deployment] of [
      ['stable', stable],
      ['canary', canary],
    ] as const) {
      if (deployment === undefined) continue;
      const labels = deployment.spec?.template?.metadata?.labels ?? {};
      const unmatched = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
      if (unmatched.length > 0)
        throw new UserError(
          `Service '${name}' selector ${unmatched.map(([k, v]) => `${k}=${v}`).join(', ')} does not select the ${which} pods of Deployment '${deployment.metadata?.name}': the replicas router needs one Service in front of both versions.`,
          {
            hint: `select on labels both versions share (e.g. selector: { app: ${this.target.app} }), or use router: service for blue-green`,
          },
        );
    }
  }

  private deployment(which: 'stable' | 'canary'): Promise<Deployment> {
    return getRequired<Deployment>(
      this.deps.client,
      'Deployment',
      this.target.namespace,
      this.target[which].deployment,
      `${which === 'stable' ? 'Stable' : 'Canary'} Deployment`,
      which === 'stable'
        ? 'set deployments to the name of the running Deployment'
        : 'the canary Deployment is created by canary-promote before traffic moves',
    );
  }
}

/** The range the shift holds the stable's HPA away from, as saved on the stable; undefined when none is held. */
function heldRange(stable: Deployment): HpaRange | undefined {
  const saved = stable.metadata?.annotations?.[HPA_RANGE_ANNOTATION];
  if (saved === undefined) return undefined;
  try {
    const range = JSON.parse(saved) as HpaRange;
    return typeof range.name === 'string' ? range : undefined;
  } catch {
    return undefined;
  }
}

/** The HPA's own range: the one saved while the shift holds it (a second hold must not save ours), else its spec's. */
function rangeOf(stable: Deployment, hpa: Hpa): HpaRange {
  const held = heldRange(stable);
  if (held && held.name === hpa.metadata?.name) return held;
  return {
    name: hpa.metadata?.name ?? '',
    ...(hpa.spec?.minReplicas !== undefined ? { minReplicas: hpa.spec.minReplicas } : {}),
    ...(hpa.spec?.maxReplicas !== undefined ? { maxReplicas: hpa.spec.maxReplicas } : {}),
  };
}

function describeRange(range: HpaRange): string {
  return `minReplicas ${range.minReplicas ?? 1}, maxReplicas ${range.maxReplicas ?? '(unset)'}`;
}
