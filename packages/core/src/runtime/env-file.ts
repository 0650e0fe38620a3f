/**
 * Environment variables for later steps, appended to the runner's GITHUB_ENV file the way @actions/core
 * does it: `name<<delimiter` blocks, so a value may span lines. Used by the adapters not on @actions/core.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

/** A name later steps can read as a variable (and that cannot break the file's `name<<delimiter` line). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkEnvName(name: string): void {
  if (!ENV_NAME.test(name))
    throw new Error(`exportVariable: "${name}" is not a variable name (letters, digits and _, e.g. IMAGE_TAG)`);
}

/** One `name<<delimiter` block; the delimiter is random and never occurs in the value. */
export function envFileBlock(name: string, value: string): string {
  let delimiter = `ghadelimiter_${randomUUID()}`;
  while (value.includes(delimiter)) delimiter = `ghadelimiter_${randomUUID()}`;
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
}

export function appendEnvFile(path: string, name: string, value: string): void {
  appendFileSync(path, envFileBlock(name, value));
}
