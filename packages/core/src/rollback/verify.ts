/**
 * The `verify` checks after a rollback (the smoke spec format), for every mode. A leaf of rollback/.
 */
import { UserError } from '../errors';
import { type ChecksResult, kubeServiceProxy, renderChecksSummary, runChecks, type ServiceProxy } from '../http';
import type { CheckSpec } from '../http/spec';
import type { KubeClient } from '../kube/client';
import type { Runtime } from '../runtime/port';

/** Whether the checks reach a Service through the API server (and so need a Kubernetes client). */
export function needsServiceProxy(spec: CheckSpec): boolean {
  return spec.checks.some((check) => check.request.target.kind === 'service');
}

/**
 * Runs the checks; `client` is needed only for checks that name a Service (see needsServiceProxy). `mark`
 * gets the one line of the verdict for the timeline.
 */
export async function verify(
  rt: Runtime,
  client: Pick<KubeClient, 'config'> | undefined,
  request: { namespace: string },
  spec: CheckSpec,
  mark: (event: string) => void,
): Promise<ChecksResult> {
  let serviceProxy: ServiceProxy | undefined;
  if (needsServiceProxy(spec)) {
    if (!client)
      throw new UserError('verify: a check names a Service, but there is no Kubernetes cluster to reach it through');
    serviceProxy = await kubeServiceProxy(client.config, request.namespace);
  }
  const result = await runChecks(spec, {
    clock: rt.clock,
    log: rt.log,
    mask: (secret) => rt.mask(secret),
    signal: rt.signal,
    ...(serviceProxy ? { serviceProxy } : {}),
  });
  const { passed, failed } = result.counts;
  mark(`Verification ${result.passed ? 'passed' : 'failed'}: ${passed} passed, ${failed} failed`);
  return result;
}

/** The error line when the checks failed after `done` (what the rollback did); undefined when they passed. */
export function verificationFailure(verification: ChecksResult | undefined, done = 'Rolled back'): string | undefined {
  if (!verification || verification.passed) return undefined;
  return `${done}, but verification failed: ${verification.checks
    .filter((check) => check.outcome === 'failed')
    .map((check) => `${check.name}: ${check.error ?? 'failed'}`)
    .join('; ')}`;
}

/**
 * The checks after a rollback that is not a change of Deployments we make (helm, in-flight, nothing to roll
 * back): run, written to the summary, and the failure line when one failed.
 */
export async function verifyAfter(
  rt: Runtime,
  client: KubeClient | undefined,
  namespace: string,
  spec: CheckSpec | undefined,
  done?: string,
): Promise<{ verification?: ChecksResult; failure?: string }> {
  if (!spec) return {};
  const verification = await verify(rt, client, { namespace }, spec, (event) => rt.log.info(event));
  rt.summary.append(renderChecksSummary(verification, 'Verification after the rollback'));
  const failure = verificationFailure(verification, done);
  return { verification, ...(failure ? { failure } : {}) };
}
