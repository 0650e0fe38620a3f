/**
 * Routers that edit weights inside one object the user already has (HTTPRoute
 * backendRefs, VirtualService route destinations, TrafficSplit backends):
 * read it, set stable = 100 - w and canary = w in every selected list (adding
 * the canary entry beside the stable one when missing), write it back with
 * its resourceVersion so a concurrent edit is never overwritten.
 */
import { UserError } from '../errors';
import { getOptional } from '../kube/objects';
import type { ResourceType } from '../kube/resources';
import type { KubeObject } from '../kube/types';
import { ADDED_ANNOTATION, integerWeight, requireReadyEndpoints, withConflictRetry } from './common';
import type { RouterDeps, RouterKind, RouterState, TrafficRouter, TrafficTarget } from './types';

export type Entry = Record<string, unknown>;

export interface WeightedList {
  /** e.g. `rule "primary"` or `http[0]`, for messages. */
  label: string;
  entries: Entry[];
}

export interface WeightedAdapter {
  /** e.g. HTTPRoute */
  kindName: string;
  objectName: string;
  /** Shown when the object is missing. */
  howToCreate: string;
  /** The resource types to try, in order (one per API version). */
  resources: ResourceType[];
  /** The lists to edit in `object` (live references into it); throws a UserError when none match. */
  lists(object: KubeObject): WeightedList[];
  isStable(entry: Entry): boolean;
  isCanary(entry: Entry): boolean;
  /** A canary entry modelled on the stable one (same port, namespace...). */
  canaryEntry(stable: Entry): Entry;
  stableLabel: string;
  canaryLabel: string;
  /** The canary's own Service, when it has one: its endpoints must be Ready before any weight moves to it. */
  canaryService?: string;
}

export abstract class WeightedRouter implements TrafficRouter {
  abstract readonly name: RouterKind;
  private resolved: ResourceType | undefined;

  constructor(
    protected readonly target: TrafficTarget,
    protected readonly deps: RouterDeps,
  ) {}

  protected abstract adapter(): WeightedAdapter;

  async validate(): Promise<void> {
    const a = this.adapter();
    const object = await this.read(a);
    a.lists(object);
  }

  async setWeight(weight: number): Promise<RouterState> {
    const w = integerWeight(weight);
    const a = this.adapter();
    if (w > 0 && a.canaryService) await requireReadyEndpoints(this.deps.client, this.target.namespace, a.canaryService);
    const labels = await this.write(a, (object) => this.shift(a, object, w));
    return {
      weight,
      actualWeight: w,
      detail: `${a.kindName} ${this.target.namespace}/${a.objectName} ${labels.join(', ')}: ${a.stableLabel}=${100 - w}, ${a.canaryLabel}=${w}`,
    };
  }

  async promote(): Promise<void> {
    await this.reset();
  }

  async abort(): Promise<void> {
    await this.reset();
  }

  async plan(weight: number): Promise<string[]> {
    const w = integerWeight(weight);
    const a = this.adapter();
    const labels = await this.write(a, (object) => this.shift(a, object, w), true);
    return [
      `update ${a.kindName} ${this.target.namespace}/${a.objectName} (${labels.join(', ')}): ${a.stableLabel} weight ${100 - w}, ${a.canaryLabel} weight ${w} (server dry run passed)`,
    ];
  }

  /** All traffic to stable; the canary entries this router added are removed again. */
  private async reset(): Promise<void> {
    const a = this.adapter();
    await this.write(a, (object) => {
      const added = object.metadata?.annotations?.[ADDED_ANNOTATION] === 'true';
      const lists = a.lists(object);
      for (const list of lists) {
        for (const entry of list.entries) if (a.isStable(entry)) entry.weight = 100;
        for (let i = list.entries.length - 1; i >= 0; i--) {
          const entry = list.entries[i] as Entry;
          if (!a.isCanary(entry)) continue;
          if (added) list.entries.splice(i, 1);
          else entry.weight = 0;
        }
      }
      if (object.metadata?.annotations) delete object.metadata.annotations[ADDED_ANNOTATION];
      return lists.map((l) => l.label);
    });
  }

  private shift(a: WeightedAdapter, object: KubeObject, w: number): string[] {
    const lists = a.lists(object);
    let added = false;
    for (const list of lists) {
      const stable = list.entries.find((e) => a.isStable(e)) as Entry;
      for (const entry of list.entries) {
        if (a.isStable(entry)) entry.weight = 100 - w;
        else if (a.isCanary(entry)) entry.weight = w;
      }
      if (!list.entries.some((e) => a.isCanary(e))) {
        list.entries.push({ ...a.canaryEntry(stable), weight: w });
        added = true;
      }
    }
    if (added) {
      object.metadata ??= {};
      object.metadata.annotations = { ...object.metadata.annotations, [ADDED_ANNOTATION]: 'true' };
    }
    return lists.map((l) => l.label);
  }

  private async read(a: WeightedAdapter): Promise<KubeObject> {
    const { namespace } = this.target;
    for (const resource of this.resolved ? [this.resolved] : a.resources) {
      const object = await getOptional(this.deps.client, resource, namespace, a.objectName);
      if (object !== undefined) {
        this.resolved = resource;
        return object;
      }
    }
    const versions = a.resources.map((r) => `${r.group}/${r.version}`).join(' or ');
    throw new UserError(`${a.kindName} '${a.objectName}' (${versions}) not found in namespace '${namespace}'.`, {
      hint: a.howToCreate,
    });
  }

  /** Read, edit, PUT with the read resourceVersion; a 409 means someone else wrote: read again. */
  private async write(a: WeightedAdapter, edit: (object: KubeObject) => string[], dryRun = false): Promise<string[]> {
    return withConflictRetry(async () => {
      const object = await this.read(a);
      const labels = edit(object);
      await this.deps.client.replace(this.resolved as ResourceType, object, { dryRun });
      return labels;
    });
  }
}
