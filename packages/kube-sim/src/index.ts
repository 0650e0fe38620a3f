/**
 * kube-sim: a Kubernetes API server on loopback (HTTPS with a fresh self-signed certificate) for tests,
 * the demo and benchmarks. Objects live in an in-process ObjectStore that controllers share with the
 * REST front (kube-sim.ts).
 */
export { ApiError } from './errors';
export type { FaultRule } from './faults';
export { FaultInjector } from './faults';
export { type Controller, KubeSim, type KubeSimOptions } from './kube-sim';
export { type Gvr, ResourceRegistry, type ResourceType } from './resources';
export { loadScenario, type Scenario } from './scenario';
export { labelSelectorFromObject, parseLabelSelector } from './selectors';
export type { LogHandler, LogRequest, ProxyHandler, ProxyRequest, ProxyResponse } from './server';
export { RequestStats } from './stats';
export { type KubeObject, ObjectStore, type PatchType, type PropagationPolicy, type WatchEvent } from './store';
