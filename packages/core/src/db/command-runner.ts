/**
 * The project's own migration tool as the runner (`npm run migrate:up`, `alembic upgrade head`, `flyway
 * migrate`, `prisma migrate deploy`): argument arrays, no shell, output in the step log; a separate status
 * command whose output goes into the job summary.
 */
import { UserError } from '../errors';
import { commandSecrets, runProgram } from './restore';

export interface MigrationCommands {
  migrate?: string[] | undefined;
  status?: string[] | undefined;
  undo?: string[] | undefined;
}

export interface CommandContext {
  env: Readonly<Record<string, string | undefined>>;
  databaseUrl?: string | undefined;
  signal?: AbortSignal | undefined;
  mask: (secret: string) => void;
  log: (line: string) => void;
}

function environment(context: CommandContext) {
  return context.databaseUrl ? { ...context.env, DATABASE_URL: context.databaseUrl } : context.env;
}

/** Runs one of the commands; the status command's output is returned for the summary. */
export async function runMigrationCommand(
  which: keyof MigrationCommands,
  commands: MigrationCommands,
  context: CommandContext,
): Promise<{ ran: string; output: string }> {
  const command = commands[which];
  if (!command)
    throw new UserError(
      `No ${which} command given (input ${which === 'migrate' ? 'migration-command' : `${which}-command`})`,
    );
  const env = environment(context);
  for (const secret of commandSecrets(command, env)) context.mask(secret);
  const result = await runProgram(command[0]!, command.slice(1), env, context);
  return { ran: command.join(' '), output: `${result.stdout}${result.stderr}`.trim() };
}
