/** workload: the Deployments now serving are healthy (replicas available, no CrashLoopBackOff, restarts below a limit). */
import { isNotFound } from '../kube/errors';
import type { Deployment } from '../kube/types';
import { listed, matchLabelsSelector } from '../kube/workloads';
import { crashloop, type PodLike } from '../metrics/kubernetes';
import { ROLE_LABEL } from '../state/record';
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

type LabelledPod = PodLike & { metadata?: { labels?: Record<string, string> } };

/**
 * The Deployment's own pods and the ones its selector also matches that belong to a canary, baseline or preview
 * Deployment this suite created beside it (they carry its labels plus a role): those are judged by the rollout,
 * not counted as the stable's health. A Deployment named here that is itself such a side keeps its own role.
 */
function splitPods(deployment: Deployment, pods: LabelledPod[]): { own: LabelledPod[]; side: LabelledPod[] } {
  const role = deployment.spec?.selector?.matchLabels?.[ROLE_LABEL];
  const own: LabelledPod[] = [];
  const side: LabelledPod[] = [];
  for (const pod of pods) (pod.metadata?.labels?.[ROLE_LABEL] === role ? own : side).push(pod);
  return { own, side };
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
    const leftOut: string[] = [];
    const sidePods: Record<string, string[]> = {};
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
        const { own: pods, side } = splitPods(
          deployment,
          (await client.list('Pod', { namespace, labelSelector: matchLabelsSelector(deployment) }))
            .items as LabelledPod[],
        );
        if (side.length > 0) {
          const names = side.map((pod) => pod.metadata?.name ?? '').sort();
          sidePods[name] = names;
          leftOut.push(`${name}: ${side.length} (${listed(names, 5)})`);
        }
        const looping = crashloop(pods) ?? 0;
        if (looping > 0) problems.push(`${name}: ${looping} pod(s) in CrashLoopBackOff`);
        for (const pod of pods) {
          const count = restartsOf(pod);
          if (count > config.maxRestarts) problems.push(`${name}: pod ${pod.metadata?.name} restarted ${count} times`);
        }
      }),
    );
    const verdict =
      problems.length > 0 ? problems.join('; ') : `${config.deployments.join(', ')} healthy in ${namespace}`;
    const note =
      leftOut.length > 0
        ? `; left out ${Object.values(sidePods).flat().length} pod(s) of Deployments deploy-actions created beside them (label ${ROLE_LABEL}): ${leftOut.sort().join('; ')}`
        : '';
    return {
      status: problems.length > 0 ? 'fail' : 'pass',
      value: values.sort().join(', ') || 'none found',
      limit: `all replicas available, no CrashLoopBackOff, restarts <= ${config.maxRestarts}`,
      message: verdict + note,
      details: { namespace, problems, sidePods },
    };
  },
};
