/**
 * The KubeSim server: a Kubernetes API server on loopback (HTTPS with a fresh self-signed certificate) for tests,
 * the demo and benchmarks. Objects live in an in-process ObjectStore that controllers share with the
 * REST front.
 */
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from '@deploy-actions/core/clock';
import { watchCustomResourceDefinitions } from './crds';
import { DEFAULT_EVENT_TTL_MS, expireEvents } from './event-ttl';
import { FaultInjector } from './faults';
import { kubeconfigYaml } from './kubeconfig';
import type { Scenario } from './scenario';
import { ApiServer, type LogHandler, type ProxyHandler } from './server';
import { RequestStats } from './stats';
import { ObjectStore } from './store';
import { selfSignedCertificate } from './tls';

export interface Controller {
  start(sim: KubeSim): void | Promise<void>;
  stop?(): void | Promise<void>;
}

export interface KubeSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Time for timestamps, latency faults and the controllers. Default: the system clock. */
  clock?: Clock;
  scenario?: Scenario;
  /** HTTPS with a self-signed certificate (default), or plain HTTP when false. */
  tls?: boolean;
  /** Watch events kept per resource for resume (default 5000). */
  historyLimit?: number;
  /** Interval of BOOKMARK events on watches that allow them, in real ms (default 60000). */
  bookmarkIntervalMs?: number;
  /** Events are deleted this long after their last write, on the sim's clock (kube-apiserver's --event-ttl; default 1 h). */
  eventTtlMs?: number;
  /** Accept only requests carrying `Authorization: Bearer <this>` (401 Unauthorized otherwise); default: any. */
  bearerToken?: string;
}

export class KubeSim {
  readonly store: ObjectStore;
  readonly clock: Clock;
  readonly stats = new RequestStats();
  readonly faults = new FaultInjector();
  readonly scenario: Scenario;
  /** PEM of the server certificate (undefined without TLS). */
  readonly caPem: string | undefined;
  private readonly controllers: Controller[] = [];
  private readonly proxyHandlers: ProxyHandler[] = [];
  private readonly logHandlers: LogHandler[] = [];
  private readonly api: ApiServer;
  private readonly server: Server;
  private readonly stopCrds: () => void;
  private readonly stopEventExpiry: () => void;
  private started = false;
  private address = '';

  private constructor(options: KubeSimOptions) {
    this.clock = options.clock ?? systemClock;
    this.scenario = options.scenario ?? {};
    this.store = new ObjectStore(this.clock, { historyLimit: options.historyLimit ?? 5_000 });
    this.stopCrds = watchCustomResourceDefinitions(this.store);
    this.stopEventExpiry = expireEvents(this.store, this.clock, options.eventTtlMs ?? DEFAULT_EVENT_TTL_MS);
    this.api = new ApiServer({
      store: this.store,
      stats: this.stats,
      faults: this.faults,
      proxyHandlers: this.proxyHandlers,
      logHandlers: this.logHandlers,
      serverAddress: () => this.address,
      sleep: (ms) => this.clock.sleep(ms),
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    });
    const handle =
      options.bearerToken === undefined ? this.api.handle : authenticated(options.bearerToken, this.api.handle);
    if (options.tls === false) {
      this.caPem = undefined;
      this.server = createHttpServer(handle);
    } else {
      const { cert, key } = selfSignedCertificate();
      this.caPem = cert;
      this.server = createHttpsServer({ cert, key }, handle);
    }
    this.server.keepAliveTimeout = 60_000;
  }

  static async start(options: KubeSimOptions = {}): Promise<KubeSim> {
    const sim = new KubeSim(options);
    for (const ns of sim.scenario.namespaces ?? []) {
      if (!sim.store.find('v1/namespaces', undefined, ns)) {
        sim.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { fieldManager: 'kube-sim' });
      }
    }
    for (const obj of sim.scenario.objects ?? []) sim.store.create(obj, { fieldManager: 'kube-sim' });
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const port = (sim.server.address() as AddressInfo).port;
    sim.address = `127.0.0.1:${port}`;
    sim.started = true;
    for (const c of sim.controllers) await c.start(sim);
    return sim;
  }

  get url(): string {
    return `${this.caPem ? 'https' : 'http'}://${this.address}`;
  }

  get port(): number {
    return Number(this.address.split(':')[1]);
  }

  /** Kubeconfig YAML for this server (its certificate as the CA; a bearer token any value of which is accepted). */
  kubeconfig(options: { namespace?: string; user?: string } = {}): string {
    return kubeconfigYaml({ server: this.url, caPem: this.caPem, namespace: options.namespace, user: options.user });
  }

  writeKubeconfig(path: string, options: { namespace?: string; user?: string } = {}): void {
    writeFileSync(path, this.kubeconfig(options), { mode: 0o600 });
  }

  /** Add a controller; started at once when the server already runs, stopped by stop(). */
  registerController(c: Controller): void | Promise<void> {
    this.controllers.push(c);
    if (this.started) return c.start(this);
  }

  /** Answer requests to /api/v1/namespaces/<ns>/services/<name>[:port]/proxy/... (first handler that answers wins). */
  registerProxyHandler(fn: ProxyHandler): void {
    this.proxyHandlers.push(fn);
  }

  /** Produce the text of GET .../pods/<name>/log (first handler that answers wins; empty otherwise). */
  registerLogHandler(fn: LogHandler): void {
    this.logHandlers.push(fn);
  }

  async stop(): Promise<void> {
    for (const c of [...this.controllers].reverse()) await c.stop?.();
    this.stopCrds();
    this.stopEventExpiry();
    this.api.closeAll();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** The API server's answer to a request without the one accepted bearer token. */
function authenticated(token: string, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.authorization === `Bearer ${token}`) {
      handle(req, res);
      return;
    }
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    };
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(status));
  };
}
