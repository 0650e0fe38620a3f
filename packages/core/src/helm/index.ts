/**
 * The Helm CLI, as rollback and canary-promote's `strategy: helm` drive it:
 * argument arrays (never a shell), `-o json` parsed, and helm's errors turned
 * into messages a user can act on. The cluster is passed with `--kubeconfig`
 * and `--kube-context`, so helm talks to the same cluster as the rest of the run.
 */
import { UserError } from '../errors';
import { type ExecFunction, execCommand } from '../exec';

export interface HelmCliOptions {
  /** The helm binary (default `helm` on PATH). */
  bin?: string | undefined;
  exec?: ExecFunction | undefined;
  /** A kubeconfig file for helm (`--kubeconfig`). */
  kubeconfigPath?: string | undefined;
  /** `--kube-context` */
  context?: string | undefined;
}

/** One line of `helm history -o json`. */
export interface HelmRevision {
  revision: number;
  updated: string;
  /** deployed, superseded, failed, pending-upgrade, ... */
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

const INSTALL_HINT = 'add a setup step: uses: azure/setup-helm@v4';

export class HelmCli {
  /** Every command run, as argument arrays (for the summary and tests). */
  readonly commands: string[][] = [];
  private readonly bin: string;
  private readonly exec: ExecFunction;

  constructor(private readonly options: HelmCliOptions = {}) {
    this.bin = options.bin ?? 'helm';
    this.exec = options.exec ?? execCommand;
  }

  /** Runs helm and returns stdout; a non-zero exit throws a UserError with helm's own message. */
  async run(args: string[], timeoutMs?: number): Promise<string> {
    const full = [...args];
    if (this.options.kubeconfigPath) full.push('--kubeconfig', this.options.kubeconfigPath);
    if (this.options.context) full.push('--kube-context', this.options.context);
    this.commands.push([this.bin, ...full]);
    let result: Awaited<ReturnType<ExecFunction>>;
    try {
      // JSON answers are parsed, not read: they stay out of the log.
      const silent = full.includes('--output') || full.includes('-o');
      result = await this.exec(this.bin, full, timeoutMs === undefined ? { silent } : { timeoutMs, silent });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') {
        throw new UserError(`helm was not found (looked for "${this.bin}" on the PATH)`, { hint: INSTALL_HINT });
      }
      throw error;
    }
    if (result.exitCode !== 0) {
      const message = (result.stderr.trim() || result.stdout.trim()).replace(/^Error:\s*/, '');
      throw new HelmError(args[0] ?? '', result.exitCode, message);
    }
    return result.stdout;
  }

  /** The release's revisions, oldest first. A release helm does not know is a UserError naming it. */
  async history(release: string, namespace: string): Promise<HelmRevision[]> {
    try {
      const text = await this.run(['history', release, '--namespace', namespace, '--max', '256', '--output', 'json']);
      const revisions = JSON.parse(text) as HelmRevision[];
      return revisions.sort((a, b) => a.revision - b.revision);
    } catch (error) {
      if (error instanceof HelmError && /not found/i.test(error.helmMessage)) {
        throw new UserError(`Helm does not know release "${release}" in namespace "${namespace}"`, {
          hint: `helm list --namespace ${namespace} shows the releases there`,
        });
      }
      throw error;
    }
  }

  /** `helm rollback <release> <revision> --wait --timeout <s>s`. */
  async rollback(release: string, revision: number, namespace: string, timeoutMs: number): Promise<void> {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    await this.run(
      ['rollback', release, String(revision), '--namespace', namespace, '--wait', '--timeout', `${seconds}s`],
      timeoutMs + 30_000,
    );
  }
}

export class HelmError extends UserError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly helmMessage: string,
  ) {
    super(`helm ${command} failed (exit ${exitCode}): ${helmMessage}`);
  }
}

/**
 * The revision to go back to: `toRevision` when given (it must exist), else
 * the newest revision before the current one that was ever live (superseded or
 * deployed; failed and pending ones are skipped, as they never served).
 */
export function helmRollbackTarget(
  release: string,
  history: readonly HelmRevision[],
  toRevision?: number,
): { current: HelmRevision; target: HelmRevision } {
  const known = history.map((entry) => entry.revision).join(', ') || 'none';
  const current = [...history].reverse().find((entry) => entry.status === 'deployed') ?? history.at(-1);
  if (current === undefined) throw new UserError(`Helm release "${release}" has no revisions`);
  if (toRevision !== undefined) {
    const target = history.find((entry) => entry.revision === toRevision);
    if (target === undefined) {
      throw new UserError(`Revision ${toRevision} of Helm release "${release}" does not exist; revisions: ${known}`);
    }
    return { current, target };
  }
  const target = [...history]
    .reverse()
    .find(
      (entry) => entry.revision < current.revision && (entry.status === 'superseded' || entry.status === 'deployed'),
    );
  if (target === undefined) {
    throw new UserError(`Helm release "${release}" has no earlier good revision to roll back to (revisions: ${known})`);
  }
  return { current, target };
}
