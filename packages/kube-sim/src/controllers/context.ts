/**
 * What every simulated controller is given. Its own module (a leaf for the controllers), so that the shared
 * helpers in common.ts need not import the event recorder or the owner index, which use those helpers.
 */
import type { Clock } from '@deploy-actions/core/clock';
import type { BehaviourTable } from '../behaviour';
import type { ObjectStore } from '../store';
import type { EventRecorder } from './events';
import type { OwnerIndex } from './owner-index';
import type { Budget } from './queue';
import type { Random } from './random';

/** Everything a controller needs from the sim. */
export interface ControllerContext {
  store: ObjectStore;
  clock: Clock;
  behaviour: BehaviourTable;
  random: Random;
  events: EventRecorder;
  signal: AbortSignal;
  /** Pods and ReplicaSets by controller uid. */
  pods: OwnerIndex;
  replicaSets: OwnerIndex;
  /** Real-time slices shared by the work queues and the kubelet (see Budget). */
  budget: Budget;
}
