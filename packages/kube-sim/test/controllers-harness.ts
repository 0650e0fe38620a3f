/** An ObjectStore with the simulated controllers on a VirtualClock: no server, no sockets. */
import { VirtualClock } from '@deploy-actions/core/clock';
import { BehaviourTable } from '../src/behaviour';
import { startControllers } from '../src/controllers/start';
import { type KubeObject, ObjectStore } from '../src/store';

export function harness(seed = 1) {
  const clock = new VirtualClock();
  const store = new ObjectStore(clock);
  const behaviour = new BehaviourTable();
  const controllers = startControllers(store, clock, behaviour, { seed });
  return {
    clock,
    store,
    behaviour,
    controllers,
    /** Let queued reconciles run without moving time. */
    settle: () => clock.advance(0),
    /** Move virtual time forward in steps of `step` ms, calling `each` after every step. */
    async run(ms: number, step = 1000, each?: () => void) {
      for (let t = 0; t < ms; t += step) {
        await clock.advance(Math.min(step, ms - t));
        each?.();
      }
    },
    stop: () => controllers.stop(),
  };
}

export function deployment(name: string, image: string, replicas: number, spec: KubeObject = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
      ...spec,
    },
  };
}
