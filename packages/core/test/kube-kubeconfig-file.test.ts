/** withKubeconfigFile: the kubeconfig helm reads, private while it exists and gone afterwards, even on failure. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withKubeconfigFile } from '../src/kube/kubeconfig-file';

const parent = mkdtempSync(join(tmpdir(), 'kubeconfig-file-test-'));
const config = { exportConfig: () => 'apiVersion: v1\nkind: Config\nusers: [{ name: u, user: { token: s3cret } }]\n' };

afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('withKubeconfigFile', () => {
  it('writes the config 0600 in a folder of its own under the parent, and removes it after', async () => {
    let seen = '';
    const result = await withKubeconfigFile(
      config,
      async (path) => {
        seen = path;
        expect(dirname(dirname(path))).toBe(parent);
        expect(readFileSync(path, 'utf8')).toContain('token: s3cret');
        expect(statSync(path).mode & 0o777).toBe(0o600);
        return 'done';
      },
      parent,
    );
    expect(result).toBe('done');
    expect(existsSync(seen)).toBe(false);
    expect(existsSync(dirname(seen))).toBe(false);
  });

  it('removes the file when the work fails, and passes the error on', async () => {
    let seen = '';
    const failing = withKubeconfigFile(
      config,
      async (path) => {
        seen = path;
        throw new Error('helm exited 1');
      },
      parent,
    );
    await expect(failing).rejects.toThrow('helm exited 1');
    expect(seen).not.toBe('');
    expect(existsSync(dirname(seen))).toBe(false);
  });
});
