import type { Runtime } from '../runtime/port';
import type { DeployOutcome } from './types';

/** A deploy's timeline: each event stamped with the runtime's clock and logged as it happens. */
export interface Timeline {
  entries: DeployOutcome['timeline'];
  mark: (event: string) => void;
}

export function startTimeline(rt: Runtime): Timeline {
  const entries: DeployOutcome['timeline'] = [];
  const mark = (event: string) => {
    entries.push({ at: new Date(rt.clock.now()).toISOString(), event });
    rt.log.info(event);
  };
  return { entries, mark };
}
