/** Who asked for a rollback, as the summary, the record and the GitHub Deployment status name them. */
import { userInfo } from 'node:os';

/** The OS account running this process, or undefined when it has none (a uid without a passwd entry throws). */
export function osUserName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The person who started this run (GITHUB_TRIGGERING_ACTOR, set on a re-run) and, when the run was first
 * started by someone else, them too (GITHUB_ACTOR). Off GitHub (the CLI, the demo) the local user: USER or
 * LOGNAME, else the OS account (containers often set neither), else just "local run".
 */
export function triggeredBy(
  env: Readonly<Record<string, string | undefined>>,
  localUser: () => string | undefined = osUserName,
): string | undefined {
  const actor = env['GITHUB_ACTOR'] || undefined;
  const triggering = env['GITHUB_TRIGGERING_ACTOR'] || undefined;
  if (triggering && actor && triggering !== actor) return `${triggering} (re-running a run ${actor} started)`;
  if (triggering ?? actor) return triggering ?? actor;
  if (env['GITHUB_ACTIONS']) return undefined;
  const local = env['USER'] || env['LOGNAME'] || localUser();
  return local ? `${local} (local run)` : 'local run';
}
