/**
 * The canary-promote tests' cluster: the shared kube-sim test cluster (@deploy-actions/testkit/cluster)
 * with the simulated apps and traffic, running this action, plus the one thing only canaries need.
 */
import { startCluster as startSharedCluster } from '@deploy-actions/testkit/cluster';
import canaryPromote from '../src/main';

export { HTTPROUTE_CRD } from '@deploy-actions/testkit/cluster';

export const NS = 'shop';

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

export async function startCluster(seed = 1) {
  const cluster = await startSharedCluster({ namespace: NS, seed, action: canaryPromote });
  return {
    ...cluster,
    /**
     * Runs take `weight-rounding: nearest` unless they say otherwise: the tests' 4-pod apps cannot serve the default
     * steps' 5% exactly (the test of the refusal gives `weight-rounding: exact`).
     */
    run: (inputs: Record<string, string>, run?: Parameters<typeof cluster.run>[1]) =>
      cluster.run({ 'weight-rounding': 'nearest', ...inputs }, run),
    /** The Service the nginx and gateway-api routers send the canary share to: the canary pods only. */
    async canaryService(name: string) {
      await cluster.client.create('Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `${name}-canary`, namespace: NS },
        spec: {
          selector: { app: name, 'deploy-actions.dev/role': 'canary' },
          ports: [{ port: 80, targetPort: 8080 }],
        },
      });
    },
  };
}
