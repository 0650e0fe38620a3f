/**
 * The Endpoints controller: for each Service with a selector, an Endpoints object of the same name listing the
 * IPs of matching pods (Ready ones in `addresses`, the others in `notReadyAddresses`) with the Service's ports
 * resolved against the pods' container ports. The service proxy and the traffic generator read it.
 */
import { parseLabelSelector } from '../selectors';
import type { KubeObject } from '../store';
import { ENDPOINTS, isPodReady, isTerminating, key, MANAGER, PODS, SERVICES, splitKey } from './common';
import type { ControllerContext } from './context';
import { WorkQueue } from './queue';

function selectorMatcher(svc: KubeObject) {
  const selector: Record<string, string> | undefined = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  return parseLabelSelector(
    Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );
}

/** The container port a Service port targets on one pod (a number, or a named port looked up in the pod). */
function targetPort(port: KubeObject, pod: KubeObject): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(String(target))) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  }
  return undefined;
}

export class EndpointsController {
  readonly queue: WorkQueue;
  /** Services each pod was last counted in, so a pod whose labels change leaves the right Endpoints. */
  private readonly podServices = new Map<string, Set<string>>();

  /** Parsed selectors by Service uid and resourceVersion: pod events test every Service of the namespace. */
  private readonly matchers = new Map<string, { rv: string; matches: ReturnType<typeof selectorMatcher> }>();

  private matcherOf(svc: KubeObject) {
    const cached = this.matchers.get(svc.metadata.uid);
    if (cached && cached.rv === svc.metadata.resourceVersion) return cached.matches;
    const matches = selectorMatcher(svc);
    this.matchers.set(svc.metadata.uid, { rv: svc.metadata.resourceVersion, matches });
    return matches;
  }

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('endpoints', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(SERVICES, undefined, undefined, (e) =>
        this.queue.add(key(e.object.metadata.namespace, e.object.metadata.name)),
      ),
      store.watch(PODS, undefined, undefined, (e) => {
        const pod = e.object;
        const ns = pod.metadata.namespace;
        const podKey = key(ns, pod.metadata.name);
        const before = this.podServices.get(podKey) ?? new Set<string>();
        const now = new Set<string>();
        if (e.type !== 'DELETED') {
          for (const svc of store.list(SERVICES, ns)) {
            if (this.matcherOf(svc)?.(pod.metadata.labels)) now.add(key(ns, svc.metadata.name));
          }
        }
        for (const k of before) this.queue.add(k);
        for (const k of now) this.queue.add(k);
        if (now.size > 0) this.podServices.set(podKey, now);
        else this.podServices.delete(podKey);
      }),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private sync(k: string): void {
    const { store } = this.ctx;
    const [ns, name] = splitKey(k);
    const svc = store.find(SERVICES, ns, name);
    const matches = svc ? selectorMatcher(svc) : undefined;
    const existing = store.find(ENDPOINTS, ns, name);
    if (!svc || !matches) {
      // Endpoints of a selector-less Service belong to whoever wrote them.
      if (
        !svc &&
        existing &&
        existing.metadata.labels?.['endpoints.kubernetes.io/managed-by'] === 'endpoint-controller'
      ) {
        store.delete(ENDPOINTS, ns, name);
      }
      return;
    }
    const pods = store
      .list(PODS, ns)
      .filter((p) => matches(p.metadata.labels) && p.status?.podIP && !isTerminating(p))
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    // Group pods by their resolved port list: one subset per distinct list, as the real controller does.
    const subsets = new Map<
      string,
      { addresses: KubeObject[]; notReadyAddresses: KubeObject[]; ports: KubeObject[] }
    >();
    for (const pod of pods) {
      const ports: KubeObject[] = [];
      for (const p of svc.spec?.ports ?? []) {
        const port = targetPort(p, pod);
        if (port === undefined) continue;
        ports.push({ ...(p.name ? { name: p.name } : {}), port, protocol: p.protocol ?? 'TCP' });
      }
      const id = JSON.stringify(ports);
      let subset = subsets.get(id);
      if (!subset) {
        subset = { addresses: [], notReadyAddresses: [], ports };
        subsets.set(id, subset);
      }
      const address = {
        ip: pod.status.podIP,
        nodeName: pod.spec?.nodeName,
        targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid },
      };
      (isPodReady(pod) ? subset.addresses : subset.notReadyAddresses).push(address);
    }
    const body: KubeObject[] = [...subsets.values()].map((s) => {
      const out: KubeObject = {};
      if (s.addresses.length) out.addresses = s.addresses;
      if (s.notReadyAddresses.length) out.notReadyAddresses = s.notReadyAddresses;
      if (s.ports.length) out.ports = s.ports;
      return out;
    });
    const labels = { ...(svc.metadata.labels ?? {}), 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' };
    if (!existing) {
      store.create(
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name, namespace: ns, labels },
          ...(body.length ? { subsets: body } : {}),
        },
        { fieldManager: MANAGER },
      );
      return;
    }
    if (JSON.stringify(existing.subsets ?? []) === JSON.stringify(body)) return;
    store.modify(
      ENDPOINTS,
      ns,
      name,
      (draft) => {
        draft.metadata.labels = labels;
        if (body.length) draft.subsets = body;
        else delete draft.subsets;
      },
      { fieldManager: MANAGER },
    );
  }
}
