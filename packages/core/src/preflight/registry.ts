/**
 * Every gate by name, each loaded on first use so a run pays only for the gates it has (a module import is
 * real work for a virtual clock: holdVirtualTime keeps tests' auto-advance from jumping over it).
 */
import { holdVirtualTime } from '../clock/quiescence';
import { GATE_NAMES } from './schema';
import type { GateDefinition } from './types';

type Loader = () => Promise<GateDefinition<any>>;

export const GATES: Record<(typeof GATE_NAMES)[number], Loader> = {
  checks: async () => (await holdVirtualTime(import('./checks'))).checksGate,
  approvals: async () => (await holdVirtualTime(import('./approvals'))).approvalsGate,
  window: async () => (await holdVirtualTime(import('./window'))).windowGate,
  cluster: async () => (await holdVirtualTime(import('./cluster'))).clusterGate,
  workload: async () => (await holdVirtualTime(import('./workload'))).workloadGate,
  references: async () => (await holdVirtualTime(import('./references'))).referencesGate,
  backup: async () => (await holdVirtualTime(import('./backup'))).backupGate,
  metrics: async () => (await holdVirtualTime(import('./metrics'))).metricsGate,
  security: async () => (await holdVirtualTime(import('./security'))).securityGate,
  coverage: async () => (await holdVirtualTime(import('./coverage'))).coverageGate,
  url: async () => (await holdVirtualTime(import('./url'))).urlGate,
  image: async () => (await holdVirtualTime(import('./image'))).imageGate,
  manifests: async () => (await holdVirtualTime(import('./manifests'))).manifestsGate,
};

export { GATE_NAMES };
