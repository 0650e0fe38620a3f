/**
 * The YAML examples in the READMEs are what users copy: every step in them that uses one of our actions
 * must name only inputs its action.yml declares, and every literal value must pass that input's own
 * validation (expressions like `${{ secrets.X }}` are the user's to fill in and are not checked).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInput } from '@deploy-actions/core/inputs';
import { actionLoaders } from '@deploy-actions/dispatch/registry';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { root as repoRoot } from './support/repo';

const readmes = [
  'README.md',
  ...readdirSync(join(repoRoot, 'actions')).map((name) => `actions/${name}/README.md`),
  ...readdirSync(join(repoRoot, 'packages')).map((name) => `packages/${name}/README.md`),
  'workflows-examples/README.md',
].filter((file) => {
  try {
    readFileSync(join(repoRoot, file));
    return true;
  } catch {
    return false;
  }
});

interface Step {
  file: string;
  action: string;
  with: Record<string, unknown>;
}

/** Every `uses:` of our actions in a parsed YAML document, with its `with:`. */
function stepsIn(node: unknown, file: string, out: Step[]): Step[] {
  if (Array.isArray(node)) for (const item of node) stepsIn(item, file, out);
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    const uses = typeof record['uses'] === 'string' ? record['uses'] : '';
    // `org/deploy-actions/canary@v1` is canary-promote under its short path (canary/action.yml).
    const own = /deploy-actions\/canary@/.test(uses)
      ? 'canary-promote'
      : /deploy-actions\/actions\/([a-z-]+)@/.exec(uses)?.[1];
    const umbrella = /deploy-actions@/.test(uses)
      ? (record['with'] as Record<string, unknown>)?.['command']
      : undefined;
    const action = own ?? (typeof umbrella === 'string' ? umbrella : undefined);
    if (action) out.push({ file, action, with: (record['with'] as Record<string, unknown>) ?? {} });
    for (const value of Object.values(record)) stepsIn(value, file, out);
  }
  return out;
}

const steps = readmes.flatMap((file) => {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const blocks = [...text.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((match) => match[1]!);
  return blocks.flatMap((block) => stepsIn(parse(block), file, []));
});

describe('README examples', () => {
  it('there are examples to check in the READMEs', () => {
    expect(steps.length).toBeGreaterThan(10);
  });

  it.each(steps.map((step, index) => [`${step.file} #${index} ${step.action}`, step] as const))(
    '%s uses only declared inputs with valid literal values',
    async (_title, step) => {
      const loader = actionLoaders[step.action];
      expect(loader, `unknown action ${step.action}`).toBeDefined();
      const { inputs } = (await loader!()).default;
      const workspace = mkdtempSync(join(tmpdir(), 'readme-example-'));
      const problems: string[] = [];
      for (const [name, value] of Object.entries(step.with)) {
        if (name === 'command') continue;
        const reader = inputs.readers[name];
        if (!reader) {
          problems.push(`unknown input '${name}'`);
          continue;
        }
        const raw = typeof value === 'string' ? value : JSON.stringify(value);
        if (raw.includes('${{')) continue;
        try {
          readInput(name, reader, raw, { workspace });
        } catch (error) {
          const message = (error as Error).message;
          // Paths name the user's own files, which are not in this repository.
          if (!/not found|does not exist|no such file|ENOENT/i.test(message)) problems.push(message);
        }
      }
      expect(problems).toEqual([]);
    },
  );
});
