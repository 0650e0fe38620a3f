import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { findPythonClient, pythonClientMissing, runPython, simForClients } from './python-client';

const clients = simForClients({ controllers: true });

describe('client-node', () => {
  it('pod templates get the container and pod spec defaults; the new Deployment carries status {}', async () => {
    const apps = clients.kc.makeApiClient(k8s.AppsV1Api);
    const created = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                { name: 'web', image: 'ghcr.io/acme/web:v1', ports: [{ containerPort: 8080 }] },
                { name: 'sidecar', image: 'ghcr.io/acme/proxy' },
              ],
            },
          },
        },
      },
    });
    expect(created.status).toEqual({});
    const spec = created.spec!.template.spec!;
    expect(spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
    });
    expect(spec.containers[0]).toEqual({
      name: 'web',
      image: 'ghcr.io/acme/web:v1',
      imagePullPolicy: 'IfNotPresent',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    });
    expect(spec.containers[1]!.imagePullPolicy).toBe('Always');
  });

  it('Pods get the service account, priority and the not-ready/unreachable tolerations; Jobs their defaults', async () => {
    const core = clients.kc.makeApiClient(k8s.CoreV1Api);
    const pod = await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'solo' }, spec: { containers: [{ name: 'c', image: 'busybox:latest' }] } },
    });
    expect(pod.spec).toMatchObject({ serviceAccountName: 'default', enableServiceLinks: true, priority: 0 });
    expect(pod.spec!.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const job = await clients.kc.makeApiClient(k8s.BatchV1Api).createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'once' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } } },
      },
    });
    expect(job.spec).toMatchObject({
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      completions: 1,
      parallelism: 1,
      suspend: false,
    });
  });
});

const python = findPythonClient();

describe.skipIf(!python)(`the Python client${python ? '' : ` (skipped: ${pythonClientMissing})`}`, () => {
  it('lists Nodes and Pods into its typed models (every required NodeSystemInfo field is there)', async () => {
    const seen = await runPython(
      `
nodes = v1.list_node().items
pods = v1.list_namespaced_pod('default').items
out({'nodes': [n.status.node_info.boot_id is not None and n.status.node_info.kube_proxy_version for n in nodes],
     'pods': [p.spec.containers[0].termination_message_path for p in pods]})
`,
      clients.kubeconfig,
    );
    expect(seen).toMatchObject({ nodes: ['v1.32.0', 'v1.32.0'] });
    expect((seen as { pods: string[] }).pods).toContain('/dev/termination-log');
  });
});
