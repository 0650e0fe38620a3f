/**
 * The `images`, `tags` and `flavor` inputs of docker/metadata-action, parsed with
 * its syntax and defaults: one entry per line, `key=value` attributes separated by
 * commas (a field in double quotes may hold commas), lines starting with `#`
 * ignored. Unlike metadata-action, an attribute a tag type does not know is an
 * error naming the rule and the attribute, not silently kept.
 */
import { InputError } from '../errors';

export const TAG_TYPES = ['schedule', 'semver', 'pep440', 'match', 'edge', 'ref', 'raw', 'sha'] as const;
export type TagType = (typeof TAG_TYPES)[number];

/** metadata-action's default priorities: a higher one is applied first and gives the version. */
export const DEFAULT_PRIORITY: Record<TagType, number> = {
  schedule: 1000,
  semver: 900,
  pep440: 900,
  match: 800,
  edge: 700,
  ref: 600,
  raw: 200,
  sha: 100,
};

const COMMON_ATTRIBUTES = ['type', 'enable', 'priority', 'prefix', 'suffix'];
const TYPE_ATTRIBUTES: Record<TagType, string[]> = {
  schedule: ['pattern'],
  semver: ['pattern', 'value', 'match'],
  pep440: ['pattern', 'value', 'match'],
  match: ['pattern', 'group', 'value'],
  edge: ['branch'],
  ref: ['event'],
  raw: ['value'],
  sha: ['format'],
};

export const DEFAULT_TAG_RULES = ['type=schedule', 'type=ref,event=branch', 'type=ref,event=tag', 'type=ref,event=pr'];

export interface TagRule {
  type: TagType;
  /** Attributes as given, with the type's defaults filled in (prefix is absent unless given or defaulted). */
  attrs: Record<string, string>;
  priority: number;
  /** The line as written, for messages. */
  source: string;
}

export interface ImageEntry {
  name: string;
  enable: boolean;
}

export interface Flavor {
  latest: 'auto' | 'true' | 'false';
  prefix: string;
  prefixLatest: boolean;
  suffix: string;
  suffixLatest: boolean;
}

