import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { findKubectl, kubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { findPythonClient, pythonClientMissing, runPython, simForClients } from './python-client';

const clients = simForClients();

async function refusal(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    const err = e as k8s.ApiException<string>;
    return { code: err.code, body: typeof err.body === 'string' ? JSON.parse(err.body) : (err.body as never) };
  }
  throw new Error('the write was accepted');
}

describe('client-node', () => {
  it('a Service keeps its cluster IP: spec.clusterIPs[0] may not change once set', async () => {
    const core = clients.kc.makeApiClient(k8s.CoreV1Api);
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } },
    });
    const answer = await refusal(
      core.replaceNamespacedService({
        name: 'api',
        namespace: 'default',
        body: { ...svc, spec: { ...svc.spec, clusterIP: '10.96.200.1' } },
      }),
    );
    expect(answer.code).toBe(422);
    expect(answer.body).toMatchObject({
      reason: 'Invalid',
      message:
        'Service "api" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.200.1"}: may not change once set',
    });
    // Leaving it out keeps the one it has.
    const kept = await core.replaceNamespacedService({
      name: 'api',
      namespace: 'default',
      body: { metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ port: 81 }] } },
    });
    expect(kept.spec?.clusterIP).toBe(svc.spec?.clusterIP);
  });

  it('a PVC spec is immutable after creation except resources.requests', async () => {
    const core = clients.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const patch = (body: object) =>
      core.patchNamespacedPersistentVolumeClaim(
        { name: 'data', namespace: 'default', body },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    const answer = await refusal(patch({ spec: { accessModes: ['ReadWriteMany'] } }));
    expect(answer.code).toBe(422);
    expect(answer.body.message).toBe(
      'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
    const grown = await patch({ spec: { resources: { requests: { storage: '2Gi' } } } });
    expect(grown.spec?.resources?.requests?.storage).toBe('2Gi');
  });
});

const bin = findKubectl();

describe.skipIf(!bin)(`kubectl${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  const run = (args: string[], input?: string) =>
    kubectlOk(args, { kubeconfig: clients.kubeconfig, ...(input ? { input } : {}) });
  const attempt = (args: string[], input?: string) =>
    kubectl(args, { kubeconfig: clients.kubeconfig, ...(input ? { input } : {}) });
  const deployment = (app: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
`;

  it('apply with a changed Deployment selector: spec.selector field is immutable', async () => {
    await run(['apply', '-f', '-'], deployment('web'));
    const out = await attempt(['apply', '-f', '-'], deployment('web2'));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(
      'The Deployment "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    );
  });

  it("set image on a Job: the Job's template is immutable", async () => {
    await run(['create', 'job', 'migrate', '--image=busybox:1.36']);
    const out = await attempt(['set', 'image', 'job/migrate', 'migrate=busybox:1.37']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(
      /failed to patch image update to pod template: Job\.batch "migrate" is invalid: spec\.template: Invalid value: .*: field is immutable/,
    );
  });
});

const python = findPythonClient();

describe.skipIf(!python)(`the Python client${python ? '' : ` (skipped: ${pythonClientMissing})`}`, () => {
  it('an immutable ConfigMap refuses new data and being made mutable again', async () => {
    const answer = await runPython(
      `
v1.create_namespaced_config_map('default', {'metadata': {'name': 'settings'}, 'data': {'mode': 'a'}, 'immutable': True})
def attempt(body):
    try:
        v1.replace_namespaced_config_map('settings', 'default', body)
        return None
    except ApiException as e:
        return status_of(e)
out([attempt({'metadata': {'name': 'settings'}, 'data': {'mode': 'b'}, 'immutable': True}),
     attempt({'metadata': {'name': 'settings'}, 'data': {'mode': 'a'}, 'immutable': False})])
`,
      clients.kubeconfig,
    );
    expect(answer).toMatchObject([
      {
        status: 422,
        body: {
          reason: 'Invalid',
          message: 'ConfigMap "settings" is invalid: data: Forbidden: field is immutable when `immutable` is set',
        },
      },
      {
        status: 422,
        body: {
          message: 'ConfigMap "settings" is invalid: immutable: Forbidden: field is immutable when `immutable` is set',
        },
      },
    ]);
  });
});
