/**
 * runRelease: carries out a plan from planRelease (release-plan.ts). A canary or blue-green runs in the
 * cluster (cluster-release.ts) or, with the command router and no Deployments, without one
 * (no-cluster-release.ts); rolling and helm deploy in place (in-place-release.ts). Each holds the app's Lease
 * and record where there is a cluster, and records the release as a GitHub Deployment (deployment-status.ts);
 * an unfinished run is put back by its post step (finishUnfinishedRelease, release-post.ts).
 */
import type { Runtime } from '../runtime/port';
import { releaseInCluster } from './cluster-release';
import { deployInPlace } from './in-place-release';
import { releaseWithoutCluster } from './no-cluster-release';
import type { ReleasePlan } from './release-plan';
import type { ReleaseResult } from './release-result';

export async function runRelease(rt: Runtime, plan: ReleasePlan): Promise<ReleaseResult> {
  if (plan.mode === 'in-place') return deployInPlace(rt, plan);
  // What the analysis leaves out is said, and its secrets masked, before anything is read or changed.
  for (const note of plan.notes) rt.log.info(note);
  for (const secret of plan.secrets) rt.mask(secret);
  if (plan.mode === 'no-cluster') return releaseWithoutCluster(rt, plan);
  return releaseInCluster(rt, plan);
}
