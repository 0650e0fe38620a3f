/** What every gate is: a name, a parser that refuses bad configuration before anything runs, and a check. */
import type { Clock, Logger } from '../runtime/port';

export type GateStatus = 'pass' | 'fail' | 'warn';

/** One line of the checklist. */
export interface GateOutcome {
  status: GateStatus;
  /** What was measured, e.g. `83.4%`, `2 approvals`, `closed`. */
  value: string;
  /** What it had to be, e.g. `>= 80%`. */
  limit: string;
  /** One sentence a person reads in the summary and the log. */
  message: string;
  /** Where to look (a PR, a run, a report), if there is one. */
  link?: string | undefined;
  /** Errors that point at a file and line (manifests, reports): annotated on GitHub. */
  annotations?: Array<{ message: string; file: string; line?: number; column?: number }>;
  /** Gate-specific details for the JSON result. */
  details?: unknown;
}

/** Everything a gate may use; the Kubernetes and GitHub clients are made on first use and shared. */
export interface GateContext {
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  mask(secret: string): void;
  workspace: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The namespace of the run (input, else the kubeconfig context's, else default). */
  namespace(): Promise<string>;
  kube(): Promise<import('../kube/client').KubeClient>;
  /** True when a kubeconfig was given or found (manifests: dry-run only then). */
  hasCluster: boolean;
  github(): import('../github/api').GitHubApi;
}

/** Where a gate's configuration came from, for error messages: `.github/deploy-policy.yml: environments.production.gates.window`. */
export interface ConfigSource {
  /** `input window` or `deploy-policy.yml` */
  origin: string;
  /** `gates.window` (the key path inside the file), empty for inputs. */
  path: string;
  workspace: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Epoch ms when preflight started (allow-lists that expire, freeze dates). */
  now: number;
  /** Keys that came from inputs: config key → input name (errors name the input). */
  inputs?: Record<string, string>;
  /** `file:line:column` of a key path inside the policy file, when it came from one. */
  locate?: (path: string) => string | undefined;
}

export interface GateDefinition<C> {
  name: string;
  /** What the gate checks, for the checklist and the README. */
  title: string;
  /** Check the raw configuration (from the policy file or inputs) and read what must be read (report files). */
  prepare(raw: Record<string, unknown>, source: ConfigSource): C;
  run(config: C, ctx: GateContext): Promise<GateOutcome>;
  /** Default per-gate timeout (ms); a gate that waits (checks) may need more. */
  defaultTimeoutMs?: (config: C) => number;
}

/** A gate ready to run: its definition, parsed configuration and settings. */
export interface PlannedGate {
  name: string;
  title: string;
  required: boolean;
  timeoutMs: number;
  origin: string;
  run(ctx: GateContext): Promise<GateOutcome>;
}

/** The checklist line of a gate that ran. */
export interface GateReport extends GateOutcome {
  name: string;
  title: string;
  required: boolean;
  /** The status before emergency mode turned a failure into a warning. */
  original: GateStatus;
  /** ms after the first gate started (the summary's timeline). */
  startMs: number;
  durationMs: number;
}
