/** The terminal a CLI command talks to: both `deploy-actions <action>` (cli.ts) and `run-workflow` (workflow/cli.ts). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted (with the reason) when the user interrupts the run; default: the process's SIGINT and SIGTERM. */
  interrupt?: AbortSignal;
}

/** The process's own stdout, stderr and environment. */
export const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};
