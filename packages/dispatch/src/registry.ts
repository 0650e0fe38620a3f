/**
 * The actions of the suite. Each loader is a dynamic import, so the bundle keeps every
 * action in its own chunk and a run loads only the action it needs.
 */
import type { ActionDefinition } from '@deploy-actions/core/runtime';

type Loader = () => Promise<{ default: ActionDefinition<unknown> }>;

export const actionLoaders: Record<string, Loader> = {
  preflight: () => import('@deploy-actions/action-preflight') as Promise<{ default: ActionDefinition<unknown> }>,
  'build-tag': () => import('@deploy-actions/action-build-tag') as Promise<{ default: ActionDefinition<unknown> }>,
  migrate: () => import('@deploy-actions/action-migrate') as Promise<{ default: ActionDefinition<unknown> }>,
  'canary-promote': () =>
    import('@deploy-actions/action-canary-promote') as Promise<{ default: ActionDefinition<unknown> }>,
  smoke: () => import('@deploy-actions/action-smoke') as Promise<{ default: ActionDefinition<unknown> }>,
  rollback: () => import('@deploy-actions/action-rollback') as Promise<{ default: ActionDefinition<unknown> }>,
  'release-notes': () =>
    import('@deploy-actions/action-release-notes') as Promise<{ default: ActionDefinition<unknown> }>,
};

export const actionNames = Object.keys(actionLoaders);

export function isActionName(name: string): boolean {
  return Object.hasOwn(actionLoaders, name);
}
