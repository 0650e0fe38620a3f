/**
 * Reads action.yml files: the CLI's flags, defaults and --help come from them, so the
 * CLI and the GitHub action cannot drift apart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ManifestInput {
  description: string;
  required?: boolean;
  default?: string;
}

export interface ActionManifest {
  name: string;
  description: string;
  inputs: Record<string, ManifestInput>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string; post?: string };
}

/** The repository root: the nearest folder up from here that holds action.yml and actions/. */
export function repoRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'action.yml')) && existsSync(join(dir, 'actions'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`deploy-actions: no action.yml with an actions/ folder above ${from}`);
    dir = parent;
  }
}

export function manifestPath(action: string, root = repoRoot()): string {
  return join(root, 'actions', action, 'action.yml');
}

export async function readManifest(file: string): Promise<ActionManifest> {
  const { parse } = await import('yaml');
  const parsed = parse(readFileSync(file, 'utf8')) as ActionManifest;
  parsed.inputs ??= {};
  parsed.outputs ??= {};
  return parsed;
}
