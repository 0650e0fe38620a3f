/**
 * What a staged rollback reports: each step's weight, verdict and the pods of both versions, the timeline, and
 * the job summary (the rollback's incident summary plus the steps table and the dry-run plan).
 */
import { renderChecksSummary } from '../http';
import type { KubeClient } from '../kube/client';
import { templateImages } from '../kube/history';
import { getOptional } from '../kube/objects';
import type { Deployment } from '../kube/types';
import { describeImages } from '../kube/workloads';
import type { AnalysisResult } from '../metrics/engine';
import { table } from '../report';
import type { StepReport } from '../rollout/types';
import type { Runtime } from '../runtime/port';
import type { StepVerdict } from '../state/record';
import { type RollbackReport, summaryMarkdown, type TimelineEntry, type WorkloadRestore } from './report';
import type { Return } from './staged-returns';

/** What served at one step: per workload, the pods of the current and of the previous version. */
export interface StagedStep {
  step: number;
  /** The weight asked for, and what the router reports it serves. */
  weight: number;
  actual: number;
  at: string;
  verdict: StepVerdict['verdict'];
  reason: string;
  workloads: Array<{
    name: string;
    current: { replicas: number; images: Record<string, string> };
    previous: { replicas: number; images: Record<string, string> };
  }>;
  routing: string[];
}

export interface StagedReport extends RollbackReport {
  steps: StagedStep[];
  analyses: Array<{ step: number; weight: number; result: AnalysisResult }>;
  /** Dry run: what would be done. */
  plan?: string[];
}

/** The report as it grows: the timeline (`mark`), the steps, the analyses; `report` writes the summary. */
export function stagedLog(
  rt: Runtime,
  request: { namespace: string; reason?: string | undefined; triggeredBy?: string | undefined },
) {
  const timeline: TimelineEntry[] = [];
  const steps: StagedStep[] = [];
  const log = {
    steps,
    analyses: [] as StagedReport['analyses'],
    mark(event: string) {
      timeline.push({ at: new Date(rt.clock.now()).toISOString(), event });
      rt.log.info(event);
    },
    report(result: RollbackReport['result'], workloads: WorkloadRestore[], extra: Partial<StagedReport> = {}) {
      return finish(rt, {
        result,
        mode: 'staged',
        namespace: request.namespace,
        reason: request.reason,
        triggeredBy: request.triggeredBy,
        workloads,
        timeline,
        steps,
        analyses: log.analyses,
        ...extra,
      });
    },
  };
  return log;
}

/** A step as the report shows it: the weight, the verdict, and the pods of both versions now. */
export async function stepOf(
  client: KubeClient,
  namespace: string,
  returns: Return[],
  step: StepReport,
  at: number,
): Promise<StagedStep> {
  const read = async (name: string) => {
    const object = await getOptional<Deployment>(client, 'Deployment', namespace, name);
    return { replicas: object?.spec?.replicas ?? 0, images: templateImages(object?.spec?.template) };
  };
  const workloads = await Promise.all(
    returns.map(async (entry) => ({
      name: entry.name,
      current: await read(entry.name),
      previous: await read(entry.side),
    })),
  );
  return {
    step: step.index + 1,
    weight: step.weight,
    actual: step.actual,
    at: new Date(at).toISOString(),
    verdict: step.verdict,
    reason: step.reason,
    workloads,
    routing: step.routing,
  };
}

function finish(rt: Runtime, report: StagedReport): StagedReport {
  rt.summary.append(summaryMarkdown(report));
  if (report.verification)
    rt.summary.append(renderChecksSummary(report.verification, 'Verification after the rollback'));
  if (report.steps.length > 0) {
    rt.summary.append(
      [
        '### Steps',
        '',
        table(
          ['step', 'weight to previous', 'served', 'previous version pods', 'current version pods', 'verdict'],
          report.steps.map((step) => [
            String(step.step),
            `${step.weight}%`,
            `${step.actual}%`,
            step.workloads
              .map((w) => `${w.name}: ${w.previous.replicas} × ${describeImages(w.previous.images) || '—'}`)
              .join('; '),
            step.workloads
              .map((w) => `${w.name}: ${w.current.replicas} × ${describeImages(w.current.images)}`)
              .join('; '),
            `${step.verdict}: ${step.reason}`,
          ]),
        ),
      ].join('\n'),
    );
  }
  if (report.plan) rt.summary.append(['### Plan', '', ...report.plan.map((line) => `- ${line}`), ''].join('\n'));
  return report;
}
