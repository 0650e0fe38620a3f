/** Facts about the repository the suite-level tests share: where things are, what action.yml says. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const root = join(import.meta.dirname, '..', '..');

export interface Manifest {
  name: string;
  description: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string; post?: string };
}

export const actionNames: string[] = readdirSync(join(root, 'actions')).sort();

export function manifest(action: string): Manifest {
  return parse(readFileSync(join(root, 'actions', action, 'action.yml'), 'utf8')) as Manifest;
}

export function rootManifest(): Manifest {
  return parse(readFileSync(join(root, 'action.yml'), 'utf8')) as Manifest;
}
