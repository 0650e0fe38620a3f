/** What every rollback test asserts on: the step's run (testkit's runAction) with its JSON outputs parsed. */
import type { RunResult } from '@deploy-actions/testkit/cluster';

export function parsed(run: RunResult) {
  return {
    ...run,
    result: JSON.parse(run.outputs['result'] ?? '{}'),
    restored: JSON.parse(run.outputs['restored'] ?? '{}'),
    /** The error lines as one string, for toContain. */
    errors: run.errors.join('\n'),
  };
}
