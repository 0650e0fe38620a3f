/** Kubernetes access: the client and its kubeconfig inputs, reading one object, workloads, their history and rollout status. */

export * from './client';
export { importClientNode, type KubeConfigSource, type LoadedKubeConfig, loadKubeConfig } from './config';
export * from './errors';
export * from './explain';
export * from './history';
export * from './informer';
export { kubeInputs, kubeSource, resolveNamespace } from './inputs';
export * from './objects';
export * from './resources';
export * from './rollout-status';
export * from './rollout-wait';
export type * from './types';
export * from './workloads';
