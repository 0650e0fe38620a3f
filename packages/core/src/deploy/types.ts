/**
 * What canary-promote's `strategy: rolling` and `strategy: helm` take and
 * give back. The adapter parses the action's inputs into these options; the
 * outcome carries everything the summary, the `result` output and the step's
 * exit status need.
 */
import type { ExecFunction } from '../exec';
import type { KubeClient } from '../kube/client';
import type { RolloutKind } from '../kube/rollout-status';
import type { AnalysisResult } from '../metrics/engine';
import type { MetricProvider } from '../metrics/provider';
import type { MetricSpec, ProviderConfig } from '../metrics/spec';
import type { RunIdentity } from '../state/run-identity';

/** Shared by both strategies. */
export interface DeployCommonOptions {
  /** Connected by the adapter (kubeconfig / context inputs). */
  client: KubeClient;
  /**
   * The `namespace` input when the user gave it. Undefined: manifests keep
   * their own namespace and the rest go to the kubeconfig context's namespace,
   * else `default` (as kubectl picks it). Given: objects without
   * one get it, and a manifest naming another namespace is an error.
   */
  namespace?: string | undefined;
  /** The rollout's key (labels for prune, `{{app}}` in queries). Default: the first workload's name. */
  app?: string | undefined;
  /** `analysis` input, parsed with parseAnalysisSpec. Empty or undefined: no monitoring. */
  analysis?: readonly MetricSpec[] | undefined;
  /** `monitor` input in ms: how long to watch after the rollout (0 / undefined: not at all). */
  monitorMs?: number | undefined;
  /** `timeout` input in ms: one limit for all rollout waits (and helm's --timeout). */
  timeoutMs: number;
  dryRun?: boolean | undefined;
  /**
   * This run's identity (holderIdentity / runUrlOf). Given: the app's Lease is held from the first change to the
   * end (a concurrent canary or deploy of the app is refused) and the record ConfigMap `deploy-actions-<app>`
   * follows the deploy (deploying → monitoring → deployed / rolled-back / failed). Not given: neither.
   */
  holder?: RunIdentity | undefined;
  /** Undo when the rollout fails (not only when monitoring fails). Default true. */
  undoOnFailure?: boolean | undefined;
  /** Tests: metric providers instead of real Prometheus / Datadog / web. */
  providerFor?: ((config: ProviderConfig) => MetricProvider) | undefined;
  /**
   * Called once every input is checked, right before the first change (never in a dry run): the adapter records
   * the release (a GitHub Deployment) with what is about to be deployed. A throw stops the deploy.
   */
  onBeforeChange?: ((plan: ChangePlan) => Promise<void>) | undefined;
}

/** What a deploy is about to change, for records made before it does (GitHub Deployment payloads). */
export interface ChangePlan {
  strategy: 'rolling' | 'helm';
  namespace: string;
  app: string;
  /** Workloads with the images they will run (container → image); for helm, only when `helm template` ran first. */
  workloads: Array<{ kind: string; name: string; images: Record<string, string> }>;
  helm?: {
    release: string;
    chart: string;
    /** `chart-version` input. */
    version: string | undefined;
    /** The revision deployed now (undefined: first install). */
    previousRevision: number | undefined;
    /** The revision this upgrade will create (helm numbers them one past the highest so far). */
    revision: number;
  };
}

export interface RollingOptions extends DeployCommonOptions {
  /** `manifests` input: files, globs or folders relative to the workspace. Empty: set images on existing Deployments. */
  manifests?: readonly string[] | undefined;
  /** `images` input: container name → image. */
  images?: Readonly<Record<string, string>> | undefined;
  /** `values-file` input (absolute or workspace-relative path): `${VAR}` values, flat or per environment. */
  valuesFile?: string | undefined;
  /** `environment` input: picks the section of a per-environment values file. */
  environment?: string | undefined;
  /** `deployments` / `selector` inputs: the Deployments to set images on when no manifests are given. */
  deployments?: readonly string[] | undefined;
  selector?: string | undefined;
  /** Secret names added to every pod template's `imagePullSecrets`. */
  imagePullSecrets?: readonly string[] | undefined;
  /** Delete objects a previous apply of the same app labelled that are no longer in the manifests. */
  prune?: boolean | undefined;
}

