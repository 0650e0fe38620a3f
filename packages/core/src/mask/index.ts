/**
 * Secret masking, pure: which strings a secret expands to, and a redactor.
 * The runtimes register the same strings with the runner (`::add-mask::`), so
 * GitHub's own log masking and ours agree.
 */

import { parse } from 'yaml';

/** Lines shorter than this in a multi-line secret are not masked alone: masking `}` or `-----` would shred logs. */
const MIN_LINE = 4;

/** The password (raw and percent-decoded) inside a URL such as `https://user:pass@host/`; none if it has none. */
export function secretsInUrl(url: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#@]+)@/i.exec(url.trim());
  if (!match) return [];
  const raw = match[1]!;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: the raw form is all that can appear.
  }
  return unique([raw, decoded]);
}

/**
 * Everything that must disappear when `secret` is masked: the secret itself,
 * each line of a multi-line secret, and passwords inside any URL in it.
 */
export function secretVariants(secret: string): string[] {
  const variants: string[] = [];
  const whole = secret.trim();
  if (whole === '') return [];
  variants.push(secret, whole);
  const lines = whole.split(/\r?\n/).map((line) => line.trim());
  const kubeconfig = lines.length > 1 ? kubeconfigSecrets(whole) : undefined;
  if (kubeconfig) variants.push(...kubeconfig);
  else if (lines.length > 1) variants.push(...lines.filter((line) => line.length >= MIN_LINE));
  for (const word of whole.split(/\s+/)) variants.push(...secretsInUrl(word));
  return unique(variants.filter((text) => text !== ''));
}

/** Kubeconfig keys whose values are names and addresses, not credentials (masking them would hide app names). */
const KUBECONFIG_PLAIN_KEYS = new Set([
  'apiVersion',
  'kind',
  'name',
  'cluster',
  'user',
  'context',
  'namespace',
  'current-context',
  'server',
  'proxy-url',
  'tls-server-name',
  'insecure-skip-tls-verify',
  'certificate-authority',
  'command',
  'interactiveMode',
  'provideClusterInfo',
  'installHint',
  'disable-compression',
]);

/**
 * The credentials inside a kubeconfig (tokens, passwords, key and certificate data, exec env values and
 * auth-provider settings, passwords in server URLs), or undefined when `text` is not a kubeconfig. Masking
 * every line instead would turn `namespace: users` into `***` wherever the word `users` is printed.
 */
export function kubeconfigSecrets(text: string): string[] | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || !('clusters' in doc || 'users' in doc)) return undefined;
  const found: string[] = [];
  const visit = (value: unknown, key: string | undefined) => {
    if (Array.isArray(value)) for (const item of value) visit(item, key);
    else if (typeof value === 'object' && value !== null)
      for (const [k, v] of Object.entries(value)) visit(v, k === 'value' || k === 'args' ? key : k);
    else if (typeof value === 'string' && value.trim() !== '') {
      if (key === undefined || !KUBECONFIG_PLAIN_KEYS.has(key)) found.push(value.trim());
      else found.push(...secretsInUrl(value));
    }
  };
  visit(doc, undefined);
  return found.filter((value) => value.length >= MIN_LINE);
}

/** Holds registered secrets and replaces them with `***`, longest first so no tail of a secret survives. */
export class Masker {
  private readonly secrets = new Set<string>();
  private ordered: string[] = [];

  /** Register a secret; returns the strings newly masked (to pass on to the runner). */
  add(secret: string): string[] {
    const added = secretVariants(secret).filter((text) => !this.secrets.has(text));
    for (const text of added) this.secrets.add(text);
    if (added.length > 0) this.ordered = [...this.secrets].sort((a, b) => b.length - a.length);
    return added;
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
