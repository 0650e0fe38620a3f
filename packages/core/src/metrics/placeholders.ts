/**
 * `{{canary}}`-style placeholders in queries and URLs. Unknown names fail at
 * parse time rather than reaching the provider as literal braces.
 */
import { UserError } from '../errors';

export const PLACEHOLDERS = ['canary', 'stable', 'baseline', 'version', 'namespace', 'app', 'interval'] as const;
export type PlaceholderName = (typeof PLACEHOLDERS)[number];
export type PlaceholderValues = Partial<Record<PlaceholderName, string>>;

const PATTERN = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

/** Names used in a template, in order of first use. */
export function placeholdersIn(template: string): string[] {
  return [...new Set([...template.matchAll(PATTERN)].map((match) => match[1]!))];
}

/**
 * Replace placeholders. `encode` escapes each value for its context (encodeURIComponent
 * inside a URL); PromQL text is left as is because the whole query is URL-encoded when sent.
 */
export function substitute(
  template: string,
  values: PlaceholderValues,
  where: string,
  encode: (value: string) => string = (value) => value,
): string {
  return template.replace(PATTERN, (_whole, name: string) => {
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new UserError(
        `${where}: unknown placeholder {{${name}}}; known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        {
          hint: 'Example: http_requests_total{version="{{canary}}"}',
        },
      );
    }
    const value = values[name as PlaceholderName];
    if (value === undefined) {
      throw new UserError(
        `${where}: placeholder {{${name}}} has no value in this run${name === 'baseline' ? ' (set baseline: true to start a baseline)' : ''}`,
      );
    }
    return encode(value);
  });
}
