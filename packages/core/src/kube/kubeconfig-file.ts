/**
 * A kubeconfig on disk for programs that read a file (helm): written private (0600) in a folder of its own and
 * removed when the work is done, since it may hold tokens and client keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

/** Runs `fn` with the path of `config` written to a temp file under `parent` (default the OS temp folder). */
export async function withKubeconfigFile<T>(
  config: Pick<KubeConfig, 'exportConfig'>,
  fn: (path: string) => Promise<T>,
  parent: string = tmpdir(),
): Promise<T> {
  const folder = mkdtempSync(join(parent, 'deploy-actions-helm-'));
  try {
    const path = join(folder, 'kubeconfig');
    writeFileSync(path, config.exportConfig(), { mode: 0o600 });
    return await fn(path);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
