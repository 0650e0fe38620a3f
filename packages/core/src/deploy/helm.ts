import type { Runtime } from '../runtime/port';
import type { DeployOutcome, HelmOptions } from './types';

/** strategy: helm. `helm upgrade --install ... --wait`, then monitoring; on failure `helm rollback <release> <previous> --wait`. */
export async function runHelm(_rt: Runtime, _options: HelmOptions): Promise<DeployOutcome> {
  throw new Error('strategy helm: not built yet');
}
