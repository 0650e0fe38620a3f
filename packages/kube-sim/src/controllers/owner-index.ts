/**
 * Objects of one resource grouped by their controller's uid, kept current from a watch, so a controller
 * finds its pods (or ReplicaSets) without scanning the namespace on every reconcile.
 */
import type { KubeObject, ObjectStore } from '../store';
import { controllerRef } from './common';

export class OwnerIndex {
  private readonly byOwner = new Map<string, Map<string, KubeObject>>();
  private readonly ownerOf = new Map<string, string>();
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly gvr: string,
  ) {}

  start(): () => void {
    this.stopWatch = this.store.watch(this.gvr, undefined, undefined, (e) => {
      const obj = e.object;
      const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
      const before = this.ownerOf.get(id);
      const after = e.type === 'DELETED' ? undefined : controllerRef(obj)?.uid;
      if (before !== undefined && before !== after) {
        const set = this.byOwner.get(before);
        set?.delete(id);
        if (set?.size === 0) this.byOwner.delete(before);
        this.ownerOf.delete(id);
      }
      if (after !== undefined) {
        let set = this.byOwner.get(after);
        if (!set) {
          set = new Map();
          this.byOwner.set(after, set);
        }
        set.set(id, obj);
        this.ownerOf.set(id, after);
      }
    });
    return () => {
      this.stopWatch?.();
      this.byOwner.clear();
      this.ownerOf.clear();
    };
  }

  /** The current objects whose controller has this uid. */
  owned(uid: string): KubeObject[] {
    const set = this.byOwner.get(uid);
    return set ? [...set.values()] : [];
  }
}
