/**
 * GitHub runner entry: what `runs.main` / `runs.post` of every action.yml execute.
 * The runner passes inputs as INPUT_* variables; the post phase is recognised by the
 * `isPost` state saved by the main phase (the same convention @actions/core documents):
 * the runner hands the post step the STATE_* values its main step saved, and nothing else
 * tells the two phases apart, as both start the same file. So the main phase saves it first
 * thing, for every action: the umbrella action.yml declares `post:` (with `post-if: always()`)
 * for all commands, and without the state its post step would run a command like smoke a
 * second time.
 */
import type { Runtime } from '@deploy-actions/core/runtime';
import { actionLoaders, actionNames, isActionName } from './registry';

const POST_STATE = 'isPost';

/**
 * Run one action on the GitHub runner; `name` undefined means the umbrella action (input `command`).
 * The local workflow runner passes its own GitHub runtime (its env, files and clock).
 */
export async function runAction(name?: string, given?: Runtime): Promise<number> {
  const { createGitHubRuntime, executeAction } = await import('@deploy-actions/core/runtime');
  const runtime = given ?? createGitHubRuntime();
  const isPost = runtime.state.get(POST_STATE) === 'true';
  if (!isPost) runtime.state.save(POST_STATE, 'true');
  const command = name ?? runtime.inputs.get('command');
  if (command === undefined || !isActionName(command)) {
    if (isPost) return 0; // the main step already reported the bad command
    runtime.log.error(
      `Input 'command': ${command === undefined ? 'is required' : `unknown command ${JSON.stringify(command)}`}. ` +
        `Valid: ${actionNames.join(', ')}. Example: command: canary-promote`,
    );
    return 1;
  }
  const definition = (await actionLoaders[command]!()).default;
  // The umbrella's post step for a command that has none (smoke, rollback, ...) does nothing.
  if (isPost) return definition.post ? executeAction(definition, runtime, 'post') : 0;
  return executeAction(definition, runtime, 'main');
}
