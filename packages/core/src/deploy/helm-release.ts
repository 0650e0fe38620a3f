/** What helm says about a release: its revisions before the deploy (`helm history`) and its state now (`helm status`). */
import { UserError } from '../errors';
import { lastLines, parseJson } from './helm-command';
import type { HelmDeploy } from './helm-context';
import type { HelmReleaseReport } from './types';

interface HistoryEntry {
  revision: number;
  status?: string;
  chart?: string;
  app_version?: string;
  description?: string;
}

interface StatusJson {
  name?: string;
  version?: number;
  namespace?: string;
  info?: { status?: string; description?: string };
  chart?: { metadata?: { name?: string; version?: string; appVersion?: string } };
  manifest?: string;
}

/** The release before the deploy, as the report starts it. */
export type PreviousRelease = Pick<
  HelmReleaseReport,
  'previousRevision' | 'previousChartVersion' | 'previousAppVersion'
>;

/** The revision to go back to (the last deployed one) and the highest revision helm has numbered. */
export async function readHistory(deploy: HelmDeploy): Promise<{ previous: PreviousRelease; highest: number }> {
  const history = await deploy.helm(['history', deploy.release, '--namespace', deploy.namespace, '-o', 'json'], true);
  if (history.exitCode !== 0) {
    if (/not found/i.test(history.stderr)) return { previous: { previousRevision: undefined }, highest: 0 };
    throw new UserError(
      `helm history failed (exit ${history.exitCode}): ${deploy.rt.redact(lastLines(history.stderr))}`,
    );
  }
  const entries = parseJson<HistoryEntry[]>(history.stdout, 'helm history') ?? [];
  const deployed = entries.filter((entry) => entry.status === 'deployed');
  const previous = deployed.at(-1) ?? entries.at(-1);
  return {
    previous: {
      previousRevision: previous?.revision,
      previousChartVersion: chartVersionOf(previous?.chart),
      previousAppVersion: previous?.app_version || undefined,
    },
    // helm numbers a new revision one past the highest so far (failed ones included).
    highest: Math.max(0, ...entries.map((entry) => entry.revision).filter(Number.isInteger)),
  };
}

/** The release's state now, as the report shows it. */
export type ReleaseState = Pick<HelmReleaseReport, 'revision' | 'status' | 'chartVersion' | 'appVersion'>;

/** `helm status`: the release's revision and versions, and the manifest it applied; undefined when helm cannot say. */
export async function readStatus(
  deploy: HelmDeploy,
): Promise<{ state: ReleaseState; manifest: string | undefined } | undefined> {
  const result = await deploy.helm(['status', deploy.release, '--namespace', deploy.namespace, '-o', 'json'], true);
  if (result.exitCode !== 0) return undefined;
  const status = parseJson<StatusJson>(result.stdout, 'helm status');
  return {
    state: {
      revision: status?.version,
      status: status?.info?.status,
      chartVersion: status?.chart?.metadata?.version,
      appVersion: status?.chart?.metadata?.appVersion,
    },
    manifest: status?.manifest,
  };
}

/** `helm history`'s chart column is `<name>-<version>`: the version. */
function chartVersionOf(chart: string | undefined): string | undefined {
  return chart?.match(/^.+?-(v?\d+\.\d+.*)$/)?.[1];
}
