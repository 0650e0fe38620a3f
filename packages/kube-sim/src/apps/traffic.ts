/**
 * A traffic generator on the sim's clock: `rps` requests per second to a Service, split first as the routing
 * objects say (an NGINX canary Ingress's `canary-weight`, Gateway API HTTPRoute backendRef weights, Istio
 * VirtualService route weights), then round robin over Ready pods. Nothing goes over a socket: each request
 * is answered and counted in the app metrics, so canary analysis sees per-version rates without a load tool.
 */
import type { Clock } from '@deploy-actions/core/clock';
import type { Random } from '../controllers/random';
import type { KubeObject, ObjectStore } from '../store';
import type { SimulatedApps } from './apps';

export interface TrafficOptions {
  service: string;
  namespace?: string;
  /** Requests per second (simulated time). */
  rps: number;
  path?: string;
  /** Batch interval in ms (default 100): requests of one interval are issued together. */
  tickMs?: number;
}

export interface TrafficHandle {
  stop(): void;
  /** Requests sent so far, per backend Service. */
  readonly sent: Map<string, number>;
}

interface Backend {
  service: string;
  weight: number;
}

function tryList(store: ObjectStore, gvr: string, ns: string): KubeObject[] {
  try {
    return store.list(gvr, ns);
  } catch {
    return []; // the kind is not registered in this sim
  }
}

/** Where traffic for `service` goes, by weight, as the routing objects in its namespace say. */
export function backendsFor(store: ObjectStore, ns: string, service: string): Backend[] {
  // NGINX: the main Ingress points at `service`; a canary Ingress for the same host takes canary-weight.
  const ingresses = tryList(store, 'networking.k8s.io/v1/ingresses', ns);
  const backendsOf = (ing: KubeObject): string[] =>
    (ing.spec?.rules ?? []).flatMap((r: KubeObject) =>
      (r.http?.paths ?? []).map((p: KubeObject) => p.backend?.service?.name),
    );
  const hostsOf = (ing: KubeObject): string[] => (ing.spec?.rules ?? []).map((r: KubeObject) => r.host ?? '');
  const isCanary = (ing: KubeObject) => ing.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true';
  const main = ingresses.find((i) => !isCanary(i) && backendsOf(i).includes(service));
  if (main) {
    const canary = ingresses.find((i) => isCanary(i) && hostsOf(i).some((h) => hostsOf(main).includes(h)));
    if (canary) {
      const a = canary.metadata.annotations;
      const total = Number(a['nginx.ingress.kubernetes.io/canary-weight-total'] ?? 100);
      const weight = Math.min(total, Math.max(0, Number(a['nginx.ingress.kubernetes.io/canary-weight'] ?? 0)));
      const target = backendsOf(canary)[0];
      if (target && weight > 0)
        return [
          { service, weight: total - weight },
          { service: target, weight },
        ];
    }
    return [{ service, weight: 1 }];
  }
  // Gateway API: an HTTPRoute whose backendRefs include the Service.
  for (const route of tryList(store, 'gateway.networking.k8s.io/v1/httproutes', ns)) {
    for (const rule of route.spec?.rules ?? []) {
      const refs: KubeObject[] = rule.backendRefs ?? [];
      if (!refs.some((r) => r.name === service)) continue;
      return refs.map((r) => ({ service: r.name, weight: r.weight ?? 1 }));
    }
  }
  // Istio: a VirtualService whose http routes include the Service as a destination host.
  for (const vs of tryList(store, 'networking.istio.io/v1beta1/virtualservices', ns)) {
    for (const http of vs.spec?.http ?? []) {
      const routes: KubeObject[] = http.route ?? [];
      const hostName = (h: string) => h.split('.')[0];
      if (!routes.some((r) => hostName(r.destination?.host ?? '') === service)) continue;
      return routes.map((r) => ({
        service: hostName(r.destination.host)!,
        weight: r.weight ?? (routes.length === 1 ? 100 : 0),
      }));
    }
  }
  return [{ service, weight: 1 }];
}

export class TrafficGenerator {
  private readonly running = new Set<AbortController>();

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock,
    private readonly apps: SimulatedApps,
    private readonly random: Random,
  ) {}

  start(options: TrafficOptions): TrafficHandle {
    const ns = options.namespace ?? 'default';
    const tick = options.tickMs ?? 100;
    const abort = new AbortController();
    this.running.add(abort);
    const sent = new Map<string, number>();
    let owed = 0;
    const loop = async () => {
      while (!abort.signal.aborted) {
        await this.clock.sleep(tick, abort.signal);
        owed += (options.rps * tick) / 1000;
        const n = Math.floor(owed);
        owed -= n;
        const backends = backendsFor(this.store, ns, options.service).filter((b) => b.weight > 0);
        const total = backends.reduce((s, b) => s + b.weight, 0);
        for (let i = 0; i < n && total > 0; i++) {
          let pick = this.random.next() * total;
          let backend = backends[0]!;
          for (const b of backends) {
            if (pick < b.weight) {
              backend = b;
              break;
            }
            pick -= b.weight;
          }
          this.apps.answer(ns, backend.service, options.path ?? '/');
          sent.set(backend.service, (sent.get(backend.service) ?? 0) + 1);
        }
      }
    };
    loop().catch(() => {});
    return {
      stop: () => {
        abort.abort();
        this.running.delete(abort);
      },
      sent,
    };
  }

  /** Stop every generator (the sim is stopping). */
  stopAll(): void {
    for (const abort of this.running) abort.abort();
    this.running.clear();
  }
}
