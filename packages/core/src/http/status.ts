/** Expected HTTP statuses: `200`, `[200, 204]`, `2xx`. */
export type StatusMatcher = { kind: 'exact'; code: number } | { kind: 'class'; hundred: number };

export function statusMatches(matchers: readonly StatusMatcher[], status: number): boolean {
  return matchers.some((m) => (m.kind === 'exact' ? m.code === status : Math.floor(status / 100) === m.hundred));
}

/** Parse one status: a number 100-599 or a class like `2xx`; undefined when it is neither. */
export function parseStatus(value: unknown): StatusMatcher | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) {
    return { kind: 'exact', code: value };
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^[1-5]\d\d$/.test(text)) return { kind: 'exact', code: Number(text) };
  if (/^[1-5]xx$/.test(text)) return { kind: 'class', hundred: Number(text[0]) };
  return undefined;
}

export function describeStatus(matchers: readonly StatusMatcher[]): string {
  return matchers.map((m) => (m.kind === 'exact' ? String(m.code) : `${m.hundred}xx`)).join(' or ');
}
