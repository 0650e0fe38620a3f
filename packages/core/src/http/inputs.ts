/**
 * Input readers for a check spec and a load spec (inline YAML or a path in
 * the workspace), for every action that takes one: smoke `spec`/`load`,
 * canary-promote `preview-checks`, rollback `verify`. They parse fully, so a
 * bad spec is an input error naming line and column before anything runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolveInWorkspace } from '../inputs/files';
import { type CommonOptions, makeReader } from '../inputs/reader';
import { type LoadSpec, parseLoadSpec } from './load-gate';
import { CheckSpecError, parseCheckSpec } from './parse';
import type { CheckSpec } from './spec';

/** One line naming a .yml/.yaml/.json file (inline YAML has `key: value` or starts with `[`, `{`, `-`). */
function looksLikePath(raw: string): boolean {
  const text = raw.trim();
  return !text.includes('\n') && !/^[[{"'-]/.test(text) && (/\.(ya?ml|json)$/i.test(text) || !/:\s/.test(text));
}

/** The spec text and where it came from (`inline` or the file path). */
export function readSpecText(
  raw: string,
  workspace: string,
  fail: (problem: string) => never,
): { text: string; source: string } {
  if (!looksLikePath(raw)) return { text: raw, source: 'inline' };
  const path = raw.trim();
  const resolved = resolveInWorkspace(path, workspace);
  if ('problem' in resolved) return fail(`names a file that ${resolved.problem}`);
  if (!existsSync(resolved.path)) return fail('names a file that does not exist in the workspace');
  return { text: readFileSync(resolved.path, 'utf8'), source: path };
}

export interface CheckSpecInputOptions extends CommonOptions {
  /** Template variables the action provides (e.g. `version`). */
  variables?: readonly string[];
}

export function checkSpecInput<const O extends CheckSpecInputOptions>(options?: O) {
  return makeReader<CheckSpec, O>(
    'check spec',
    options,
    '[{ name: health, request: { url: https://example.com/healthz }, expect: { status: 200 } }]',
    (raw, fail, ctx) => {
      const { text, source } = readSpecText(raw, ctx.workspace, fail);
      try {
        return parseCheckSpec(text, { source, workspace: ctx.workspace, variables: options?.variables ?? [] });
      } catch (error) {
        if (error instanceof CheckSpecError) return fail(error.message, error.hint?.replace(/^Example: /, ''));
        throw error;
      }
    },
  );
}

export function loadSpecInput<const O extends CommonOptions>(options?: O) {
  return makeReader<LoadSpec, O>(
    'load spec',
    options,
    '{ url: https://example.com/, rate: 1000, duration: 30s, thresholds: { p99: 250ms } }',
    (raw, fail, ctx) => {
      const { text, source } = readSpecText(raw, ctx.workspace, fail);
      try {
        return parseLoadSpec(text, { source, workspace: ctx.workspace });
      } catch (error) {
        if (error instanceof CheckSpecError) return fail(error.message, error.hint?.replace(/^Example: /, ''));
        throw error;
      }
    },
  );
}
