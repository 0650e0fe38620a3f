/**
 * Maintenance mode around a migration, as the runbooks do with `kubectl set env deployment/x
 * MAINTENANCE_MODE=true`: the variable is set on every container of the named Deployments and their
 * rollouts waited for; afterwards (also when the migration failed) each container gets back exactly the
 * value it had, or none, and the rollouts are waited for again.
 */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { waitForRollouts } from '../kube/rollout-wait';
import type { Deployment } from '../kube/types';
import type { Clock } from '../runtime/port';

type Env = Array<{ name: string; value?: string; valueFrom?: unknown }>;

export interface MaintenanceOptions {
  client: KubeClient;
  namespace: string;
  deployments: readonly string[];
  name: string;
  value: string;
  clock: Clock;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  log: (line: string) => void;
}

/** What each container had before, to put back: undefined when it had no such variable. */
export type Saved = Map<string, Array<{ container: string; before: Env[number] | undefined }>>;

async function setEnv(options: MaintenanceOptions, name: string, change: (container: string, env: Env) => Env) {
  const ref = { namespace: options.namespace, name };
  const deployment = await options.client.get<Deployment>('Deployment', ref).catch((error: unknown) => {
    if (isNotFound(error))
      throw new UserError(`Deployment "${name}" not found in namespace "${options.namespace}" (input maintenance)`);
    throw error;
  });
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const patch = containers.map((container, index) => ({
    op: container.env === undefined ? 'add' : 'replace',
    path: `/spec/template/spec/containers/${index}/env`,
    value: change(container.name, (container.env ?? []) as Env),
  }));
  // The resourceVersion test makes a concurrent change a conflict instead of a silent overwrite.
  await options.client.patch(
    'Deployment',
    ref,
    [{ op: 'test', path: '/metadata/resourceVersion', value: deployment.metadata?.resourceVersion }, ...patch],
    'json',
  );
  return containers;
}

async function waitAll(options: MaintenanceOptions) {
  await waitForRollouts(
    options.client,
    options.deployments.map((name) => ({ kind: 'Deployment' as const, namespace: options.namespace, name })),
    { clock: options.clock, timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
  );
}

export async function enterMaintenance(options: MaintenanceOptions): Promise<Saved> {
  const saved: Saved = new Map();
  for (const name of options.deployments) {
    const before: Array<{ container: string; before: Env[number] | undefined }> = [];
    await setEnv(options, name, (container, env) => {
      before.push({ container, before: env.find((entry) => entry.name === options.name) });
      return [...env.filter((entry) => entry.name !== options.name), { name: options.name, value: options.value }];
    });
    saved.set(name, before);
  }
  options.log(
    `Maintenance mode: ${options.name}=${options.value} on ${options.deployments.map((d) => `deployment/${d}`).join(', ')}`,
  );
  await waitAll(options);
  return saved;
}

export async function leaveMaintenance(options: MaintenanceOptions, saved: Saved): Promise<void> {
  for (const [name, containers] of saved) {
    await setEnv(options, name, (container, env) => {
      const before = containers.find((entry) => entry.container === container)?.before;
      const rest = env.filter((entry) => entry.name !== options.name);
      return before === undefined ? rest : [...rest, before];
    });
  }
  options.log(
    `Maintenance mode off: ${options.name} put back on ${[...saved.keys()].map((d) => `deployment/${d}`).join(', ')}`,
  );
  await waitAll(options);
}
