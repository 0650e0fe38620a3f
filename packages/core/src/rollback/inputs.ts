/**
 * The rollback action's inputs as the run reads them, and the rules between them, checked before the cluster
 * or GitHub changes: each mode's required inputs, the inputs another mode would use refused rather than
 * ignored, and the database restore only where the app can be stopped around it.
 */
import { InputError } from '../errors';
import type { CheckSpec } from '../http/spec';
import { checkTag } from '../rollout/workloads';
import type { Runtime } from '../runtime/port';
import { triggeredBy } from './triggered-by';

export const ROLLBACK_MODES = ['auto', 'kubernetes', 'image', 'in-flight', 'helm', 'github', 'staged'] as const;
export type RollbackModeInput = (typeof ROLLBACK_MODES)[number];

/** The parsed inputs, by input name (the action declares them; errors name them). */
export interface RollbackInputs {
  mode: RollbackModeInput;
  deployments?: string[] | undefined;
  selector?: string | undefined;
  app?: string | undefined;
  'to-revision'?: number | undefined;
  'to-version'?: string | undefined;
  release?: string | undefined;
  /** staged: the weights, as the steps input was given (a list or YAML). */
  steps?: unknown;
  pause: number;
  router: string;
  analysis?: unknown;
  'analysis-interval': number;
  'on-no-data'?: string | undefined;
  'router-config'?: unknown;
  verify?: CheckSpec | undefined;
  reason?: string | undefined;
  'database-restore'?: unknown;
  'confirm-database-restore': boolean;
  force: boolean;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
  'oidc-audience'?: string | undefined;
  token?: string | undefined;
  environment?: string | undefined;
  'dry-run': boolean;
  timeout: number;
}

/** The checks that need no cluster, in the order a user fixes them; the mode-specific ones follow in the modes. */
export function checkRollbackInputs(values: RollbackInputs): void {
  if (values['database-restore'] !== undefined && !values['confirm-database-restore']) {
    throw new InputError('confirm-database-restore', 'must be true to restore a database', 'false', 'true');
  }
  if (values.mode === 'helm' || values.mode === 'in-flight') refuseDatabaseRestore(values, values.mode);
  if (values.mode === 'helm') return; // helmMode checks its own
  if (values.mode === 'image' && !values['to-version']) {
    throw new InputError('to-version', 'is required with mode: image', undefined, 'v0.9.5');
  }
  if (values['to-version'] !== undefined) checkTag('to-version', values['to-version'], 'v0.9.5');
  if (values.mode === 'github') {
    if (!values.environment)
      throw new InputError(
        'environment',
        'is required with mode: github (whose history to read)',
        undefined,
        'production',
      );
    if (!values.token) throw new InputError('token', 'is required with mode: github', undefined, '${{ github.token }}');
    refuseOthers(values, 'github', ['to-revision', 'to-version', 'database-restore']);
  }
}

/** Every mode but helm names its Deployments; auto, in-flight and github may name the app alone. */
export function checkWorkloadsNamed(values: RollbackInputs): void {
  const appAlone = values.app !== undefined && ['auto', 'in-flight', 'github'].includes(values.mode);
  if (!values.deployments?.length && !values.selector && !appAlone) {
    throw new InputError(
      'deployments',
      'name the Deployments to roll back (or give a selector)',
      undefined,
      'auth-service, user-service',
    );
  }
}

/** Inputs that belong to other modes are refused rather than ignored, so a run never does something else than asked. */
export function refuseOthers(values: RollbackInputs, mode: string, names: Array<keyof RollbackInputs>): void {
  for (const name of names) {
    if (values[name] !== undefined) {
      throw new InputError(
        name,
        `is not used by mode: ${mode}`,
        String(values[name]),
        `(remove it, or use another mode)`,
      );
    }
  }
}

/**
 * database-restore where the rollback is not a change of Deployments we make: refused before anything changes.
 * helm: the release's workloads are Helm's (scaling them to 0 and back is not ours to do); in-flight: aborting
 * puts traffic back on the stable, which the release never changed.
 */
export function refuseDatabaseRestore(values: RollbackInputs, mode: string): void {
  if (values['database-restore'] === undefined) return;
  const why = mode.startsWith('helm')
    ? "the release's workloads are Helm's to scale, not ours, so the app cannot be stopped around the restore"
    : 'aborting a rollout puts traffic back on the stable version, which it never changed, so no app is stopped and restarted around a restore';
  throw new InputError(
    'database-restore',
    `is not supported with mode: ${mode}: ${why}. Restore the data in its own step first (e.g. a Job from your restore CronJob), or use mode: kubernetes, which stops the app around the restore`,
    // The parsed block, shown as the error shows any value given.
    values['database-restore'] as string,
    '{ cronjob: db-restore }  (with mode: kubernetes)',
  );
}

/** What every mode's request takes from the inputs alike: why, who asked, dry run, time limit, the checks after. */
export function commonRequest(rt: Pick<Runtime, 'env'>, values: RollbackInputs) {
  return {
    reason: values.reason,
    triggeredBy: triggeredBy(rt.env),
    dryRun: values['dry-run'],
    timeoutMs: values.timeout,
    verify: values.verify,
  };
}
