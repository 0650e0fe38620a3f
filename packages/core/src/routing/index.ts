/**
 * Traffic routers: one interface (TrafficRouter), one implementation per
 * platform. createRouter picks it from the `router` input and the parsed
 * `router-config`.
 */
export { CommandRouter } from './command';
export { MANAGED_LABELS } from './common';
export { parseRouterConfig, parseRouterKind, ROUTER_CONFIG_EXAMPLES } from './config';
export { createRouter } from './create-router';
export { BASE_ANNOTATION as STABLE_REPLICAS_ANNOTATION } from './replicas';
export * from './types';
