/** Reading one gate's configuration (policy file section or inputs) with errors that say where the bad value is. */
import { UserError } from '../errors';
import { parseDuration } from '../inputs/scalars';
import type { ConfigSource } from './types';

/** `Input 'window': ...` or `.github/deploy-policy.yml:14:9: gates.window.allow[0]: ...` */
export function configError(source: ConfigSource, key: string, problem: string, example?: string): UserError {
  const input = source.inputs?.[key.split(/[.[]/)[0]!];
  const path = [source.path, key].filter(Boolean).join('.');
  const where = input !== undefined ? `Input '${input}'` : `${locate(source, path)}: ${path}`;
  return new UserError(`${where}: ${problem}`, example === undefined ? undefined : { hint: `e.g. ${example}` });
}

function locate(source: ConfigSource, path: string): string {
  return source.locate?.(path) ?? source.origin;
}

export function optionalString(raw: Record<string, unknown>, key: string, source: ConfigSource): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw configError(source, key, 'must be text');
  return String(value);
}

export function requiredString(
  raw: Record<string, unknown>,
  key: string,
  source: ConfigSource,
  example: string,
): string {
  const value = optionalString(raw, key, source);
  if (value === undefined) throw configError(source, key, 'is required', example);
  return value;
}

export function stringList(raw: Record<string, unknown>, key: string, source: ConfigSource): string[] {
  const value = raw[key];
  if (value === undefined || value === null) return [];
  if (typeof value === 'string')
    return value
      .split(/[\n,]/)
      .map((item) => item.trim())
      .filter(Boolean);
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw configError(source, key, 'must be a list of names');
  return value.map((item: string) => item.trim()).filter(Boolean);
}

export function optionalDuration(raw: Record<string, unknown>, key: string, source: ConfigSource): number | undefined {
  const value = optionalString(raw, key, source);
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined)
    throw configError(source, key, `is not a duration (got ${JSON.stringify(value)})`, '24h, 90m, 30s');
  return ms;
}

/** `80%` or `80` (percent), or a fraction up to 1 (`0.8` is 80%). Returns percent, 0-100. */
export function percent(raw: Record<string, unknown>, key: string, source: ConfigSource): number | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text);
  const number = match ? Number(match[1]) : Number.NaN;
  const pct = text.endsWith('%') || number > 1 ? number : number * 100;
  if (!match || pct > 100)
    throw configError(source, key, `must be a percentage from 0% to 100% (got ${JSON.stringify(text)})`, '80%');
  return pct;
}

export function optionalInteger(
  raw: Record<string, unknown>,
  key: string,
  source: ConfigSource,
  min = 0,
): number | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    throw configError(source, key, `must be a whole number of at least ${min} (got ${JSON.stringify(value)})`);
  return number;
}

export function optionalBoolean(raw: Record<string, unknown>, key: string, source: ConfigSource): boolean | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw configError(source, key, `must be true or false (got ${JSON.stringify(value)})`);
}

/** Format a percentage for the checklist: 83.4%. */
export function pct(value: number): string {
  return `${Math.round(value * 10) / 10}%`;
}
