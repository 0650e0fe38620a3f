/**
 * The policy file (`.github/deploy-policy.yml`): parsed with line and column in errors, checked against the
 * published JSON Schema (the validator ajv compiled from it, generated ahead of time), and the environment's
 * gates picked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import { validate } from './policy-validate.generated.js';
import { GATE_NAMES } from './schema';

export const DEFAULT_POLICY = '.github/deploy-policy.yml';

export interface Policy {
  /** Relative path shown in messages. */
  file: string;
  /** Gate name → its raw configuration (defaults merged under the environment's). */
  gates: Record<string, Record<string, unknown>>;
  /** Where each gate's configuration is: `environments.production.gates.window` or `defaults.gates.window`. */
  paths: Record<string, string>;
  /** Default per-gate timeout text from the file. */
  timeout: string | undefined;
  /** `file:line:column` of a dotted key path. */
  locate(path: string): string | undefined;
}

type Segment = string | number;

function segments(path: string): Segment[] {
  const parts: Segment[] = [];
  for (const [, key, index] of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
    parts.push(index !== undefined ? Number(index) : key!);
  return parts;
}

/** `/environments/production/gates/coverage/min` → `environments.production.gates.coverage.min` */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
}

/** The policy for `environment`, or undefined when there is no file (and none was asked for by name). */
export async function loadPolicy(
  path: string | undefined,
  workspace: string,
  environment: string | undefined,
): Promise<Policy | undefined> {
  const given = path !== undefined;
  const resolved = resolveInWorkspace(path ?? DEFAULT_POLICY, workspace);
  if ('problem' in resolved) throw new UserError(`Input 'policy': ${path} ${resolved.problem}`);
  if (!existsSync(resolved.path)) {
    if (!given) return undefined;
    throw new UserError(`Input 'policy': ${path} does not exist in the workspace (${workspace})`, {
      hint: `policy: ${DEFAULT_POLICY}`,
    });
  }
  const file = relative(workspace, resolved.path) || path!;
  const lineCounter = new LineCounter();
  const document = parseDocument(readFileSync(resolved.path, 'utf8'), { lineCounter });
  const error = document.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    const reason = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    throw new UserError(`${file}${at ? `:${at.line}:${at.col}` : ''}: the policy file is not valid YAML: ${reason}`);
  }
  const locate = (keyPath: string): string | undefined => {
    const node = document.getIn(segments(keyPath), true) as { range?: [number, number, number] } | undefined;
    const pair = keyPath === '' ? undefined : node;
    const offset = pair?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  /** The key itself (for unknown keys, where the value is not what is wrong). */
  const locateKey = (parent: string, key: string): string => {
    const node = (parent === '' ? document.contents : document.getIn(segments(parent), true)) as unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown })?.value === key);
      const offset = (pair?.key as { range?: [number] } | undefined)?.range?.[0];
      if (offset !== undefined) {
        const { line, col } = lineCounter.linePos(offset);
        return `${file}:${line}:${col}`;
      }
    }
    return file;
  };
  const data = (document.toJS() ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(`${file}:1:1: the policy file must be a mapping with defaults and environments`);
  }

  // Unknown gate names first: the message lists the known ones.
  const sections: Array<[string, unknown]> = [['defaults', data['defaults']]];
  for (const [name, section] of Object.entries((data['environments'] ?? {}) as Record<string, unknown>))
    sections.push([`environments.${name}`, section]);
  for (const [where, section] of sections) {
    const gates = (section as { gates?: unknown } | undefined)?.gates;
    if (gates === null || typeof gates !== 'object' || Array.isArray(gates)) continue;
    for (const name of Object.keys(gates)) {
      if (!(GATE_NAMES as string[]).includes(name)) {
        throw new UserError(
          `${locateKey(`${where}.gates`, name)}: ${where}.gates.${name}: unknown gate '${name}' (known gates: ${GATE_NAMES.join(', ')})`,
        );
      }
    }
  }

  if (!validate(data)) {
    const problem = validate.errors![0]!;
    let keyPath = dotted(problem.instancePath);
    let where = locate(keyPath) ?? file;
    let message = problem.message ?? 'is not allowed';
    if (problem.keyword === 'additionalProperties') {
      const extra = (problem.params as { additionalProperty: string }).additionalProperty;
      where = locateKey(keyPath, extra);
      keyPath = keyPath === '' ? extra : `${keyPath}.${extra}`;
      message = 'is not a known key';
    } else if (problem.keyword === 'enum') {
      message = `must be one of ${(problem.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    }
    throw new UserError(
      `${where}: ${keyPath || '(top level)'} ${message} (schema: actions/preflight/deploy-policy.schema.json)`,
    );
  }

  const environments = (data['environments'] ?? {}) as Record<
    string,
    { gates?: Record<string, unknown>; timeout?: string }
  >;
  const defaults = (data['defaults'] ?? {}) as { gates?: Record<string, unknown>; timeout?: string };
  if (environment !== undefined && Object.keys(environments).length > 0 && !(environment in environments)) {
    throw new UserError(
      `${file}: no section for environment '${environment}' (it has ${Object.keys(environments).join(', ')})`,
      { hint: `environments:\n  ${environment}:\n    gates: ...` },
    );
  }
  const chosen = environment === undefined ? undefined : environments[environment];
  const gates: Policy['gates'] = {};
  const paths: Policy['paths'] = {};
  for (const [name, value] of Object.entries(defaults.gates ?? {})) {
    gates[name] = { ...(value as object) };
    paths[name] = `defaults.gates.${name}`;
  }
  for (const [name, value] of Object.entries(chosen?.gates ?? {})) {
    gates[name] = { ...gates[name], ...(value as object) };
    paths[name] = `environments.${environment}.gates.${name}`;
  }
  return { file, gates, paths, timeout: chosen?.timeout ?? defaults.timeout, locate };
}
