/** Kubernetes access: the shared inputs now; the client, apply, rollout waiting and routers come with issues 5-7. */

export * from './history';
export { kubeInputs } from './inputs';
export * from './rollout-status';
export type * from './types';
