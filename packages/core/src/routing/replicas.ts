/**
 * Weight by replica counts: canary and stable pods sit behind one Service, so
 * each pod gets about the same share. The total stays the stable's size when
 * the shift began (recorded on the stable Deployment), the canary gets
 * round(N*w/100) pods and the stable the rest. Only `spec.replicas` and one
 * annotation change on the stable Deployment: its pod template never does.
 */
import { UserError } from '../errors';
import type { Deployment, KubeObject } from '../kube/types';
import { checkWeight, getOptional, getRequired } from './common';
import type { ReplicasRouterConfig, RouterDeps, RouterState, TrafficRouter, TrafficTarget } from './types';

/** The stable Deployment's replica count before the first shift; restored on promote and abort. */
export const BASE_ANNOTATION = 'deploy-actions.dev/stable-replicas';

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

  async setWeight(weight: number): Promise<RouterState> {
    checkWeight(weight);
    const [stable, canary, hpa] = await Promise.all([this.deployment('stable'), this.deployment('canary'), this.hpa()]);
    await this.checkService(stable, canary);
    const split = this.split(stable, hpa, weight);
    // Canary (and baseline) first, then stable: capacity never dips below the total during the shift.
    await this.scale(this.target.canary.deployment, split.canary);
    if (this.target.baseline) await this.scale(this.target.baseline.deployment, split.baseline);
    await this.patchStable(split.stable, String(split.base));
    return this.state(weight, split);
  }

  async promote(): Promise<void> {
    await this.restore();
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
    await this.patchStable(split.stable, String(split.base), true);
    const { namespace } = this.target;
    return [
      `scale Deployment ${namespace}/${this.target.canary.deployment} to ${split.canary}${canaryExists ? ' (server dry run passed)' : ''}`,
      `scale Deployment ${namespace}/${this.target.stable.deployment} to ${split.stable} (server dry run passed)`,
      this.state(weight, split).detail,
    ];
  }

  /** Canary to zero and stable back to its size before the shift (both at once: abort must be fast). */
  private async restore(): Promise<void> {
    const stable = await this.deployment('stable');
    const recorded = Number(stable.metadata?.annotations?.[BASE_ANNOTATION]);
    const base = Number.isInteger(recorded) && recorded > 0 ? recorded : (stable.spec?.replicas ?? 1);
    await Promise.all([
      this.scale(this.target.canary.deployment, 0, false, true),
      ...(this.target.baseline ? [this.scale(this.target.baseline.deployment, 0, false, true)] : []),
      this.patchStable(Math.max(base, stable.spec?.replicas ?? 0), null),
    ]);
  }

  private split(stable: Deployment, hpa: Hpa | undefined, weight: number): Split {
    const recorded = Number(stable.metadata?.annotations?.[BASE_ANNOTATION]);
    let base: number;
    if (Number.isInteger(recorded) && recorded > 0) base = recorded;
    else if (hpa) {
      // The HPA's own count is the truth for the stable's size; never above its maximum.
      const desired = hpa.status?.desiredReplicas ?? hpa.status?.currentReplicas ?? stable.spec?.replicas ?? 1;
      base = Math.min(Math.max(desired, 1), hpa.spec?.maxReplicas ?? desired);
    } else base = stable.spec?.replicas ?? 1;
    base = Math.max(base, 1);
    if (weight === 0) return { base, canary: 0, baseline: 0, stable: base, note: '' };
    const canary = Math.max(1, Math.round((base * weight) / 100));
    // The baseline's pods take part of the stable version's share: the stable gives them its pods.
    const baseline = this.target.baseline ? canary : 0;
    let stableCount = Math.max(1, base - canary - baseline);
    let note = baseline > 0 ? `; baseline ${baseline} pods serve the stable version's share with it` : '';
    const min = hpa?.spec?.minReplicas ?? 1;
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

  /** Replicas and the base annotation in one merge patch (never the pod template). */
  private async patchStable(replicas: number, base: string | null, dryRun = false): Promise<void> {
    await this.deps.client.patch(
      'Deployment',
      { namespace: this.target.namespace, name: this.target.stable.deployment },
      { metadata: { annotations: { [BASE_ANNOTATION]: base } }, spec: { replicas } },
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
