/**
 * GitHub cannot run here, so every workflow and action.yml in the repository is parsed with
 * GitHub's own workflow parser (@actions/workflow-parser) and must have no errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

const workflows = [...yamlFiles(join(root, '.github/workflows')), ...yamlFiles(join(root, 'workflows-examples'))];
const actions = [
  join(root, 'action.yml'),
  ...readdirSync(join(root, 'actions')).map((name) => join(root, 'actions', name, 'action.yml')),
];

function errorsOf(result: { context: { errors: { getErrors(): { message: string }[] } } }): string[] {
  return result.context.errors.getErrors().map((error) => error.message);
}

describe('GitHub workflow parser', () => {
  it('finds the repository workflows', () => {
    const names = workflows.map((file) => relative(root, file));
    expect(names).toContain('.github/workflows/ci.yml');
    expect(names).toContain('.github/workflows/e2e.yml');
  });

  it.each(workflows.map((file) => [relative(root, file), file]))('%s parses without errors', (_name, file) => {
    const result = parseWorkflow({ name: file, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
    expect(errorsOf(result)).toEqual([]);
    expect(result.value).toBeDefined();
  });

  it.each(actions.map((file) => [relative(root, file), file]))('%s parses as an action', (_name, file) => {
    const result = parseAction({ name: file, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
    expect(errorsOf(result)).toEqual([]);
  });

  it('reports a broken workflow (the check can fail)', () => {
    const result = parseWorkflow(
      {
        name: 'broken.yml',
        content: 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: x\n        run: y\n',
      },
      new NoOperationTraceWriter(),
    );
    expect(errorsOf(result).length).toBeGreaterThan(0);
  });
});

describe('action parser', () => {
  it('reports a broken action.yml (the check can fail)', () => {
    const result = parseAction(
      { name: 'action.yml', content: 'name: x\ndescription: y\nruns:\n  using: node24\n  mian: index.js\n' },
      new NoOperationTraceWriter(),
    );
    expect(errorsOf(result).length).toBeGreaterThan(0);
  });
});
