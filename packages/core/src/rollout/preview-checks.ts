/** Blue-green's `preview-checks`: HTTP checks against green (through the API server's Service proxy) before the switch. */
import { holdVirtualTime } from '../clock/quiescence';
import { UserError } from '../errors';
import { kubeServiceProxy } from '../http/kube-proxy';
import { runChecks } from '../http/runner';
import type { CheckSpec } from '../http/spec';
import { kubeSource } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import type { ReleaseInputs } from './release-inputs';

/** Runs the checks with `{{green}}` set to green's Deployment; throws a UserError naming every check that failed. */
export function previewChecks(rt: Runtime, inputs: ReleaseInputs, spec: CheckSpec, namespace: string) {
  return async (green: string): Promise<void> => {
    const { loadKubeConfig } = await holdVirtualTime(import('../kube/config'));
    const { config } = await loadKubeConfig(kubeSource(rt, inputs));
    const result = await runChecks(spec, {
      clock: rt.clock,
      log: rt.log,
      mask: (secret) => rt.mask(secret),
      signal: rt.signal,
      serviceProxy: await kubeServiceProxy(config, namespace),
      variables: { green },
    });
    if (!result.passed) {
      const failed = result.checks
        .filter((check) => check.outcome === 'failed')
        .map((check) => `${check.name}: ${check.error ?? 'failed'}`);
      throw new UserError(`${failed.length} preview check(s) failed: ${failed.join(', ')}`);
    }
  };
}
