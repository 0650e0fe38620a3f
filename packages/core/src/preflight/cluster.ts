/** cluster: every node Ready with no pressure condition, and requests leave headroom of allocatable CPU and memory. */
import type { ResourceType } from '../kube/resources';
import type { KubeObject } from '../kube/types';
import { parseQuantity } from '../quantity';
import { optionalString, pct, percent } from './config';

/** A quantity in base units (cores, bytes); 0 when absent or malformed. */
const quantity = (value: unknown): number => parseQuantity(value) ?? 0;

import type { GateDefinition } from './types';

export const NODES: ResourceType = { group: '', version: 'v1', plural: 'nodes', namespaced: false };
const PRESSURE = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

interface Node extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: {
    allocatable?: Record<string, string>;
    conditions?: Array<{ type: string; status: string; message?: string }>;
  };
}
interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: Array<{ resources?: { requests?: Record<string, string> } }> };
  status?: { phase?: string };
}

interface ClusterConfig {
  minHeadroom: number;
  selector: string | undefined;
}

export const clusterGate: GateDefinition<ClusterConfig> = {
  name: 'cluster',
  title: 'Cluster capacity',
  prepare(raw, source) {
    return {
      minHeadroom: percent(raw, 'min-headroom', source) ?? 10,
      selector: optionalString(raw, 'selector', source),
    };
  },
  async run(config, ctx) {
    const client = await ctx.kube();
    const [nodes, pods] = await Promise.all([
      client.list<Node>(NODES, config.selector ? { labelSelector: config.selector } : {}),
      client.list<Pod>('Pod', { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
    ]);
    if (nodes.items.length === 0) {
      return {
        status: 'fail',
        value: '0 nodes',
        limit: 'nodes Ready',
        message: `No nodes${config.selector ? ` match ${config.selector}` : ''}`,
      };
    }
    const problems: string[] = [];
    const names = new Set<string>();
    let cpu = 0;
    let memory = 0;
    for (const node of nodes.items) {
      const name = node.metadata?.name ?? '?';
      names.add(name);
      const conditions = node.status?.conditions ?? [];
      if (conditions.find((c) => c.type === 'Ready')?.status !== 'True') problems.push(`${name} is not Ready`);
      for (const condition of conditions)
        if (PRESSURE.includes(condition.type) && condition.status === 'True')
          problems.push(`${name} has ${condition.type}`);
      if (node.spec?.unschedulable) problems.push(`${name} is cordoned`);
      cpu += quantity(node.status?.allocatable?.['cpu']);
      memory += quantity(node.status?.allocatable?.['memory']);
    }
    let cpuRequested = 0;
    let memoryRequested = 0;
    for (const pod of pods.items) {
      if (!names.has(pod.spec?.nodeName ?? '') || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')
        continue;
      for (const container of pod.spec?.containers ?? []) {
        cpuRequested += quantity(container.resources?.requests?.['cpu']);
        memoryRequested += quantity(container.resources?.requests?.['memory']);
      }
    }
    const cpuHeadroom = cpu === 0 ? 0 : (1 - cpuRequested / cpu) * 100;
    const memoryHeadroom = memory === 0 ? 0 : (1 - memoryRequested / memory) * 100;
    const headroom = Math.min(cpuHeadroom, memoryHeadroom);
    if (headroom < config.minHeadroom) {
      const which = cpuHeadroom <= memoryHeadroom ? 'CPU' : 'memory';
      problems.push(`only ${pct(headroom)} of allocatable ${which} is not requested`);
    }
    return {
      status: problems.length > 0 ? 'fail' : 'pass',
      value: `${nodes.items.length} nodes, headroom CPU ${pct(cpuHeadroom)} / memory ${pct(memoryHeadroom)}`,
      limit: `Ready, no pressure, headroom >= ${pct(config.minHeadroom)}`,
      message:
        problems.length > 0
          ? problems.join('; ')
          : `${nodes.items.length} nodes Ready with no pressure; ${cpuRequested.toFixed(2)} of ${cpu} CPU and ${(memoryRequested / 2 ** 30).toFixed(1)} of ${(memory / 2 ** 30).toFixed(1)} GiB memory requested`,
      details: { nodes: nodes.items.length, cpu, cpuRequested, memory, memoryRequested, problems },
    };
  },
};
