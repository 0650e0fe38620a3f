/** workload: the Deployments now serving are healthy (replicas available, no CrashLoopBackOff, restarts below a limit). */
import { isNotFound } from '../kube/errors';
import type { Deployment } from '../kube/types';
import { matchLabelsSelector } from '../kube/workloads';
import { crashloop, type PodLike } from '../metrics/kubernetes';
import { configError, optionalInteger, optionalString, stringList } from './config';
import type { GateDefinition } from './types';

interface WorkloadConfig {
  deployments: string[];
  namespace: string | undefined;
  maxRestarts: number;
}

function restartsOf(pod: PodLike): number {
  return [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].reduce(
    (sum, status) => sum + (status.restartCount ?? 0),
    0,
  );
}

export const workloadGate: GateDefinition<WorkloadConfig> = {
  name: 'workload',
  title: 'Serving workload health',
  prepare(raw, source) {
    const deployments = stringList(raw, 'deployments', source);
    if (deployments.length === 0) throw configError(source, 'deployments', 'names no Deployment', 'web, worker');
    return {
      deployments,
      namespace: optionalString(raw, 'namespace', source),
      maxRestarts: optionalInteger(raw, 'max-restarts', source) ?? 3,
    };
  },
  async run(config, ctx) {
    const client = await ctx.kube();
    const namespace = config.namespace ?? (await ctx.namespace());
    const problems: string[] = [];
    const values: string[] = [];
    await Promise.all(
      config.deployments.map(async (name) => {
        let deployment: Deployment;
        try {
          deployment = await client.get<Deployment>('Deployment', { namespace, name });
        } catch (error) {
          if (isNotFound(error)) {
            problems.push(`Deployment ${namespace}/${name} does not exist`);
            return;
          }
          throw error;
        }
        const wanted = deployment.spec?.replicas ?? 1;
        const available = deployment.status?.availableReplicas ?? 0;
        values.push(`${name} ${available}/${wanted}`);
        if (available < wanted) problems.push(`${name}: ${available} of ${wanted} replicas available`);
        const pods = (await client.list('Pod', { namespace, labelSelector: matchLabelsSelector(deployment) }))
          .items as PodLike[];
        const looping = crashloop(pods) ?? 0;
        if (looping > 0) problems.push(`${name}: ${looping} pod(s) in CrashLoopBackOff`);
        for (const pod of pods) {
          const count = restartsOf(pod);
          if (count > config.maxRestarts) problems.push(`${name}: pod ${pod.metadata?.name} restarted ${count} times`);
        }
      }),
    );
    return {
      status: problems.length > 0 ? 'fail' : 'pass',
      value: values.sort().join(', ') || 'none found',
      limit: `all replicas available, no CrashLoopBackOff, restarts <= ${config.maxRestarts}`,
      message: problems.length > 0 ? problems.join('; ') : `${config.deployments.join(', ')} healthy in ${namespace}`,
      details: { namespace, problems },
    };
  },
};
