/** The kubeconfig a client needs to reach a kube-sim server (cluster CA = the self-signed certificate). */
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  /** PEM of the server certificate; without it the kubeconfig skips TLS verification. */
  caPem?: string | undefined;
  namespace?: string | undefined;
  user?: string | undefined;
  token?: string | undefined;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const user = o.user ?? 'kube-sim-admin';
  const cluster: Record<string, unknown> = { server: o.server };
  if (o.caPem) cluster['certificate-authority-data'] = Buffer.from(o.caPem).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kube-sim', cluster }],
    users: [{ name: user, user: { token: o.token ?? 'kube-sim-token' } }],
    contexts: [{ name: 'kube-sim', context: { cluster: 'kube-sim', user, namespace: o.namespace ?? 'default' } }],
    'current-context': 'kube-sim',
    preferences: {},
  });
}
