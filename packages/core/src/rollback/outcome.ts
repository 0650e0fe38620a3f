/**
 * What a rollback run hands back to the action: the result document, what it put back (the `restored`,
 * `summary` and `restored-images` outputs) and the one error line when it failed. A leaf of rollback/.
 */
import type { KubeClient } from '../kube/client';
import { HEADLINES, type RollbackReport, type RollbackVerdict } from './report';
import { verificationFailure } from './verify';

/** One side of a workload (or helm release) in the `restored` output. */
export interface RestoredState {
  revision?: number | undefined;
  images?: Record<string, string>;
  chart?: string;
  appVersion?: string;
}

export interface Restored {
  before: RestoredState;
  after: RestoredState;
  /** restored, skipped, planned, failed, unpatched (a mode's per-workload outcome). */
  outcome: string;
}

export interface RestoredOutputs {
  /** Per workload (or helm release): before, after and its outcome. */
  byName: Record<string, Restored>;
  /** One line for a chat message: headline, where, who, then why. */
  summary: string;
  /** `name: before → after` per workload, only the containers that changed. */
  images: string;
}

export interface RollbackOutcome {
  /** The result document: verdict, mode and the mode's own report. */
  result: Record<string, unknown>;
  /** What was put back; absent when the run only reported (an in-flight dry run). */
  restored?: RestoredOutputs;
  /** The one error line when the rollback ran but did not succeed (stopped half-way, verification failed). */
  failure?: string;
}

/** Who and where, for the summary line. */
export interface RollbackContext {
  namespace: string;
  environment?: string | undefined;
  reason?: string | undefined;
  triggeredBy?: string | undefined;
}

/** The verdict's headline for the summary line (a skip says why: the workloads already run the target). */
function headline(verdict: string): string {
  if (verdict === 'skipped') return `${HEADLINES.skipped} (already at the target)`;
  return HEADLINES[verdict as RollbackVerdict] ?? verdict;
}

/**
 * The string outputs `summary` and `restored-images`: what the notify-webhook message carries (it sends string
 * outputs, at most 200 characters each, so the reason goes last in `summary` and only changed containers are
 * listed), and what a later step can echo.
 */
export function restoredOutputs(
  verdict: string,
  context: RollbackContext,
  byName: Record<string, Restored>,
): RestoredOutputs {
  const where = context.environment
    ? `${context.environment} (namespace ${context.namespace})`
    : `namespace ${context.namespace}`;
  const summary = `${headline(verdict)} in ${where}, triggered by ${context.triggeredBy ?? 'unknown'}: ${context.reason ?? 'no reason given'}`;
  const describe = (state: RestoredState, other: RestoredState) => {
    const images = Object.entries(state.images ?? {});
    const changed = images.filter(([container, image]) => other.images?.[container] !== image);
    return [
      state.revision === undefined ? '' : `rev ${state.revision}`,
      state.chart ? `${state.chart}${state.appVersion ? ` (app ${state.appVersion})` : ''}` : '',
      (changed.length > 0 ? changed : images).map(([container, image]) => `${container}=${image}`).join(', '),
    ]
      .filter(Boolean)
      .join(' ');
  };
  const images = Object.entries(byName)
    .map(
      ([name, { before, after, outcome }]) =>
        `${name}: ${describe(before, after)} → ${describe(after, before)}${outcome === 'restored' ? '' : ` (${outcome})`}`,
    )
    .join('; ');
  return { byName, summary, images };
}

/** The outcome of the modes that report per workload (kubernetes, image, github, staged). */
export function outcomeOfReport(
  report: RollbackReport,
  client: KubeClient,
  environment: string | undefined,
  extra: Record<string, unknown> = {},
): RollbackOutcome {
  const byName = Object.fromEntries(
    report.workloads.map((workload) => [
      workload.name,
      { before: workload.before, after: workload.after, outcome: workload.outcome },
    ]),
  );
  const failed = report.workloads.filter((workload) => workload.outcome === 'failed');
  const notDone = report.workloads.filter(
    (workload) => workload.outcome === 'failed' || workload.outcome === 'unpatched',
  );
  const githubError = (report as { github?: { error?: string } }).github?.error;
  const failure =
    report.result === 'aborted'
      ? `Staged rollback aborted, the current version still serves: ${failed[0]?.message.replace(/^aborted: /, '') ?? 'stopped'}`
      : failed.length > 0 || report.incomplete
        ? incompleteLine(notDone, report.incomplete)
        : verificationFailure(report.verification)
          ? verificationFailure(report.verification)
          : githubError
            ? `Rolled back in the cluster, but the GitHub Deployments could not be updated: ${githubError}`
            : undefined;
  return {
    result: { verdict: report.result, ...extra, ...report, apiRequests: client.requests },
    restored: restoredOutputs(report.result, { ...report, environment }, byName),
    ...(failure ? { failure } : {}),
  };
}

/** The error line of a rollback that stopped half-way: the first problem, then what state it left and what next. */
function incompleteLine(notDone: RollbackReport['workloads'], incomplete: string | undefined): string {
  const [first = 'stopped', ...why] = (notDone[0]?.message ?? '').split('\n');
  const names = notDone.map((workload) => `deployment/${workload.name}`).join(', ');
  return [`Rollback did not finish for ${names}: ${first.replace(/\.$/, '')}. ${incomplete ?? ''}`.trim(), ...why].join(
    '\n',
  );
}