export interface HelmOptions extends DeployCommonOptions {
  /** `release` input. */
  release: string;
  /** `chart` input: a path, repo/chart, or oci:// reference. */
  chart: string;
  /** `helm-values` input: values files (`-f`), in order. */
  valuesFiles?: readonly string[] | undefined;
  /** `helm-set` input: `--set key=value` pairs, in order. */
  set?: Readonly<Record<string, string>> | undefined;
  /** Run `helm lint` and `helm template` before the upgrade. */
  lint?: boolean | undefined;
  /** Chart version (`--version`). */
  version?: string | undefined;
  /** The helm binary (default `helm` on PATH). */
  helm?: string | undefined;
  /** Default: execCommand (core/exec). */
  exec?: ExecFunction | undefined;
  /** Extra environment for helm (KUBECONFIG pointing at the connected cluster). */
  env?: Record<string, string> | undefined;
}

export type ChangeOutcome = 'created' | 'configured' | 'unchanged' | 'pruned' | 'planned';

/** One object the deploy applied (or would apply). */
export interface AppliedObject {
  kind: string;
  apiVersion: string;
  namespace: string | undefined;
  name: string;
  outcome: ChangeOutcome;
  /** Where it came from: file and line of its document. */
  source?: string;
}

export interface WorkloadState {
  revision: number | undefined;
  images: Record<string, string>;
}

/** A Deployment, StatefulSet or DaemonSet the deploy changed, and what became of its rollout. */
export interface WorkloadReport {
  kind: RolloutKind;
  namespace: string;
  name: string;
  before: WorkloadState | undefined;
  after: WorkloadState | undefined;
  /** rolled-out, failed (progress deadline / timeout), undone (back to `before`), planned (dry run). */
  status: 'rolled-out' | 'failed' | 'undone' | 'undo-failed' | 'planned' | 'unchanged';
  /** kubectl's last rollout status line, or why it failed (with the pod events). */
  message: string;
  elapsedMs?: number;
}

export interface HelmReleaseReport {
  release: string;
  namespace: string;
  chart: string;
  previousRevision: number | undefined;
  revision: number | undefined;
  /** After an automatic rollback: the revision helm created for it. */
  rollbackRevision?: number | undefined;
  chartVersion?: string | undefined;
  appVersion?: string | undefined;
  /** The chart and app version of the revision before (helm history). */
  previousChartVersion?: string | undefined;
  previousAppVersion?: string | undefined;
  status?: string | undefined;
  /** The helm commands run, argument arrays as given to exec. */
  commands: string[][];
}

export interface DeployOutcome {
  strategy: 'rolling' | 'helm';
  /** deployed; rolled-back (a failure undone); failed (could not undo, or undo disabled); planned (dry run). */
  verdict: 'deployed' | 'rolled-back' | 'failed' | 'planned';
  /** Why the step fails (undefined when deployed or planned). The adapter passes it as ActionOutcome.failure. */
  failure?: string | undefined;
  namespace: string;
  app: string;
  objects: AppliedObject[];
  workloads: WorkloadReport[];
  helm?: HelmReleaseReport | undefined;
  analysis?: AnalysisResult | undefined;
  /** Lines that explain a stuck rollout (pod states and Warning events). */
  explanation: string[];
  timeline: Array<{ at: string; event: string }>;
  /** API requests made (KubeClient.requests), for the summary and benchmarks. */
  requests: number;
  /** The options that shaped this deploy, as the user wrote them (input name → value), for the summary. */
  settings?: Record<string, string> | undefined;
}
