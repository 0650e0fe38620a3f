/**
 * HorizontalPodAutoscaler controller (autoscaling/v2), as kube-controller-manager's podautoscaler: every HPA is
 * synced when it is created or its spec changes and then every 15 s of the sim's clock. A sync reads the
 * target's scale subresource (Deployment, ReplicaSet, StatefulSet), lists the pods its `status.selector`
 * selects, and for each `Resource` cpu metric (target `Utilization` or `AverageValue`) computes the replica
 * calculator's proposal from the resource metrics (./pod-metrics): ready pods' usage over their requests,
 * `ceil(ratio × readyPods)` outside the 10 % tolerance, unready pods counted as 0 % when scaling up and pods
 * without a sample as 100 % (down) or 0 % (up), a proposal that would reverse the direction dropped. Then, without
 * `spec.behavior`: the highest recommendation of the last 5 minutes (scale-down stabilization), at most
 * max(2 × current, 4) up, clamped to [minReplicas, maxReplicas]; with `spec.behavior`: its stabilization windows
 * (up 0 s, down 300 s by default) and rate policies (`Pods`/`Percent` per `periodSeconds`, `selectPolicy`).
 * A new size goes through the scale subresource (`SuccessfulRescale` event); `.status` gets currentReplicas,
 * desiredReplicas, currentMetrics, lastScaleTime and the AbleToScale / ScalingActive / ScalingLimited conditions
 * with the real reasons and messages. Target at 0 replicas: scaling disabled, as upstream.
 */
import type { KubeObject } from '../store';
import {
  condition,
  DEPLOYMENTS,
  key,
  MANAGER,
  PODS,
  parseTime,
  REPLICASETS,
  STATEFULSETS,
  setCondition,
  splitKey,
  timestamp,
  writeStatus,
} from './common';
import type { ControllerContext } from './context';
import { PodMetrics, type PodSample, type RequestCounts } from './pod-metrics';
import { WorkQueue } from './queue';
import { milliCpu, parseQuantity } from './scheduler';

export const HPAS = 'autoscaling/v2/horizontalpodautoscalers';

/** --horizontal-pod-autoscaler-sync-period */
export const HPA_SYNC_PERIOD_MS = 15_000;
/** --horizontal-pod-autoscaler-tolerance */
export const HPA_TOLERANCE = 0.1;
/** --horizontal-pod-autoscaler-downscale-stabilization */
export const HPA_DOWNSCALE_STABILIZATION_MS = 300_000;
/** --horizontal-pod-autoscaler-cpu-initialization-period */
const CPU_INITIALIZATION_PERIOD_MS = 300_000;
/** --horizontal-pod-autoscaler-initial-readiness-delay */
const INITIAL_READINESS_DELAY_MS = 30_000;

const SOURCE = { component: 'horizontal-pod-autoscaler' };

const SCALABLE: Record<string, { gvr: string; group: string; resource: string }> = {
  Deployment: { gvr: DEPLOYMENTS, group: 'apps', resource: 'deployments' },
  ReplicaSet: { gvr: REPLICASETS, group: 'apps', resource: 'replicasets' },
  StatefulSet: { gvr: STATEFULSETS, group: 'apps', resource: 'statefulsets' },
};

interface Recommendation {
  replicas: number;
  at: number;
}

interface ScaleEvent {
  change: number;
  at: number;
}

interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: string;
  policies: Array<{ type: string; value: number; periodSeconds: number }>;
}

/** A metric's proposal, or why there is none. */
type Proposal =
  | { replicas: number; metric: string; status: KubeObject }
  | { error: string; reason: string; status?: KubeObject };

class MetricError extends Error {}

