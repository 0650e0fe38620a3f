// Kinds that manifests carry and kube-sim now stores (RBAC, NetworkPolicy, EndpointSlice), `kubectl auth can-i`
// answered as for a cluster-admin, and the deprecated /api/v1/watch/... paths.
import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { findKubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { simForClients } from './python-client';

const clients = simForClients();
const bin = findKubectl();

describe.skipIf(!bin)(`kubectl${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  const run = (args: string[], input?: string) =>
    kubectlOk(args, { kubeconfig: clients.kubeconfig, ...(input ? { input } : {}) });

  it('applies RBAC, NetworkPolicy and EndpointSlice manifests and reads them back', async () => {
    const out = await run(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [get, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: deployer, namespace: default}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [''], resources: [pods], verbs: [list]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: gateway}}}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.5]}]
ports: [{name: http, port: 8080, protocol: TCP}]
`,
    );
    expect(out).toContain('role.rbac.authorization.k8s.io/deployer created');
    expect(out).toContain('networkpolicy.networking.k8s.io/web created');
    expect(out).toContain('endpointslice.discovery.k8s.io/web-abc created');
    expect((await run(['get', 'netpol', 'web', '-o', 'jsonpath={.spec.podSelector.matchLabels.app}'])).trim()).toBe(
      'web',
    );
    expect((await run(['get', 'clusterrole', 'reader', '-o', 'name'])).trim()).toBe(
      'clusterrole.rbac.authorization.k8s.io/reader',
    );
  });

  it('auth can-i answers yes, as for a cluster-admin', async () => {
    expect((await run(['auth', 'can-i', 'delete', 'deployments', '-n', 'default'])).trim()).toBe('yes');
  });
});

describe('the deprecated watch paths', () => {
  it('/api/v1/watch/namespaces/<ns>/configmaps streams events as ?watch=true does', async () => {
    clients.sim.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seen', namespace: 'default' } });
    const first = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${clients.sim.url}/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=1`,
        { ca: clients.sim.caPem },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => resolve(text.split('\n')[0]!));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(first)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'seen' } } });
  });
});
