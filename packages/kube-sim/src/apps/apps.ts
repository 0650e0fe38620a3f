/**
 * Simulated apps: a request to a Service (through the API server's service proxy, or from the traffic
 * generator) goes to one Ready endpoint pod, round robin, and is answered as that pod's image behaviour says
 * (status, body, error rate, lognormal latency, per-path routes). Every answer is counted per app, version and
 * pod in the Prometheus metrics.
 */
import type { Clock } from '@deploy-actions/core/clock';
import type { BehaviourTable, HttpSpec, RouteSpec } from '../behaviour';
import type { Random } from '../controllers/random';
import type { KubeObject, ObjectStore } from '../store';
import { sampleLatency } from './latency';
import { AppMetrics, type RequestLabels } from './metrics';

export interface AppResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Simulated time the answer took, in ms. */
  latencyMs: number;
  /** The pod that answered, when one did. */
  pod?: string;
  version?: string;
}

/** A pod's app and version labels: `app` / `app.kubernetes.io/name`, and `version` / `app.kubernetes.io/version` or the image tag. */
export function appLabels(pod: KubeObject, fallbackApp: string): RequestLabels {
  const labels: Record<string, string> = pod.metadata.labels ?? {};
  const image: string = pod.spec?.containers?.[0]?.image ?? '';
  const at = image.lastIndexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  const tag = colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : 'latest';
  return {
    namespace: pod.metadata.namespace,
    app: labels.app ?? labels['app.kubernetes.io/name'] ?? fallbackApp,
    version: labels.version ?? labels['app.kubernetes.io/version'] ?? tag,
    pod: pod.metadata.name,
  };
}

function pickRoute(http: HttpSpec, path: string): RouteSpec {
  const routes = http.routes ?? {};
  if (routes[path]) return { ...http, ...routes[path] };
  let best: [string, RouteSpec] | undefined;
  for (const [pattern, route] of Object.entries(routes)) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (path.startsWith(prefix) && (!best || prefix.length > best[0].length)) best = [prefix, route];
  }
  return best ? { ...http, ...best[1] } : http;
}

const DEFAULT_HTTP: HttpSpec = { status: 200, latencyMs: { p50: 2, p99: 10 } };

export class SimulatedApps {
  readonly metrics = new AppMetrics();
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock,
    private readonly behaviour: BehaviourTable,
    private readonly random: Random,
  ) {}

  /** Ready pods behind a Service, from its Endpoints (sorted by pod name so round robin is reproducible). */
  readyPods(namespace: string, service: string): KubeObject[] {
    const endpoints = this.store.find('v1/endpoints', namespace, service);
    const pods: KubeObject[] = [];
    for (const subset of endpoints?.subsets ?? []) {
      for (const address of subset.addresses ?? []) {
        const name = address.targetRef?.name;
        const pod = name ? this.store.find('v1/pods', namespace, name) : undefined;
        if (pod) pods.push(pod);
      }
    }
    return pods.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  }

  /** Answer one request to a Service without waiting for the simulated latency. */
  answer(namespace: string, service: string, path: string): AppResponse {
    const pods = this.readyPods(namespace, service);
    if (pods.length === 0) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `no endpoints available for service "${service}"`,
        reason: 'ServiceUnavailable',
        code: 503,
      };
      return {
        status: 503,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(status),
        latencyMs: 0,
      };
    }
    const cursorKey = `${namespace}/${service}`;
    const cursor = this.cursors.get(cursorKey) ?? 0;
    this.cursors.set(cursorKey, cursor + 1);
    const pod = pods[cursor % pods.length]!;
    const image: string = pod.spec?.containers?.[0]?.image ?? '';
    const http = this.behaviour.lookup(image)?.http ?? DEFAULT_HTTP;
    const route = pickRoute(http, path.startsWith('/') ? path : `/${path}`);
    const labels = appLabels(pod, service);
    const failed = (route.errorRate ?? 0) > 0 && this.random.next() < route.errorRate!;
    const status = failed ? 500 : (route.status ?? 200);
    const latencyMs = sampleLatency(route.latencyMs, this.random);
    let body: string;
    let contentType = 'text/plain; charset=utf-8';
    if (failed) body = 'internal server error\n';
    else if (route.body === undefined) body = `${labels.app} ${labels.version} (${pod.metadata.name})\n`;
    else if (typeof route.body === 'string') body = route.body;
    else {
      body = JSON.stringify(route.body);
      contentType = 'application/json';
    }
    this.metrics.observe(labels, status, latencyMs / 1000);
    return {
      status,
      headers: { 'content-type': contentType, ...(route.headers ?? {}), 'x-kube-sim-pod': pod.metadata.name },
      body,
      latencyMs,
      pod: pod.metadata.name,
      version: labels.version,
    };
  }

  /**
   * The service proxy handler: answers after the simulated latency on the sim's clock. Requests for a
   * Service that does not exist go to the next handler (the server then answers 404).
   */
  async proxy(req: {
    namespace: string;
    service: string;
    path: string;
  }): Promise<{ status: number; headers: Record<string, string>; body: string } | undefined> {
    if (!this.store.find('v1/services', req.namespace, req.service)) return undefined;
    const res = this.answer(req.namespace, req.service, req.path || '/');
    if (res.latencyMs > 0) await this.clock.sleep(res.latencyMs);
    return { status: res.status, headers: res.headers, body: res.body };
  }
}
