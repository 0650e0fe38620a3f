/** `{{ name }}` placeholders in URLs, headers and bodies, filled from captures and caller variables. */

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;

export function templateNames(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

export function fillTemplate(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => values.get(name) ?? whole);
}

/** Fill every string inside a JSON value (keys too). */
export function fillJson(value: unknown, values: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return fillTemplate(value, values);
  if (Array.isArray(value)) return value.map((item) => fillJson(item, values));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [fillTemplate(key, values), fillJson(item, values)]),
    );
  }
  return value;
}
