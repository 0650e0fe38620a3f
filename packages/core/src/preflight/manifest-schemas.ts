/**
 * The Kubernetes OpenAPI schemas the manifests gate checks offline, as kubernetes-models compiled them: the
 * kinds a deployment's manifests hold. Each is imported on first use (a bundle keeps them in chunks of their
 * own, not the package's 1,800 schemas); other kinds (custom resources) are left to the server's dry-run.
 */
import { holdVirtualTime } from '../clock/quiescence';

export interface SchemaError {
  instancePath: string;
  keyword: string;
  params?: Record<string, unknown>;
}
export type Validate = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };
type Module = Promise<{ validate: Validate }>;

const SCHEMAS: Record<string, () => Module> = {
  'apps/v1/Deployment': () => import('kubernetes-models/_schemas/IoK8sApiAppsV1Deployment') as unknown as Module,
  'apps/v1/StatefulSet': () => import('kubernetes-models/_schemas/IoK8sApiAppsV1StatefulSet') as unknown as Module,
  'apps/v1/DaemonSet': () => import('kubernetes-models/_schemas/IoK8sApiAppsV1DaemonSet') as unknown as Module,
  'apps/v1/ReplicaSet': () => import('kubernetes-models/_schemas/IoK8sApiAppsV1ReplicaSet') as unknown as Module,
  'batch/v1/Job': () => import('kubernetes-models/_schemas/IoK8sApiBatchV1Job') as unknown as Module,
  'batch/v1/CronJob': () => import('kubernetes-models/_schemas/IoK8sApiBatchV1CronJob') as unknown as Module,
  'v1/Pod': () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Pod') as unknown as Module,
  'v1/Service': () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Service') as unknown as Module,
  'v1/ConfigMap': () => import('kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap') as unknown as Module,
  'v1/Secret': () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Secret') as unknown as Module,
  'v1/ServiceAccount': () => import('kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount') as unknown as Module,
  'v1/PersistentVolumeClaim': () =>
    import('kubernetes-models/_schemas/IoK8sApiCoreV1PersistentVolumeClaim') as unknown as Module,
  'v1/Namespace': () => import('kubernetes-models/_schemas/IoK8sApiCoreV1Namespace') as unknown as Module,
  'networking.k8s.io/v1/Ingress': () =>
    import('kubernetes-models/_schemas/IoK8sApiNetworkingV1Ingress') as unknown as Module,
  'networking.k8s.io/v1/NetworkPolicy': () =>
    import('kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy') as unknown as Module,
  'autoscaling/v2/HorizontalPodAutoscaler': () =>
    import('kubernetes-models/_schemas/IoK8sApiAutoscalingV2HorizontalPodAutoscaler') as unknown as Module,
  'policy/v1/PodDisruptionBudget': () =>
    import('kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget') as unknown as Module,
  'rbac.authorization.k8s.io/v1/Role': () =>
    import('kubernetes-models/_schemas/IoK8sApiRbacV1Role') as unknown as Module,
  'rbac.authorization.k8s.io/v1/RoleBinding': () =>
    import('kubernetes-models/_schemas/IoK8sApiRbacV1RoleBinding') as unknown as Module,
  'rbac.authorization.k8s.io/v1/ClusterRole': () =>
    import('kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRole') as unknown as Module,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': () =>
    import('kubernetes-models/_schemas/IoK8sApiRbacV1ClusterRoleBinding') as unknown as Module,
  'coordination.k8s.io/v1/Lease': () =>
    import('kubernetes-models/_schemas/IoK8sApiCoordinationV1Lease') as unknown as Module,
};

/** The kinds with a built-in schema, as `apiVersion/kind`. */
export const OFFLINE_KINDS: readonly string[] = Object.keys(SCHEMAS);

/** The validator of `apiVersion` `kind`, or undefined when there is no built-in schema for it. */
export async function validatorFor(apiVersion: string, kind: string): Promise<Validate | undefined> {
  const load = SCHEMAS[`${apiVersion}/${kind}`];
  if (load === undefined) return undefined;
  quietPunycodeDeprecation();
  return (await holdVirtualTime(load())).validate;
}

let quieted = false;

/**
 * The schemas' formats (@kubernetes-models/validate → ajv-formats-draft2019's idn-hostname) `require('punycode')`,
 * Node's deprecated built-in, and Node then prints DEP0040 into the step's log: a warning about a dependency that
 * says nothing to the user. That one warning code is dropped; every other warning goes through unchanged.
 */
export function quietPunycodeDeprecation(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const [typeOrOptions, code] = rest;
    const warningCode =
      typeOrOptions !== null && typeof typeOrOptions === 'object'
        ? (typeOrOptions as { code?: unknown }).code
        : (code ?? (warning as { code?: unknown }).code);
    if (warningCode === 'DEP0040') return;
    return (emit as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}
