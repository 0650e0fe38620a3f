/**
 * The `command` router: the user's own argument arrays (a cloud load
 * balancer, a feature flag...) with {{weight}}, {{canary}}, {{stable}} and
 * {{namespace}} replaced inside each argument. Never a shell.
 */
import { UserError } from '../errors';
import type { ExecFunction } from '../exec';
import { checkWeight } from './common';
import type { CommandRouterConfig, RouterDeps, RouterState, TrafficRouter, TrafficTarget } from './types';

export class CommandRouter implements TrafficRouter {
  readonly name = 'command' as const;

  constructor(
    private readonly config: CommandRouterConfig,
    private readonly target: TrafficTarget,
    // No client: the command router also runs where there is no cluster at all.
    private readonly deps: Pick<RouterDeps, 'log'> & { exec: ExecFunction },
  ) {}

  async validate(): Promise<void> {
    if (this.config.validate) await this.run('validate', this.config.validate, 0);
  }

  async setWeight(weight: number): Promise<RouterState> {
    checkWeight(weight);
    const out = await this.run('set-weight', this.config.setWeight, weight);
    const last = out.trim().split('\n').pop() ?? '';
    return {
      weight,
      actualWeight: weight,
      detail: `set-weight command ran with weight ${weight}${last ? `: ${last.slice(0, 200)}` : ''}`,
    };
  }

  /** With a cluster: the stable Deployment already runs the new version, so without a promote command all traffic goes back to it (set-weight 0). */
  async promote(): Promise<void> {
    if (this.config.promote) await this.run('promote', this.config.promote, 100);
    else await this.run('set-weight', this.config.setWeight, 0);
  }

  /**
   * Without a cluster no stable Deployment took the new version: weight 0 would send every request back to
   * the old one. So the promote command, else set-weight with 100 (all traffic stays on the new version).
   */
  async promoteWithoutCluster(): Promise<RouterState> {
    if (this.config.promote) {
      const out = await this.run('promote', this.config.promote, 100);
      const last = out.trim().split('\n').pop() ?? '';
      return {
        weight: 100,
        actualWeight: 100,
        detail: `promote command ran${last ? `: ${last.slice(0, 200)}` : ''}`,
      };
    }
    this.deps.log?.info(
      'router-config has no promote command: set-weight runs with 100, so all traffic stays on the new version (there is no cluster whose stable Deployment takes it)',
    );
    const state = await this.setWeight(100);
    return { ...state, detail: `no promote command: ${state.detail}` };
  }

  /** The promotion of a run without a cluster, for dry-run plans. */
  planPromoteWithoutCluster(): string[] {
    return this.config.promote
      ? [`run ${JSON.stringify(this.argv(this.config.promote, 100))}`]
      : [`run ${JSON.stringify(this.argv(this.config.setWeight, 100))} (no promote command: set-weight 100)`];
  }

  async abort(): Promise<void> {
    if (this.config.abort) await this.run('abort', this.config.abort, 0);
    else await this.run('set-weight', this.config.setWeight, 0);
  }

  async plan(weight: number): Promise<string[]> {
    checkWeight(weight);
    return [`run ${JSON.stringify(this.argv(this.config.setWeight, weight))}`];
  }

  /** The argument array with the placeholders replaced, each argument on its own (no word splitting). */
  argv(template: string[], weight: number): string[] {
    const values: Record<string, string> = {
      weight: String(weight),
      canary: this.target.canary.deployment,
      stable: this.target.stable.deployment,
      namespace: this.target.namespace,
      app: this.target.app,
    };
    return template.map((arg) => arg.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, key: string) => values[key] ?? whole));
  }

  private async run(field: string, template: string[], weight: number): Promise<string> {
    const [file, ...args] = this.argv(template, weight);
    this.deps.log?.info(`router-config ${field}: ${JSON.stringify([file, ...args])}`);
    let result: Awaited<ReturnType<ExecFunction>>;
    try {
      result = await this.deps.exec(file as string, args, { timeoutMs: this.config.timeoutMs });
    } catch (error) {
      throw new UserError(
        `router-config '${field}' command ${JSON.stringify(file)} could not run: ${(error as Error).message}`,
        {
          hint: 'give the program as the first array item, e.g. set-weight: [./scripts/lb.sh, "{{weight}}"]',
          cause: error,
        },
      );
    }
    if (result.exitCode !== 0) {
      const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
      throw new UserError(
        `router-config '${field}' command ${JSON.stringify(file)} exited with ${result.exitCode}${tail ? `: ${tail}` : ''}`,
      );
    }
    return result.stdout;
  }
}
