/**
 * A canary outside Kubernetes: the `command` router's own commands move the weight (a cloud load balancer,
 * a container service, a feature-flag percentage) and the same steps and analysis decide, with no cluster
 * at all. There are no pods to read (provider kubernetes is refused), no state record and no lease: the
 * run itself is the state, and the GitHub Deployment (when the action records one) the history. A failed
 * step runs the abort command (or returns to the previous weight with `previous-step`); the summary says
 * that nothing was kept in a cluster.
 */
import { InputError, UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import { type AnalysisResult, runAnalysis, validateAnalysis } from '../metrics/engine';
import type { MetricProvider } from '../metrics/provider';
import { type MetricSpec, type ProviderConfig, uniqueMetrics } from '../metrics/spec';
import type { CommandRouter } from '../routing/command';
import type { Runtime } from '../runtime/port';
import { type RolloutPhase, type RolloutRecord, type StepVerdict, stableHistoryEnd } from '../state/record';
import type { Step } from './plan';
import type { RolloutOutcome, WeightPoint } from './types';

/** Shown as the stable version: without a cluster the run cannot see what serves now. */
export const UNKNOWN_STABLE = 'current';

export const NO_CLUSTER_NOTE =
  'No cluster: router command ran without Kubernetes (no deployments or selector given), so no state record or lease was kept; the GitHub Deployment (with token and environment) is the record of this release.';

export interface CommandRolloutSettings {
  app: string;
  /** Only for `{{namespace}}` in commands and queries. */
  namespace: string;
  /** The new version: `{{canary}}` in queries. */
  version: string;
  steps: Step[];
  onStepFailure: 'abort' | 'previous-step';
  /** Promotes with its promote command, else set-weight 100 (never 0: no stable Deployment took the new version). */
  router: CommandRouter;
  providerFor?: ((config: ProviderConfig) => MetricProvider) | undefined;
}

/**
 * What needs a cluster, refused before anything runs: provider kubernetes (the canary's pods), comparisons
 * with the stable version (which this run cannot see), and `{{stable}}` in a query.
 */
export function checkCommandAnalysis(metrics: readonly MetricSpec[]): void {
  for (const metric of metrics) {
    if (metric.kind === 'kubernetes')
      throw new InputError(
        'analysis',
        `metric '${metric.name}' uses provider kubernetes, which reads the canary's pods in a cluster; with router command and no deployments or selector there is none`,
        metric.name,
        'provider: prometheus, datadog or web',
      );
    if (metric.kind === 'compare-value' || metric.kind === 'compare-counts')
      throw new InputError(
        'analysis',
        `metric '${metric.name}' compares with the stable version, which a run without a cluster cannot see`,
        metric.name,
        'max: 0.01 (a threshold on the canary alone)',
      );
  }
}

export class CommandRollout {
  readonly timeline: WeightPoint[] = [];
  readonly analyses: RolloutOutcome['analyses'] = [];
  private routing: string[] = [];
  private readonly record: RolloutRecord;

  constructor(
    private readonly rt: Runtime,
    private readonly settings: CommandRolloutSettings,
  ) {
    // Kept in memory only: outputs and the summary read the same shape as a cluster rollout's.
    this.record = {
      version: 1,
      app: settings.app,
      namespace: settings.namespace,
      strategy: 'canary',
      phase: 'progressing',
      stepIndex: -1,
      steps: settings.steps.map((step) => step.weight),
      weight: 0,
      router: { kind: 'command', config: {} },
      stableVersion: UNKNOWN_STABLE,
      canaryVersion: settings.version,
      workloads: [],
      verdicts: [],
      updatedAt: new Date(rt.clock.now()).toISOString(),
      startedAt: new Date(rt.clock.now()).toISOString(),
    };
  }

  private targets() {
    // No stable version: `{{stable}}` fails validation with "has no value in this run".
    return {
      canary: this.settings.version,
      namespace: this.settings.namespace,
      app: this.settings.app,
    } as { canary: string; stable: string; namespace: string; app: string };
  }

  /** The router's validate command and every query once, before the first weight change. */
  async prepare(): Promise<void> {
    const metrics = uniqueMetrics(this.settings.steps.flatMap((step) => step.analysis));
    checkCommandAnalysis(metrics);
    await this.settings.router.validate();
    if (metrics.length > 0)
      await validateAnalysis({
        metrics,
        targets: this.targets(),
        duration: 0,
        clock: this.rt.clock,
        signal: this.rt.signal,
        ...(this.settings.providerFor ? { providerFor: this.settings.providerFor } : {}),
      });
  }

  plan(): Promise<string[]> {
    return Promise.all(
      this.settings.steps.map(async (step) =>
        step.weight >= 100
          ? `at 100%: ${this.settings.router.planPromoteWithoutCluster().join('; ')}`
          : `at ${step.weight}%: ${(await this.settings.router.plan(step.weight)).join('; ')}`,
      ),
    );
  }

  async start(): Promise<RolloutOutcome> {
    const { steps } = this.settings;
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index]!;
      if (step.weight >= 100) break;
      let result: AnalysisResult | undefined;
      try {
        result = await this.rt.log.group(`Step ${index + 1}: ${step.weight}% to ${this.settings.version}`, async () => {
          await this.setWeight(step.weight);
          this.update({ stepIndex: index, weight: step.weight });
          return this.analyse(index, step);
        });
      } catch (error) {
        throw await this.haltedBy(error);
      }
      if (result && result.verdict !== 'pass') {
        this.verdict(index, step.weight, result.verdict, result.reason);
        return this.stepFailed(index, `step ${index + 1} (${step.weight}%): ${result.reason}`);
      }
      this.verdict(
        index,
        step.weight,
        result ? 'pass' : 'skipped',
        result?.reason ?? `held ${formatDuration(step.pause)}, no analysis`,
      );
    }
    return this.promote();
  }

  async promote(): Promise<RolloutOutcome> {
    this.update({ phase: 'promoting' });
    try {
      const state = await this.rt.log.group(`Promote ${this.settings.version}`, () =>
        this.settings.router.promoteWithoutCluster(),
      );
      this.routing = [state.detail];
      this.rt.log.info(state.detail);
    } catch (error) {
      throw new UserError(
        `Promotion of ${this.settings.version} did not finish: ${(error as Error).message}. The weight was ${this.record.weight}% when promotion ran: check the platform, then run the step again or action: abort`,
      );
    }
    this.timeline.push({ at: this.rt.clock.now(), weight: 100, actual: 100 });
    const reason = `Promoted ${this.settings.version} to 100%.`;
    this.update({ phase: 'promoted', weight: 100, reason });
    return this.outcome('promoted', reason);
  }

  async abort(reason: string): Promise<RolloutOutcome> {
    await this.settings.router.abort();
    this.timeline.push({ at: this.rt.clock.now(), weight: 0, actual: 0 });
    this.update({ phase: 'aborted', weight: 0, reason });
    return this.outcome('aborted', reason);
  }

  private async stepFailed(index: number, reason: string): Promise<RolloutOutcome> {
    const previous = index > 0 ? this.settings.steps[index - 1]!.weight : 0;
    if (this.settings.onStepFailure === 'previous-step' && previous > 0) {
      await this.setWeight(previous);
      // No record to continue from: a later job cannot resume this run's step.
      const text = `Back at ${previous}% because ${reason}; without a cluster there is no record to continue from: fix and run the release again, or stop with action: abort.`;
      this.update({ phase: 'paused', stepIndex: index - 1, weight: previous, reason: text });
      this.rt.log.error(text);
      return this.outcome('paused', text);
    }
    const text = `Aborted because ${reason}`;
    // Reported once, by the action, as the outcome's failure.
    return this.abort(text);
  }

  /** A command that failed, or a cancelled job: the abort command runs (unless cancelled: the post step does it). */
  private async haltedBy(error: unknown): Promise<Error> {
    const message = error instanceof Error ? error.message : String(error);
    if (this.rt.signal.aborted)
      return new UserError(`${message}. The weight was ${this.record.weight}%; the post step runs the abort command`);
    try {
      await this.abort(`the run stopped: ${message}`);
      return new UserError(`${message}. The abort command ran: all traffic is on the current version.`);
    } catch (second) {
      return new UserError(
        `${message}. The abort command failed too (${(second as Error).message}); the weight may still be ${this.record.weight}%: run action: abort`,
      );
    }
  }

  private async setWeight(weight: number): Promise<void> {
    const state = await this.settings.router.setWeight(weight);
    this.routing = [state.detail];
    this.rt.log.info(state.detail);
    this.timeline.push({ at: this.rt.clock.now(), weight, actual: state.actualWeight });
  }

  private async analyse(index: number, step: Step): Promise<AnalysisResult | undefined> {
    if (step.analysis.length === 0) {
      if (step.pause > 0) await this.rt.clock.sleep(step.pause, this.rt.signal);
      return undefined;
    }
    const result = await runAnalysis({
      metrics: step.analysis,
      targets: this.targets(),
      duration: step.pause,
      clock: this.rt.clock,
      signal: this.rt.signal,
      ...stableHistoryEnd(this.record),
      ...(this.settings.providerFor ? { providerFor: this.settings.providerFor } : {}),
      onMeasurement: (m) =>
        this.rt.log.info(
          `  ${m.metric}: ${m.value ?? '—'} (${m.threshold}) ${m.outcome}${m.note ? `: ${m.note}` : ''}`,
        ),
    });
    this.analyses.push({ step: index, weight: step.weight, result });
    return result;
  }

  private verdict(step: number, weight: number, verdict: StepVerdict['verdict'], reason: string) {
    this.record.verdicts.push({ step, weight, verdict, reason, at: new Date(this.rt.clock.now()).toISOString() });
  }

  private update(change: Partial<RolloutRecord> & { phase?: RolloutPhase }) {
    Object.assign(this.record, change, { updatedAt: new Date(this.rt.clock.now()).toISOString() });
  }

  outcome(result: RolloutOutcome['result'], reason: string, plan?: string[]): RolloutOutcome {
    return {
      result,
      record: this.record,
      reason,
      timeline: this.timeline,
      analyses: this.analyses,
      routing: this.routing,
      ...(plan ? { plan } : {}),
    };
  }
}
