/**
 * Types shared by the store and the modules it calls (admission, defaults, immutable fields, graceful deletion):
 * a leaf module, so that none of them imports the store back.
 */
import type { ResourceType } from './resources';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are open-ended JSON
export type KubeObject = Record<string, any>;

/** A mutating admission step (defaulting) run on create and update before validation. */
export type Admission = (type: ResourceType, obj: KubeObject, old: KubeObject | undefined) => void;
