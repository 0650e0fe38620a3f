/** Shared set-up of preflight's tests: a workspace with the report fixtures, runs on a virtual clock. */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { systemClock, VirtualClock } from '@deploy-actions/core/clock';
import { runAction } from '@deploy-actions/testkit/cluster';
import preflight from '../src/main';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

/** A fresh workspace holding the fixtures under `reports/`. */
export function workspace(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-'));
  cpSync(FIXTURES, join(dir, 'reports'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * Run preflight at `at` (ISO time) on a virtual clock that advances while the process is idle, or on the
 * system clock (`realTime`: gates that ask real services about "now", over pooled connections that
 * auto-advance cannot see in flight).
 */
export async function run(
  inputs: Record<string, string>,
  options: { at?: string; workspace?: string; env?: Record<string, string>; realTime?: boolean } = {},
) {
  const clock = options.realTime ? systemClock : new VirtualClock(Date.parse(options.at ?? '2026-12-07T12:00:00Z'));
  const auto = clock instanceof VirtualClock ? clock.startAutoAdvance() : { stop() {} };
  try {
    const result = await runAction(preflight, inputs, {
      context: { clock, workspace: options.workspace ?? workspace(), env: options.env ?? {} },
    });
    return { ...result, document: JSON.parse(result.outputs['result'] ?? '{}') as PreflightResult };
  } finally {
    auto.stop();
  }
}

export interface PreflightResult {
  verdict: string;
  gates: Array<{
    name: string;
    status: string;
    original: string;
    value: string;
    limit: string;
    message: string;
    details: any;
  }>;
  emergency: { reason: string; approvedBy: string; overridden: string[] } | null;
}

export function gate(result: { document: PreflightResult }, name: string) {
  const found = result.document.gates.find((g) => g.name === name);
  if (found === undefined) throw new Error(`gate ${name} did not run: ${JSON.stringify(result.document)}`);
  return found;
}
