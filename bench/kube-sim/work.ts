/**
 * The simulator's own work in bench/kube-sim's rollout, without sockets and without timing: the store and the
 * controllers on a VirtualClock in this process, 200 Deployments × 10 pods (Ready 200 ms after start), 20 store
 * watches (10 on pods, 5 on Deployments, 5 on ReplicaSets), then one strategic merge patch per Deployment and
 * 3 s of virtual time. Prints the CPU time of the rollout, the writes and the watch events: a measure of
 * kube-sim's per-write cost (store, managedFields, validation, controllers, kubelet, Events) that does not move
 * with the machine's load or the length of a real-time rollout as bench/kube-sim/run.ts's CPU column does.
 * No JSON, no TLS: those costs are run.ts's.
 * Run: npx tsx bench/kube-sim/work.ts
 */
import { VirtualClock } from '@deploy-actions/core/clock';
import { BehaviourTable } from '../../packages/kube-sim/src/behaviour';
import { startControllers } from '../../packages/kube-sim/src/controllers/start';
import { expireEvents } from '../../packages/kube-sim/src/event-ttl';
import { type KubeObject, ObjectStore } from '../../packages/kube-sim/src/store';

const DEPLOYMENTS = 200;
const PODS = 10;

const clock = new VirtualClock();
const store = new ObjectStore(clock, { historyLimit: 20_000 });
const stopExpiry = expireEvents(store, clock);
const behaviour = new BehaviourTable();
behaviour.set('*', { readyAfter: '200ms' });
const controllers = startControllers(store, clock, behaviour, { seed: 1 });
let events = 0;
for (let i = 0; i < 20; i++) {
  const type = i % 2 === 0 ? 'v1/pods' : i % 4 === 1 ? 'apps/v1/deployments' : 'apps/v1/replicasets';
  store.watch(type, undefined, undefined, () => {
    events++;
  });
}
const deployment = (name: string, image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas: PODS,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
    },
  },
});
for (let i = 0; i < DEPLOYMENTS; i++) store.create(deployment(`app-${i}`, 'img:1'));
for (let t = 0; t < 20; t++) await clock.advance(100);

const cpu = process.cpuUsage();
const rv = Number(store.resourceVersion);
events = 0;
for (let i = 0; i < DEPLOYMENTS; i++) {
  store.patch('apps/v1/deployments', 'default', `app-${i}`, 'strategic', {
    spec: { template: { spec: { containers: [{ name: 'app', image: 'img:2' }] } } },
  });
}
for (let t = 0; t < 30; t++) await clock.advance(100);
const used = process.cpuUsage(cpu);
const updated = store
  .list('v1/pods', 'default')
  .filter((p) => p.spec.containers[0].image === 'img:2' && p.status?.phase === 'Running').length;
console.log(
  `CPU of the rollout: ${((used.user + used.system) / 1e6).toFixed(2)} s; ${Number(store.resourceVersion) - rv} writes, ${events} watch events, ${updated} of ${DEPLOYMENTS * PODS} pods on img:2 and running`,
);
stopExpiry();
controllers.stop();
process.exit(0);
