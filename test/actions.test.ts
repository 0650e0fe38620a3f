/**
 * Each action's input schema (code) and its action.yml (what GitHub and the docs show)
 * must name the same inputs with the same defaults, and the READMEs must match action.yml.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionNames, manifest, root, rootManifest } from './support/repo';

const schemaOf = async (action: string) =>
  (await import(`../actions/${action}/src/main.ts`)) as {
    inputs: { names: readonly string[]; readers: Record<string, { options: { default?: string } }> };
    default: { name: string };
  };

describe.each(actionNames)('actions/%s', (action) => {
  it('declares in code exactly the inputs of its action.yml', async () => {
    const { inputs, default: definition } = await schemaOf(action);
    expect(definition.name).toBe(action);
    expect([...inputs.names].sort()).toEqual(Object.keys(manifest(action).inputs).sort());
  });

  it('applies the same defaults as its action.yml', async () => {
    const { inputs } = await schemaOf(action);
    for (const [name, spec] of Object.entries(manifest(action).inputs)) {
      const yamlDefault = spec.default === undefined ? undefined : String(spec.default).trim();
      const codeDefault = inputs.readers[name]?.options.default?.trim();
      // `${{ github.token }}` is evaluated by the runner, not by the action.
      if (yamlDefault?.startsWith('${{')) continue;
      expect({ name, default: codeDefault }).toEqual({ name, default: yamlDefault });
    }
  });

  it('runs on node24 from the shared dist/ folder, with a result output', () => {
    const m = manifest(action);
    expect(m.runs.using).toBe('node24');
    expect(m.runs.main).toBe(`../../dist/${action}/index.js`);
    expect(Object.keys(m.outputs)).toContain('result');
  });
});

describe('docs', () => {
  it('every README table and the umbrella action.yml match the action.yml files', () => {
    const output = execFileSync(process.execPath, [join(root, 'scripts/docs.mjs'), '--check'], { encoding: 'utf8' });
    expect(output).toContain('docs are in step');
  });

  it('the umbrella takes command plus every input of every action', () => {
    const umbrella = rootManifest();
    expect(umbrella.inputs.command?.required).toBe(true);
    for (const action of actionNames) {
      for (const input of Object.keys(manifest(action).inputs)) expect(Object.keys(umbrella.inputs)).toContain(input);
    }
    expect(umbrella.runs).toMatchObject({ using: 'node24', main: 'dist/main/index.js' });
  });
});
