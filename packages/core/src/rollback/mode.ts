/**
 * `mode: auto`: what to roll back is read from the cluster. A rollout still in flight is aborted; else a
 * `to-version` redeploys that tag; else the Deployments go back a revision, unless canary-promote already
 * stopped the last release and the version from before it still serves (nothing-to-roll-back.ts).
 */
import type { KubeClient } from '../kube/client';
import type { Runtime } from '../runtime/port';
import { hasRolloutInFlight } from './in-flight';

/** The mode `auto` stands for. */
export type AutoChoice = 'in-flight' | 'image' | 'kubernetes';

/** What `auto` decides on: whether the app has a rollout in flight, and the `to-version` input. */
export interface AutoFacts {
  inFlight: boolean;
  toVersion?: string | undefined;
}

/** The choice of `mode: auto` (pure: the table in test/rollback-mode.test.ts). */
export function autoMode(facts: AutoFacts): AutoChoice {
  if (facts.inFlight) return 'in-flight';
  return facts.toVersion ? 'image' : 'kubernetes';
}

/** Reads whether `app` has a rollout in flight, chooses, and logs the choice. */
export async function chooseAutoMode(
  rt: Runtime,
  client: KubeClient,
  where: { namespace: string; app: string; toVersion?: string | undefined },
): Promise<AutoChoice> {
  const inFlight = await hasRolloutInFlight(client, where.namespace, where.app);
  const mode = autoMode({ inFlight, toVersion: where.toVersion });
  rt.log.info(`mode auto: ${mode}${mode === 'in-flight' ? ` (a rollout of ${where.app} is in flight)` : ''}`);
  return mode;
}
