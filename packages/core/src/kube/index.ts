/** Kubernetes access: the shared inputs now; the client, apply, rollout waiting and routers come with issues 5-7. */

export * from './client';
export { importClientNode, type KubeConfigSource, type LoadedKubeConfig, loadKubeConfig } from './config';
export * from './errors';
export * from './explain';
export * from './history';
export * from './informer';
export { kubeInputs, kubeSource, resolveNamespace } from './inputs';
export * from './resources';
export * from './rollout-status';
export * from './rollout-wait';
export type * from './types';
export * from './workloads';