/** Non-empty lines of a list input, trimmed, without `#` comment lines. */
export function inputLines(text: string | undefined): string[] {
  return (text ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** One CSV record: fields split on commas outside double quotes (`""` is a quote inside quotes). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields.filter((item) => item.trim() !== '');
}

/** `key=value` split at the first `=`, both trimmed; a field without `=` has no key. */
function keyValue(field: string): [string | undefined, string] {
  const at = field.indexOf('=');
  return at < 0 ? [undefined, field.trim()] : [field.slice(0, at).trim().toLowerCase(), field.slice(at + 1).trim()];
}

export function parseTagRules(text: string | undefined, input = 'tags'): TagRule[] {
  const lines = inputLines(text);
  const rules = (lines.length > 0 ? lines : DEFAULT_TAG_RULES).map((line, index) =>
    parseTagRule(line, index + 1, input),
  );
  // A stable sort: rules of equal priority keep the order they were written in.
  return rules.sort((a, b) => b.priority - a.priority);
}

export function parseTagRule(line: string, position: number, input = 'tags'): TagRule {
  const fail = (problem: string, example: string): never => {
    throw new InputError(input, `rule ${position}: ${problem}`, line, example);
  };
  const attrs: Record<string, string> = {};
  let type: TagType | undefined;
  for (const field of csvFields(line)) {
    const [key, value] = keyValue(field);
    if (key === undefined) attrs.value = value;
    else if (key === 'type') {
      if (!(TAG_TYPES as readonly string[]).includes(value)) {
        fail(`unknown type=${value} (one of ${TAG_TYPES.join(', ')})`, 'type=semver,pattern={{version}}');
      }
      type = value as TagType;
    } else attrs[key] = value;
  }
  const ruleType: TagType = type ?? 'raw';
  const allowed = [...COMMON_ATTRIBUTES, ...TYPE_ATTRIBUTES[ruleType]];
  for (const key of Object.keys(attrs)) {
    if (!allowed.includes(key)) {
      fail(
        `attribute ${JSON.stringify(key)} is not one of type=${ruleType}'s (${allowed.filter((name) => name !== 'type').join(', ')})`,
        `type=${ruleType},${exampleFor(ruleType)}`,
      );
    }
  }
  const has = (key: string) => Object.hasOwn(attrs, key);
  switch (ruleType) {
    case 'schedule':
      if (!has('pattern')) attrs.pattern = 'nightly';
      break;
    case 'semver':
    case 'pep440':
      if (!has('pattern')) fail('the pattern attribute is missing', `type=${ruleType},pattern={{version}}`);
      attrs.value ??= '';
      attrs.match ??= '';
      break;
    case 'match':
      if (!has('pattern')) fail('the pattern attribute is missing', 'type=match,pattern=\\d+.\\d+,group=0');
      attrs.group ??= '0';
      if (!/^\d+$/.test(attrs.group!))
        fail(`group=${attrs.group} is not a group number`, 'type=match,pattern=v(\\d+),group=1');
      attrs.value ??= '';
      break;
    case 'edge':
      attrs.branch ??= '';
      break;
    case 'ref':
      if (!has('event')) fail('the event attribute is missing', 'type=ref,event=branch');
      if (!['branch', 'tag', 'pr'].includes(attrs.event!))
        fail(`event=${attrs.event} is not branch, tag or pr`, 'type=ref,event=pr');
      if (attrs.event === 'pr' && !has('prefix')) attrs.prefix = 'pr-';
      break;
    case 'raw':
      if (!has('value')) fail('the value attribute is missing', 'type=raw,value=latest');
      break;
    case 'sha':
      if (!has('prefix')) attrs.prefix = 'sha-';
      attrs.format ??= 'short';
      if (!['short', 'long'].includes(attrs.format!))
        fail(`format=${attrs.format} is not short or long`, 'type=sha,format=long');
      break;
  }
  attrs.enable ??= 'true';
  const priority = has('priority') ? Number(attrs.priority) : DEFAULT_PRIORITY[ruleType];
  if (!Number.isFinite(priority))
    fail(`priority=${attrs.priority} is not a number`, `type=${ruleType},priority=${DEFAULT_PRIORITY[ruleType]}`);
  attrs.priority = String(priority);
  return { type: ruleType, attrs, priority, source: line };
}

function exampleFor(type: TagType): string {
  return {
    schedule: "pattern={{date 'YYYYMMDD'}}",
    semver: 'pattern={{major}}.{{minor}}',
    pep440: 'pattern={{version}}',
    match: 'pattern=v(\\d.\\d),group=1',
    edge: 'branch=main',
    ref: 'event=branch',
    raw: 'value=latest',
    sha: 'format=long',
  }[type];
}

export function parseImages(text: string | undefined, input = 'images'): ImageEntry[] {
  const lines = inputLines(text);
  // The old form: one line of comma-separated names without attributes.
  if (lines.length === 1 && csvFields(lines[0]!).every((field) => !field.includes('='))) {
    return csvFields(lines[0]!).map((name) => ({ name: name.trim(), enable: true }));
  }
  return lines.map((line, index) => {
    const image: ImageEntry = { name: '', enable: true };
    for (const field of csvFields(line)) {
      const [key, value] = keyValue(field);
      if (key === undefined || key === 'name') image.name = value;
      else if (key === 'enable') {
        if (value !== 'true' && value !== 'false')
          throw new InputError(
            input,
            `image ${index + 1}: enable=${value} is not true or false`,
            line,
            'name=ghcr.io/acme/web,enable=true',
          );
        image.enable = value === 'true';
      } else
        throw new InputError(
          input,
          `image ${index + 1}: unknown attribute ${JSON.stringify(key)} (name, enable)`,
          line,
          'name=ghcr.io/acme/web,enable=true',
        );
    }
    if (image.name === '')
      throw new InputError(input, `image ${index + 1}: the name is empty`, line, 'name=ghcr.io/acme/web');
    return image;
  });
}

export function parseFlavor(text: string | undefined, input = 'flavor'): Flavor {
  const flavor: Flavor = { latest: 'auto', prefix: '', prefixLatest: false, suffix: '', suffixLatest: false };
  for (const line of inputLines(text)) {
    let onLatestFor: 'prefix' | 'suffix' | undefined;
    for (const field of csvFields(line)) {
      const [key, value] = keyValue(field);
      const fail = (problem: string, example: string): never => {
        throw new InputError(input, problem, line, example);
      };
      switch (key) {
        case 'latest':
          if (value !== 'auto' && value !== 'true' && value !== 'false')
            fail(`latest=${value} is not auto, true or false`, 'latest=auto');
          flavor.latest = value as Flavor['latest'];
          break;
        case 'prefix':
        case 'suffix':
          flavor[key] = value;
          onLatestFor = key;
          break;
        case 'onlatest':
          if (value !== 'true' && value !== 'false')
            fail(`onlatest=${value} is not true or false`, 'suffix=-alpine,onlatest=true');
          if (onLatestFor) flavor[`${onLatestFor}Latest`] = value === 'true';
          break;
        default:
          fail(
            key === undefined
              ? `${JSON.stringify(value)} is not key=value`
              : `unknown flavor ${JSON.stringify(key)} (latest, prefix, suffix, onlatest)`,
            'latest=auto\n  prefix=v',
          );
      }
    }
  }
  return flavor;
}