/** A milli-value as a Quantity prints it: `250m`, `1`. */
function milliQuantity(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** The API server's autoscaling/v2 defaults for `behavior`, which it fills in only when behavior is given. */
function rules(spec: KubeObject | undefined, direction: 'up' | 'down'): ScalingRules {
  const defaults =
    direction === 'up'
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return {
    stabilizationWindowSeconds:
      spec?.stabilizationWindowSeconds ?? (direction === 'up' ? 0 : HPA_DOWNSCALE_STABILIZATION_MS / 1000),
    selectPolicy: spec?.selectPolicy ?? 'Max',
    policies: spec?.policies?.length ? spec.policies : defaults,
  };
}

export class HorizontalPodAutoscalerController {
  readonly queue: WorkQueue;
  readonly metrics: PodMetrics;
  private readonly specs = new Map<string, string>();
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleUps = new Map<string, ScaleEvent[]>();
  private readonly scaleDowns = new Map<string, ScaleEvent[]>();

  constructor(
    private readonly ctx: ControllerContext,
    requestCounts?: RequestCounts,
  ) {
    this.queue = new WorkQueue('horizontal-pod-autoscaler', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
    this.metrics = new PodMetrics(ctx.clock, ctx.behaviour, requestCounts);
  }

  start(): () => void {
    return this.ctx.store.watch(HPAS, undefined, undefined, (e) => {
      const k = key(e.object.metadata.namespace, e.object.metadata.name);
      if (e.type === 'DELETED') {
        for (const map of [this.specs, this.recommendations, this.scaleUps, this.scaleDowns]) map.delete(k);
        return;
      }
      // Its own status writes do not bring a sync forward: the next one is the periodic one.
      const spec = JSON.stringify(e.object.spec ?? {});
      if (this.specs.get(k) === spec) return;
      this.specs.set(k, spec);
      this.queue.add(k);
    });
  }

  private sync(k: string): void {
    const { store, clock, events } = this.ctx;
    const [ns, name] = splitKey(k);
    const hpa = store.find(HPAS, ns, name);
    if (!hpa || hpa.metadata.deletionTimestamp) return;
    this.queue.addAfter(k, HPA_SYNC_PERIOD_MS);
    const now = clock.now();
    const spec = hpa.spec ?? {};
    const old: KubeObject = hpa.status ?? {};
    let conditions: KubeObject[] = [...(old.conditions ?? [])];
    const set = (type: string, status: string, reason: string, message: string) => {
      conditions = setCondition(conditions, { type, status, reason, message }, now);
    };
    const write = (status: KubeObject) => {
      const next: KubeObject = {};
      for (const field of ['lastScaleTime', 'currentReplicas', 'desiredReplicas', 'currentMetrics'])
        if (status[field] !== undefined) next[field] = status[field];
      next.conditions = conditions;
      if (JSON.stringify(next) !== JSON.stringify(old)) writeStatus(store, HPAS, hpa, next, MANAGER);
    };

    const ref: KubeObject = spec.scaleTargetRef ?? {};
    const kind = SCALABLE[ref.kind];
    const target = kind && ref.name ? store.find(kind.gvr, ns, ref.name) : undefined;
    if (!kind || !target) {
      const group = String(ref.apiVersion ?? '')
        .split('/')
        .slice(0, -1)
        .join('/');
      const message = kind
        ? `${kind.resource}.${kind.group} "${ref.name}" not found`
        : `no matches for kind "${ref.kind}" in group "${group}"`;
      events.record(hpa, 'Warning', 'FailedGetScale', message, SOURCE);
      set(
        'AbleToScale',
        'False',
        'FailedGetScale',
        `the HPA controller was unable to get the target's current scale: ${message}`,
      );
      write({ ...old });
      return;
    }
    let scale = store.scaleOf(kind.gvr, target);
    set('AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale");
    const current: number = scale.spec.replicas;
    if (!this.recommendations.has(k)) this.recommendations.set(k, [{ replicas: current, at: now }]);
    const min: number = spec.minReplicas ?? 1;
    const max: number = spec.maxReplicas ?? min;

    let desired = 0;
    let reason = '';
    let rescale = true;
    let currentMetrics: KubeObject[] | undefined = old.currentMetrics;
    if (current === 0 && min !== 0) {
      set(
        'ScalingActive',
        'False',
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
      );
      rescale = false;
    } else if (current > max) {
      reason = 'Current number of replicas above Spec.MaxReplicas';
      desired = max;
    } else if (current < min) {
      reason = 'Current number of replicas below Spec.MinReplicas';
      desired = min;
    } else {
      const selector: string | undefined = scale.status?.selector;
      if (!selector) {
        events.record(hpa, 'Warning', 'SelectorRequired', 'selector is required', SOURCE);
        set('ScalingActive', 'False', 'InvalidSelector', "the HPA target's scale is missing a selector");
        write({ ...old, currentReplicas: current });
        return;
      }
      const pods = store.list(PODS, ns, { labelSelector: selector });
      this.metrics.refresh();
      const specs: KubeObject[] = spec.metrics?.length
        ? spec.metrics
        : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
      const statuses: KubeObject[] = [];
      let best: { replicas: number; metric: string } | undefined;
      let firstError: Extract<Proposal, { error: string }> | undefined;
      let invalid = 0;
      for (const metric of specs) {
        const proposal = this.proposal(metric, pods, current, now);
        statuses.push(proposal.status ?? {});
        if ('error' in proposal) {
          invalid++;
          firstError ??= proposal;
          events.record(hpa, 'Warning', proposal.reason, proposal.error, SOURCE);
        } else if (!best || proposal.replicas > best.replicas) best = proposal;
      }
      currentMetrics = statuses;
      if (!best || invalid >= specs.length) {
        const error = firstError!;
        set('ScalingActive', 'False', error.reason, `the HPA was unable to compute the replica count: ${error.error}`);
        events.record(
          hpa,
          'Warning',
          'FailedComputeMetricsReplicas',
          `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${error.error}`,
          SOURCE,
        );
        write({ ...old, currentReplicas: current, currentMetrics });
        return;
      }
      set(
        'ScalingActive',
        'True',
        'ValidMetricFound',
        `the HPA was able to successfully calculate a replica count from ${best.metric}`,
      );
      if (best.replicas > current) reason = `${best.metric} above target`;
      if (best.replicas < current) reason = 'All metrics below target';
      desired = spec.behavior
        ? this.normalizeWithBehaviors(k, spec, current, best.replicas, min, max, now, set)
        : this.normalize(k, current, best.replicas, min, max, now, set);
      rescale = desired !== current;
    }

    let lastScaleTime = old.lastScaleTime;
    if (rescale) {
      try {
        scale = store.updateScale(
          kind.gvr,
          ns,
          target.metadata.name,
          { ...scale, spec: { replicas: desired } },
          {
            fieldManager: MANAGER,
          },
        );
      } catch (error) {
        const message = (error as Error).message;
        events.record(
          hpa,
          'Warning',
          'FailedRescale',
          `New size: ${desired}; reason: ${reason}; error: ${message}`,
          SOURCE,
        );
        set(
          'AbleToScale',
          'False',
          'FailedUpdateScale',
          `the HPA controller was unable to update the target scale: ${message}`,
        );
        write({ ...old, currentReplicas: current, currentMetrics });
        return;
      }
      set(
        'AbleToScale',
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desired}`,
      );
      events.record(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`, SOURCE);
      this.recordScaleEvent(k, spec, current, desired, now);
      lastScaleTime = timestamp(now);
    } else desired = current;
    write({ lastScaleTime, currentReplicas: current, desiredReplicas: desired, currentMetrics });
  }

  /** One metric's replica proposal (the replica calculator), with its status entry. */
  private proposal(metric: KubeObject, pods: KubeObject[], current: number, now: number): Proposal {
    const type: string = metric.type ?? '';
    if (type !== 'Resource') {
      const reason = `FailedGet${type}Metric`;
      const name = metric[type.charAt(0).toLowerCase() + type.slice(1)]?.metric?.name ?? type;
      return {
        reason,
        error: `failed to get ${type.toLowerCase()} metric value: unable to get metric ${name}: kube-sim serves no custom or external metrics API`,
      };
    }
    const resource: string = metric.resource?.name ?? '';
    const target: KubeObject = metric.resource?.target ?? {};
    const utilization = target.type === 'Utilization';
    const what = utilization ? `${resource} utilization` : `${resource} usage`;
    try {
      if (resource !== 'cpu')
        throw new MetricError(
          `unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`,
        );
      const result = utilization
        ? this.replicas(pods, current, now, Number(target.averageUtilization ?? 80), true)
        : this.replicas(pods, current, now, milliCpu(target.averageValue), false);
      const currentStatus: KubeObject = { averageValue: milliQuantity(result.raw) };
      if (utilization) currentStatus.averageUtilization = result.utilization;
      return {
        replicas: result.replicas,
        metric: utilization ? `${resource} resource utilization (percentage of request)` : `${resource} resource`,
        status: { type: 'Resource', resource: { name: resource, current: currentStatus } },
      };
    } catch (error) {
      if (!(error instanceof MetricError)) throw error;
      return {
        reason: 'FailedGetResourceMetric',
        error: `failed to get ${resource} resource metric value: failed to get ${what}: ${error.message}`,
      };
    }
  }

  /**
   * The replica calculator for a cpu metric: `ratio` is utilization / target (percent of requests) or average
   * usage / target (millicores).
   */
  private replicas(
    pods: KubeObject[],
    current: number,
    now: number,
    target: number,
    utilization: boolean,
  ): { replicas: number; utilization: number; raw: number } {
    const samples = new Map<string, PodSample>();
    for (const pod of pods) {
      const sample = this.metrics.sample(pod);
      if (sample) samples.set(pod.metadata.name, sample);
    }
    if (samples.size === 0)
      throw new MetricError('unable to get metrics for resource cpu: no metrics returned from resource metrics API');
    // groupPods
    let ready = 0;
    const unready = new Set<string>();
    const missing = new Set<string>();
    const usage = new Map<string, number>();
    for (const pod of pods) {
      const podName: string = pod.metadata.name;
      if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Failed') continue;
      if (pod.status?.phase === 'Pending') {
        unready.add(podName);
        continue;
      }
      const sample = samples.get(podName);
      if (!sample) {
        missing.add(podName);
        continue;
      }
      const readyCondition = condition(pod, 'Ready');
      const start = parseTime(pod.status?.startTime);
      let isUnready: boolean;
      if (!readyCondition || start === undefined) isUnready = true;
      else {
        const transition = parseTime(readyCondition.lastTransitionTime) ?? 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > now)
          // Still initialising: only a sample taken a full window after the last readiness change counts.
          isUnready = readyCondition.status === 'False' || sample.timestamp < transition + sample.windowMs;
        // Later, only a pod that has never been ready is left out.
        else isUnready = readyCondition.status === 'False' && start + INITIAL_READINESS_DELAY_MS > transition;
      }
      if (isUnready) {
        unready.add(podName);
        continue;
      }
      usage.set(podName, sample.milli);
      ready++;
    }
    if (usage.size === 0) throw new MetricError('did not receive metrics for targeted pods (pods might be unready)');
    const requests = new Map<string, number>();
    if (utilization)
      for (const pod of pods) {
        let sum = 0;
        for (const c of pod.spec?.containers ?? []) {
          const request = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu;
          if (request === undefined || parseQuantity(request) === undefined)
            throw new MetricError(`missing request for cpu in container ${c.name} of Pod ${pod.metadata.name}`);
          sum += milliCpu(request);
        }
        requests.set(pod.metadata.name, sum);
      }
    const ratioOf = (metrics: Map<string, number>) => {
      let total = 0;
      let requested = 0;
      for (const [podName, value] of metrics) {
        total += value;
        requested += requests.get(podName) ?? 0;
      }
      const raw = Math.trunc(total / metrics.size);
      if (!utilization) return { ratio: raw / target, utilization: 0, raw };
      if (requested === 0) throw new MetricError('no metrics returned matched known pods');
      const percent = Math.trunc((total * 100) / requested);
      return { ratio: percent / target, utilization: percent, raw };
    };
    const first = ratioOf(usage);
    const result = (replicas: number) => ({ replicas, utilization: first.utilization, raw: first.raw });
    const scaleUpWithUnready = unready.size > 0 && first.ratio > 1;
    if (!scaleUpWithUnready && missing.size === 0) {
      if (Math.abs(1 - first.ratio) <= HPA_TOLERANCE) return result(current);
      return result(Math.ceil(first.ratio * ready));
    }
    // Pods without a sample count as at the target (scale down) or idle (scale up); unready ones as idle.
    if (missing.size > 0) {
      for (const podName of missing) {
        if (first.ratio < 1)
          usage.set(
            podName,
            utilization ? Math.trunc(((requests.get(podName) ?? 0) * Math.max(100, target)) / 100) : target,
          );
        else if (first.ratio > 1) usage.set(podName, 0);
      }
    }
    if (scaleUpWithUnready) for (const podName of unready) usage.set(podName, 0);
    const again = ratioOf(usage).ratio;
    if (Math.abs(1 - again) <= HPA_TOLERANCE || (first.ratio < 1 && again > 1) || (first.ratio > 1 && again < 1))
      return result(current);
    const proposed = Math.ceil(again * usage.size);
    if ((again < 1 && proposed > current) || (again > 1 && proposed < current)) return result(current);
    return result(proposed);
  }

  /** Without spec.behavior: downscale stabilization, the fixed scale-up limit, min and max. */
  private normalize(
    k: string,
    current: number,
    proposed: number,
    min: number,
    max: number,
    now: number,
    set: (type: string, status: string, reason: string, message: string) => void,
  ): number {
    // The highest recommendation of the window (replacing one that fell out of it, as upstream keeps a ring).
    const list = this.recommendations.get(k) ?? [];
    const cutoff = now - HPA_DOWNSCALE_STABILIZATION_MS;
    let stabilized = proposed;
    let old = -1;
    list.forEach((rec, i) => {
      if (rec.at < cutoff) old = i;
      else if (rec.replicas > stabilized) stabilized = rec.replicas;
    });
    if (old >= 0) list[old] = { replicas: proposed, at: now };
    else list.push({ replicas: proposed, at: now });
    this.recommendations.set(k, list);
    if (stabilized !== proposed)
      set(
        'AbleToScale',
        'True',
        'ScaleDownStabilized',
        'recent recommendations were higher than current one, applying the highest recent recommendation',
      );
    else set('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
    const upLimit = Math.max(2 * current, 4);
    let desired = stabilized;
    let limited: [string, string];
    const maxAllowed = max > upLimit ? upLimit : max;
    const upReason: [string, string] =
      max > upLimit
        ? ['ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate']
        : ['TooManyReplicas', 'the desired replica count is more than the maximum replica count'];
    if (stabilized < min) {
      desired = min;
      limited = ['TooFewReplicas', 'the desired replica count is less than the minimum replica count'];
    } else if (stabilized > maxAllowed) {
      desired = maxAllowed;
      limited = upReason;
    } else limited = ['DesiredWithinRange', 'the desired count is within the acceptable range'];
    set('ScalingLimited', desired === stabilized ? 'False' : 'True', ...limited);
    return desired;
  }

  /** With spec.behavior: both stabilization windows and the rate policies. */
  private normalizeWithBehaviors(
    k: string,
    spec: KubeObject,
    current: number,
    proposed: number,
    min: number,
    max: number,
    now: number,
    set: (type: string, status: string, reason: string, message: string) => void,
  ): number {
    const up = rules(spec.behavior?.scaleUp, 'up');
    const down = rules(spec.behavior?.scaleDown, 'down');
    const upCutoff = now - up.stabilizationWindowSeconds * 1000;
    const downCutoff = now - down.stabilizationWindowSeconds * 1000;
    let upRecommendation = proposed;
    let downRecommendation = proposed;
    let old = -1;
    const list = this.recommendations.get(k) ?? [];
    list.forEach((rec, i) => {
      if (rec.at > upCutoff) upRecommendation = Math.min(rec.replicas, upRecommendation);
      if (rec.at > downCutoff) downRecommendation = Math.max(rec.replicas, downRecommendation);
      if (rec.at < upCutoff && rec.at < downCutoff) old = i;
    });
    const stabilized = Math.min(Math.max(current, upRecommendation), downRecommendation);
    if (old >= 0) list[old] = { replicas: proposed, at: now };
    else list.push({ replicas: proposed, at: now });
    this.recommendations.set(k, list);
    if (stabilized !== proposed) {
      if (proposed >= current)
        set(
          'AbleToScale',
          'True',
          'ScaleUpStabilized',
          'recent recommendations were lower than current one, applying the lowest recent recommendation',
        );
      else
        set(
          'AbleToScale',
          'True',
          'ScaleDownStabilized',
          'recent recommendations were higher than current one, applying the highest recent recommendation',
        );
    } else set('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');

    let desired = stabilized;
    let limited: [string, string] = ['DesiredWithinRange', 'the desired count is within the acceptable range'];
    if (stabilized > current) {
      const limit = Math.max(current, this.rateLimit(this.scaleUps.get(k), current, up, 'up', now));
      let maxAllowed = max;
      let reason: [string, string] = [
        'TooManyReplicas',
        'the desired replica count is more than the maximum replica count',
      ];
      if (max > limit) {
        maxAllowed = limit;
        reason = ['ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate'];
      }
      if (stabilized > maxAllowed) [desired, limited] = [maxAllowed, reason];
    } else if (stabilized < current) {
      const limit = Math.min(current, this.rateLimit(this.scaleDowns.get(k), current, down, 'down', now));
      let minAllowed = min;
      let reason: [string, string] = [
        'TooFewReplicas',
        'the desired replica count is less than the minimum replica count',
      ];
      if (min < limit) {
        minAllowed = limit;
        reason = ['ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate'];
      }
      if (stabilized < minAllowed) [desired, limited] = [minAllowed, reason];
    }
    set('ScalingLimited', desired === stabilized ? 'False' : 'True', ...limited);
    return desired;
  }

  /** How far the policies let the count move from `current` given the changes made within each policy's period. */
  private rateLimit(
    history: ScaleEvent[] | undefined,
    current: number,
    scaling: ScalingRules,
    direction: 'up' | 'down',
    now: number,
  ): number {
    if (scaling.selectPolicy === 'Disabled') return current;
    const pickMax = (scaling.selectPolicy === 'Min') === (direction === 'down');
    let result = pickMax ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    for (const policy of scaling.policies) {
      const changed = (history ?? [])
        .filter((e) => e.at > now - policy.periodSeconds * 1000)
        .reduce((sum, e) => sum + e.change, 0);
      let proposed: number;
      if (direction === 'up') {
        const start = current - changed;
        proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
      } else {
        const start = current + changed;
        proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
      }
      result = pickMax ? Math.max(result, proposed) : Math.min(result, proposed);
    }
    return result;
  }

  private recordScaleEvent(k: string, spec: KubeObject, from: number, to: number, now: number): void {
    if (!spec.behavior) return;
    const map = to > from ? this.scaleUps : this.scaleDowns;
    const rulesFor = rules(to > from ? spec.behavior.scaleUp : spec.behavior.scaleDown, to > from ? 'up' : 'down');
    const longest = Math.max(...rulesFor.policies.map((p) => p.periodSeconds)) * 1000;
    const kept = (map.get(k) ?? []).filter((e) => e.at > now - longest);
    kept.push({ change: Math.abs(to - from), at: now });
    map.set(k, kept);
  }
}
