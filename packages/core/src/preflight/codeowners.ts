/** CODEOWNERS (GitHub's syntax: gitignore-like patterns, the last matching line wins) read from the workspace. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OwnerRule {
  pattern: string;
  test: RegExp;
  owners: string[];
  line: number;
}

export const CODEOWNERS_PLACES = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'];

function toRegExp(pattern: string): RegExp {
  let glob = pattern;
  const anchored = glob.startsWith('/') || glob.replace(/\/$/, '').includes('/');
  glob = glob.replace(/^\//, '');
  const directory = glob.endsWith('/');
  glob = glob.replace(/\/$/, '');
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern names a file or a directory; a directory covers everything under it.
  return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${source}${directory ? '/.*' : '(?:/.*)?'}$`);
}

export function parseCodeowners(text: string): OwnerRule[] {
  const rules: OwnerRule[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const [pattern, ...owners] = line.split(/\s+/);
    rules.push({ pattern: pattern!, test: toRegExp(pattern!), owners, line: index + 1 });
  });
  return rules;
}

export function readCodeowners(workspace: string): { file: string; rules: OwnerRule[] } | undefined {
  for (const place of CODEOWNERS_PLACES) {
    const path = join(workspace, place);
    if (existsSync(path)) return { file: place, rules: parseCodeowners(readFileSync(path, 'utf8')) };
  }
  return undefined;
}

/** The owners of a path: the last rule that matches (an empty owner list means nobody owns it). */
export function ownersOf(rules: readonly OwnerRule[], path: string): string[] {
  for (let i = rules.length - 1; i >= 0; i--) if (rules[i]!.test.test(path)) return rules[i]!.owners;
  return [];
}
