/**
 * The job summary and the action outcome of a rolling or helm deploy, here
 * so the canary-promote adapter stays a few lines: the verdict and why, the
 * workloads with their rollout (images and revisions before and after), the
 * helm release, the objects applied, the pod events of a stuck rollout, the
 * monitoring analysis and a timeline.
 */
import { formatDuration } from '../inputs/scalars';
import { renderAnalysisSummary } from '../metrics/summary';
import { details, table } from '../report';
import type { DeployOutcome, WorkloadState } from './types';

const VERDICT: Record<DeployOutcome['verdict'], string> = {
  deployed: '✅ deployed',
  'rolled-back': '↩️ rolled back',
  failed: '❌ failed',
  planned: '📝 planned (dry run)',
};

const STATUS: Record<string, string> = {
  'rolled-out': '✅ rolled out',
  failed: '❌ failed',
  undone: '↩️ undone',
  'undo-failed': '❌ undo failed',
  planned: '📝 planned',
  unchanged: 'unchanged',
};

function images(state: WorkloadState | undefined): string {
  if (state === undefined) return '—';
  return Object.entries(state.images)
    .map(([name, image]) => `${name}=${image}`)
    .join(', ');
}

/** `before → after` when a release had an earlier revision, else the one value. */
function change(before: string | undefined, after: string | undefined): string {
  if (before === undefined) return after ?? '—';
  return `${before} → ${after ?? '—'}`;
}

export function renderDeploySummary(outcome: DeployOutcome): string {
  const parts: string[] = [];
  const what =
    outcome.strategy === 'helm' && outcome.helm ? `helm release \`${outcome.helm.release}\`` : `\`${outcome.app}\``;
  parts.push(
    `## ${outcome.strategy === 'helm' ? 'Helm' : 'Rolling'} deploy of ${what} in \`${outcome.namespace}\`: ${VERDICT[outcome.verdict]}\n`,
  );
  if (outcome.failure) parts.push(`**Why:** ${outcome.failure.split('\n')[0]}\n`);
  const settings = Object.entries(outcome.settings ?? {});
  if (settings.length > 0) {
    parts.push(`**With:** ${settings.map(([name, value]) => `${name} \`${value.replace(/`/g, "'")}\``).join(' · ')}\n`);
  }

  const helm = outcome.helm;
  if (helm) {
    parts.push(
      table(
        ['release', 'chart', 'chart version', 'app version', 'revision before', 'revision after', 'status'],
        [
          [
            helm.release,
            helm.chart,
            change(helm.previousChartVersion, helm.chartVersion),
            change(helm.previousAppVersion, helm.appVersion),
            helm.previousRevision ?? '— (first install)',
            helm.rollbackRevision !== undefined
              ? `${helm.revision} → rolled back as ${helm.rollbackRevision}`
              : (helm.revision ?? '—'),
            helm.status ?? '—',
          ],
        ],
      ),
    );
  }

  if (outcome.workloads.length > 0) {
    parts.push(
      table(
        ['workload', 'rollout', 'revision before', 'images before', 'revision after', 'images after', 'took', 'detail'],
        outcome.workloads.map((workload) => [
          `${workload.kind.toLowerCase()}/${workload.name}`,
          STATUS[workload.status] ?? workload.status,
          workload.before?.revision ?? (workload.before || outcome.strategy === 'helm' ? '—' : 'new'),
          images(workload.before),
          workload.after?.revision ?? '—',
          images(workload.after),
          workload.elapsedMs === undefined ? '' : formatDuration(workload.elapsedMs),
          workload.message,
        ]),
      ),
    );
  }

  if (outcome.explanation.length > 0) {
    parts.push(`**Why the rollout is stuck:**\n\n${outcome.explanation.map((line) => `- ${line}`).join('\n')}\n`);
  }

  if (outcome.analysis) parts.push(renderAnalysisSummary(outcome.analysis, 'Monitoring after the rollout'));

  if (outcome.objects.length > 0) {
    const counts = new Map<string, number>();
    for (const object of outcome.objects) counts.set(object.outcome, (counts.get(object.outcome) ?? 0) + 1);
    parts.push(
      details(
        `Objects: ${[...counts].map(([name, count]) => `${count} ${name}`).join(', ')}`,
        table(
          ['object', 'namespace', 'outcome', 'from'],
          outcome.objects.map((object) => [
            `${object.kind.toLowerCase()}/${object.name}`,
            object.namespace ?? '(cluster)',
            object.outcome,
            object.source ?? '',
          ]),
        ),
      ),
    );
  }

  if (helm && helm.commands.length > 0) {
    parts.push(details('Helm commands', `\`\`\`\n${helm.commands.map((args) => args.join(' ')).join('\n')}\n\`\`\``));
  }

  if (outcome.timeline.length > 0) {
    parts.push(
      details(
        `Timeline (${outcome.requests} API requests)`,
        table(
          ['time', 'event'],
          outcome.timeline.map((entry) => [entry.at, entry.event]),
        ),
      ),
    );
  }
  return `${parts.join('\n')}\n`;
}

/**
 * The ActionOutcome for canary-promote: `result` document, outputs
 * (`result` is the verdict word, as README.md "What every action shares" says), and the failure line
 * that fails the step after a rollback.
 */
export function toActionOutcome(outcome: DeployOutcome) {
  const newImages = outcome.workloads.map((workload) => images(workload.after)).filter((text) => text !== '—');
  const oldImages = outcome.workloads.map((workload) => images(workload.before)).filter((text) => text !== '—');
  return {
    result: { ...outcome, verdict: outcome.verdict },
    outputs: {
      result: outcome.verdict,
      phase: outcome.verdict,
      weight: outcome.verdict === 'deployed' ? 100 : 0,
      'canary-image': newImages.join('; '),
      'stable-image': (outcome.verdict === 'deployed' ? newImages : oldImages).join('; '),
      ...(outcome.analysis ? { analysis: JSON.stringify(outcome.analysis) } : {}),
    },
    ...(outcome.failure ? { failure: outcome.failure } : {}),
  };
}
