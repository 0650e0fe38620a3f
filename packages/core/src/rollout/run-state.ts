/**
 * What a release's main step leaves its post step (`rt.state`, the runner's step state): which app it was
 * changing, how (`command` without a cluster, `rolling` / `helm` in place, else a canary or blue-green
 * rollout), where, the GitHub Deployment it started, and whether it finished. A post step that finds it
 * unfinished (cancelled, runner lost, crashed) puts the app back (release-post.ts).
 */
import type { Runtime } from '../runtime/port';

const APP = 'rollout-app';
const FINISHED = 'rollout-finished';
const MODE = 'rollout-mode';
/** Rolling / helm: the namespace the record is in (a manifest's own may differ from the input's). */
const NAMESPACE = 'deploy-namespace';
const DEPLOYMENT = 'github-deployment';

/** How the unfinished release changed the app: undefined for a canary or blue-green rollout in a cluster. */
export type UnfinishedMode = 'command' | 'rolling' | 'helm' | undefined;

/** From here on the post step undoes the release unless the main step says it finished. */
export function markUnfinished(
  rt: Runtime,
  release: { app: string; mode?: 'command' | 'rolling' | 'helm'; namespace?: string },
): void {
  rt.state.save(APP, release.app);
  if (release.mode !== undefined) rt.state.save(MODE, release.mode);
  if (release.namespace !== undefined) rt.state.save(NAMESPACE, release.namespace);
  rt.state.save(FINISHED, 'false');
}

export function markFinished(rt: Runtime): void {
  rt.state.save(FINISHED, 'true');
}

/** The release the main step left unfinished, or undefined (none began, or it finished). */
export function unfinishedRelease(
  rt: Runtime,
): { app: string; mode: UnfinishedMode; namespace: string | undefined } | undefined {
  const app = rt.state.get(APP);
  if (!app || rt.state.get(FINISHED) === 'true') return undefined;
  const mode = rt.state.get(MODE);
  return {
    app,
    mode: mode === 'command' || mode === 'rolling' || mode === 'helm' ? mode : undefined,
    namespace: rt.state.get(NAMESPACE) || undefined,
  };
}

/** The GitHub Deployment the main step started or resumed, for its post step to mark. */
export function saveDeploymentId(rt: Runtime, id: number): void {
  rt.state.save(DEPLOYMENT, String(id));
}

export function savedDeploymentId(rt: Runtime): number | undefined {
  const id = Number(rt.state.get(DEPLOYMENT));
  return Number.isInteger(id) && id > 0 ? id : undefined;
}
