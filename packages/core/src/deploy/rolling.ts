import type { Runtime } from '../runtime/port';
import type { DeployOutcome, RollingOptions } from './types';

/**
 * strategy: rolling. Validates everything (manifests parse, kinds exist,
 * every `${VAR}` has a value, every image names a container, namespaces
 * agree) before the first write; then applies, waits for every changed
 * workload within one timeout, monitors, and undoes on failure.
 */
export async function runRolling(_rt: Runtime, _options: RollingOptions): Promise<DeployOutcome> {
  throw new Error('strategy rolling: not built yet');
}
