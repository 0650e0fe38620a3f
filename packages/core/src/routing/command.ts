/**
 * The `command` router: the user's own argument arrays (a cloud load
 * balancer, a feature flag...) with {{weight}}, {{canary}}, {{stable}} and
 * {{namespace}} replaced inside each argument. Never a shell.
 */
import { UserError } from '../errors';
import { checkWeight } from './common';
import type { CommandRouterConfig, ExecFunction, RouterDeps, RouterState, TrafficRouter, TrafficTarget } from './types';

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

  async promote(): Promise<void> {
    if (this.config.promote) await this.run('promote', this.config.promote, 100);
    else await this.run('set-weight', this.config.setWeight, 0);
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
