/**
 * Reaching a Service inside the cluster without an ingress: the API server's
 * service proxy, `/api/v1/namespaces/{ns}/services/{[https:]name:port}/proxy/{path}`.
 * The kube module builds a ServiceProxy from the kubeconfig (server, CA,
 * credentials); `apiServerProxy` is the plain implementation it can use.
 * Note: the API server consumes the `Authorization` header for itself, so a
 * check cannot send its own through the proxy (use another header or a URL).
 */
import { type HttpRequestInit, type HttpResponse, httpRequest } from './transport';

export interface ServiceProxyTarget {
  namespace: string;
  service: string;
  port: string;
  /** Path with query, starting with `/`. */
  path: string;
  scheme: 'http' | 'https';
}

export interface ServiceProxyInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  now?: () => number;
}

export interface ServiceProxy {
  /** The namespace used when a check names none. */
  readonly defaultNamespace: string;
  request(target: ServiceProxyTarget, init: ServiceProxyInit): Promise<HttpResponse>;
  /** How the request is shown in reports (no credentials). */
  describe(target: ServiceProxyTarget): string;
  /** The URL, headers and TLS settings to reach the target directly (the load generator speaks raw HTTP/1.1). */
  directTarget?(target: ServiceProxyTarget): {
    url: string;
    headers: Record<string, string>;
    ca?: string;
    cert?: string;
    key?: string;
    insecure?: boolean;
  };
}

export function serviceProxyPath(target: ServiceProxyTarget): string {
  const name = `${target.scheme === 'https' ? 'https:' : ''}${target.service}:${target.port}`;
  const path = target.path.startsWith('/') ? target.path : `/${target.path}`;
  return `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/services/${encodeURIComponent(name)}/proxy${path}`;
}

export interface ApiServerProxyOptions {
  /** The API server URL, e.g. https://10.0.0.1:6443. */
  server: string;
  /** Credentials for the API server (e.g. `authorization: Bearer ...`). */
  headers?: Record<string, string>;
  ca?: string;
  /** Client certificate and key (PEM). */
  cert?: string;
  key?: string;
  insecure?: boolean;
  defaultNamespace?: string;
}

export function apiServerProxy(options: ApiServerProxyOptions): ServiceProxy {
  const base = new URL(options.server);
  const prefix = base.pathname.replace(/\/$/, '');
  const proxyUrl = (target: ServiceProxyTarget) => {
    const url = new URL(base);
    const proxied = serviceProxyPath(target);
    const query = proxied.indexOf('?');
    url.pathname = prefix + (query < 0 ? proxied : proxied.slice(0, query));
    url.search = query < 0 ? '' : proxied.slice(query);
    return url.toString();
  };
  return {
    defaultNamespace: options.defaultNamespace ?? 'default',
    describe: (target) => `service ${target.namespace}/${target.service}:${target.port}${target.path}`,
    directTarget: (target) => ({
      url: proxyUrl(target),
      headers: { ...options.headers },
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      insecure: options.insecure,
    }),
    request(target, init) {
      const url = proxyUrl(target);
      // The API server's credentials win over a check's own Authorization (see above).
      const headers = { ...withoutAuthorization(init.headers), ...options.headers };
      const requestInit: HttpRequestInit = {
        method: init.method,
        headers,
        body: init.body,
        signal: init.signal,
        now: init.now,
        tls: { insecure: options.insecure === true, ca: options.ca, cert: options.cert, key: options.key },
        redirects: { follow: false, max: 0 },
      };
      return httpRequest(url, requestInit);
    },
  };
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}
