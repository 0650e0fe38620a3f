/** `uses: org/deploy-actions/canary@v1`: canary/action.yml is canary-promote with its bundle one folder up. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { manifest, root } from './support/repo';

describe('canary/action.yml', () => {
  const file = join(root, 'canary', 'action.yml');
  const canary = parse(readFileSync(file, 'utf8'));
  const promote = manifest('canary-promote');

  it('has the inputs and outputs of actions/canary-promote/action.yml', () => {
    expect(canary.inputs).toEqual(promote.inputs);
    expect(canary.outputs).toEqual(promote.outputs);
    expect(canary.name).toBe(promote.name);
  });

  it("runs canary-promote's bundle in dist/ for main and post, as GitHub resolves them from the file", () => {
    const bundle = resolve(root, 'dist', 'canary-promote', 'index.js');
    expect(resolve(dirname(file), canary.runs.main)).toBe(bundle);
    expect(resolve(dirname(file), canary.runs.post)).toBe(bundle);
    expect(canary.runs).toMatchObject({ using: 'node24', 'post-if': 'always()' });
  });
});
