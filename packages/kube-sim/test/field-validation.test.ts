import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { findKubectl, kubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { findPythonClient, pythonClientMissing, runPython, simForClients } from './python-client';

const clients = simForClients();

const manifest = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicass: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: web, image: nginx:1.27, imagee: x}]}
`;

const bin = findKubectl();

describe.skipIf(!bin)(`kubectl${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  const attempt = (args: string[], input?: string) =>
    kubectl(args, { kubeconfig: clients.kubeconfig, ...(input ? { input } : {}) });

  it('apply sends fieldValidation=Strict: unknown fields are a 400 naming every one', async () => {
    const out = await attempt(['apply', '-f', '-'], manifest('typo'));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass", unknown field "spec.template.spec.containers[0].imagee"',
    );
    expect(clients.sim.store.find('apps/v1/deployments', 'default', 'typo')).toBeUndefined();
  });

  it('apply --server-side: the field is not declared in the schema', async () => {
    const out = await attempt(['apply', '--server-side', '-f', '-'], manifest('typo'));
    expect(out.stderr).toContain(
      'Error from server (BadRequest): failed to create typed patch object (default/typo; apps/v1, Kind=Deployment): .spec.replicass: field not declared in schema',
    );
  });

  it('--validate=warn: created without the unknown fields, a warning for each', async () => {
    const out = await attempt(['create', '--validate=warn', '-f', '-'], manifest('warned'));
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('Warning: unknown field "spec.replicass"');
    expect(out.stderr).toContain('Warning: unknown field "spec.template.spec.containers[0].imagee"');
    const stored = clients.sim.store.get('apps/v1/deployments', 'default', 'warned');
    expect(stored.spec.replicass).toBeUndefined();
    expect(stored.spec.template.spec.containers[0].imagee).toBeUndefined();
  });

  it('explain reads the schemas', async () => {
    const out = await kubectlOk(['explain', 'deployment.spec'], { kubeconfig: clients.kubeconfig });
    expect(out).toContain('FIELD: spec <DeploymentSpec>');
    expect(out).toMatch(/replicas\s+<integer>/);
    expect(await kubectlOk(['explain', 'pods.spec.containers'], { kubeconfig: clients.kubeconfig })).toContain(
      'FIELD: containers <[]Container>',
    );
  });
});

describe('client-node', () => {
  it('Ignore drops silently, a strategic patch is checked as a partial object, a bad value is 422', async () => {
    const core = clients.kc.makeApiClient(k8s.CoreV1Api);
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      fieldValidation: 'Ignore',
      body: { metadata: { name: 'cfg' }, data: { a: '1' }, extra: true } as k8s.V1ConfigMap,
    });
    expect((created as Record<string, unknown>).extra).toBeUndefined();
    let refused: k8s.ApiException<string> | undefined;
    try {
      await core.patchNamespacedConfigMap(
        { name: 'cfg', namespace: 'default', fieldValidation: 'Strict', body: { metadata: { labelz: { a: 'b' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
    } catch (e) {
      refused = e as k8s.ApiException<string>;
    }
    expect(refused?.code).toBe(400);
    expect(JSON.parse(refused!.body).message).toBe('strict decoding error: unknown field "metadata.labelz"');
    try {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        fieldValidation: 'Loose',
        body: { metadata: { name: 'x' } },
      });
      refused = undefined;
    } catch (e) {
      refused = e as k8s.ApiException<string>;
    }
    expect(refused?.code).toBe(422);
    expect(JSON.parse(refused!.body).message).toBe(
      'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "Ignore", "Strict", "Warn"',
    );
  });
});

const python = findPythonClient();

describe.skipIf(!python)(`the Python client${python ? '' : ` (skipped: ${pythonClientMissing})`}`, () => {
  it('sends no fieldValidation: the default is Warn, and the unknown field is dropped', async () => {
    const stored = await runPython(
      `
v1.create_namespaced_config_map('default', {'metadata': {'name': 'py-cfg'}, 'data': {'a': '1'}, 'dataa': {'b': '2'}})
raw = v1.read_namespaced_config_map('py-cfg', 'default', _preload_content=False)
out(json.loads(raw.data))
`,
      clients.kubeconfig,
    );
    expect(stored).toMatchObject({ data: { a: '1' } });
    expect((stored as Record<string, unknown>).dataa).toBeUndefined();
  });
});
