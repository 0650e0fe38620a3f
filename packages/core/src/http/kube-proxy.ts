/**
 * A ServiceProxy from a loaded kubeconfig: the API server URL, CA, client
 * certificate and token come from client-node's KubeConfig (typed here by the
 * two methods used, so this module does not load client-node itself).
 */
import type { RequestOptions } from 'node:https';
import { UserError } from '../errors';
import { apiServerProxy, type ServiceProxy } from './service-proxy';

export interface KubeConfigLike {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

function pem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map((item) => pem(item)).join('\n');
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

export async function kubeServiceProxy(config: KubeConfigLike, defaultNamespace: string): Promise<ServiceProxy> {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new UserError('The kubeconfig has no current cluster to reach services through');
  const options: RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return apiServerProxy({
    server: cluster.server,
    headers,
    ca: pem(options.ca),
    cert: pem(options.cert),
    key: pem(options.key),
    insecure: options.rejectUnauthorized === false,
    defaultNamespace,
  });
}
