/**
 * Find and run a real kubectl for tests. Lookup order: $KUBECTL, `kubectl` on PATH, then known places:
 * a Debian kubernetes-client extracted under <repo>/.tmp/kubectl, and the Google Cloud SDK's versioned
 * binaries. Tests that need kubectl skip (with the reason) when findKubectl() returns undefined.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { executable, onPath, repoRoot } from './executables';

function gcloudKubectls(): string[] {
  const dir = '/usr/lib/google-cloud-sdk/bin';
  try {
    return (
      readdirSync(dir)
        .filter((f) => /^kubectl\.1\.\d+$/.test(f))
        .map((f) => ({ path: join(dir, f), minor: Number(f.split('.')[2]) }))
        // Newest first (kube-sim decodes the protobuf bodies 1.32+ send from `create <kind>`).
        .sort((a, b) => b.minor - a.minor)
        .map((k) => k.path)
    );
  } catch {
    return [];
  }
}

let cached: string | null | undefined;

export function findKubectl(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const candidates: string[] = [];
  if (process.env.KUBECTL) candidates.push(process.env.KUBECTL);
  candidates.push(...onPath('kubectl'));
  candidates.push(join(repoRoot, '.tmp/kubectl/usr/bin/kubectl'), ...gcloudKubectls(), '/usr/local/bin/kubectl');
  cached = candidates.find(executable) ?? null;
  return cached ?? undefined;
}

/** Why kubectl tests are skipped, for `describe.skipIf(...)` titles. */
export const kubectlMissing =
  'kubectl not found (set KUBECTL, put it on PATH, or extract Debian kubernetes-client into .tmp/kubectl)';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  kubeconfig: string;
  /** Text for stdin (e.g. a manifest with `-f -`). */
  input?: string;
  /** Kill kubectl after this long (default 30 s). */
  timeoutMs?: number;
}

/** Run kubectl with an argument array (never a shell). Resolves with the exit code; does not throw on failure. */
export function kubectl(args: string[], options: KubectlOptions): Promise<KubectlResult> {
  const bin = findKubectl();
  if (!bin) return Promise.reject(new Error(kubectlMissing));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, KUBECONFIG: options.kubeconfig, HOME: process.env.HOME ?? '/tmp' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Run kubectl and return stdout; throws with stderr when it exits non-zero. */
export async function kubectlOk(args: string[], options: KubectlOptions): Promise<string> {
  const r = await kubectl(args, options);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
