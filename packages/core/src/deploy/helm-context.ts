/**
 * What every step of a helm deploy reads, set once before anything runs: the
 * checked inputs, the helm arguments they make, the helm runner and the timeline.
 */
import { InputError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import { resolveNamespace } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import { type HelmCommand, helmRunner } from './helm-command';
import { startTimeline, type Timeline } from './timeline';
import type { HelmOptions } from './types';

/** Release names: DNS-1123 labels of at most 53 characters (helm's own limit). */
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/;
const SECRET_KEY = /pass|secret|token|key|credential/i;

export interface HelmDeploy {
  rt: Runtime;
  options: HelmOptions;
  release: string;
  chart: string;
  namespace: string;
  /** `-f <file>` and `--set <key>=<value>`, as helm lint takes them. */
  values: string[];
  /** The values and `--version`: what helm template and upgrade take. */
  common: string[];
  /** `--timeout` for upgrade and rollback, in whole seconds. */
  timeoutArg: string;
  helm: HelmCommand;
  commands: string[][];
  timeline: Timeline;
  /** The client's request count before the deploy, to report the deploy's own. */
  requestsBefore: number;
}

/** Checks every input (nothing runs until all of them are right) and masks the secret --set values. */
export function startHelmDeploy(rt: Runtime, options: HelmOptions): HelmDeploy {
  // The input's, else the kubeconfig context's (helm itself would use it too), else default.
  const namespace = resolveNamespace(options.namespace, options.client.contextNamespace);
  if (!options.release || !RELEASE_NAME.test(options.release)) {
    throw new InputError(
      'release',
      'must be a lower-case DNS name of at most 53 characters (helm release names)',
      options.release,
      'api-platform',
    );
  }
  if (!options.chart) throw new InputError('chart', 'is required with strategy helm', undefined, './charts/api');
  const valuesFiles = (options.valuesFiles ?? []).map((file) => {
    const resolved = resolveInWorkspace(file, rt.workspace);
    if ('problem' in resolved) throw new InputError('helm-values', resolved.problem, file, 'values/production.yaml');
    return resolved.path;
  });
  const set = Object.entries(options.set ?? {});
  for (const [key, value] of set) if (SECRET_KEY.test(key) && value !== '') rt.mask(value);
  const values = [
    ...valuesFiles.flatMap((file) => ['-f', file]),
    ...set.flatMap(([key, value]) => ['--set', `${key}=${value}`]),
  ];
  return {
    rt,
    options,
    release: options.release,
    chart: options.chart,
    namespace,
    values,
    // helm lint has no --version (it reads a chart on disk); template and upgrade fetch that version.
    common: [...values, ...(options.version ? ['--version', options.version] : [])],
    timeoutArg: `${Math.max(1, Math.ceil(options.timeoutMs / 1000))}s`,
    ...helmRunner(rt, options),
    timeline: startTimeline(rt),
    requestsBefore: options.client.requests,
  };
}
