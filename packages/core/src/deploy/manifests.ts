/**
 * Manifests as the user keeps them: files, globs or folders of multi-document
 * YAML, with `${VAR}` placeholders filled from a values file. Everything here
 * is pure reading and checking, so a typo is reported (file, line, column)
 * before the cluster sees anything.
 */
import { globSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { isMap, LineCounter, parse, parseAllDocuments, Scalar, visit } from 'yaml';
import { InputError, UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import type { KubeObject } from '../kube/types';

/** One object read from a manifest, with where it came from. */
export interface ManifestObject {
  object: KubeObject;
  /** `k8s/web.yaml:12` */
  source: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * The files the `manifests` input names, in order, each once: a file, a folder
 * (its .yaml/.yml/.json files, recursively, sorted) or a glob. Every entry must
 * match something inside the workspace.
 */
export function manifestFiles(entries: readonly string[], workspace: string): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (!seen.has(path)) {
      seen.add(path);
      files.push(path);
    }
  };
  for (const entry of entries) {
    const isGlob = /[*?[{]/.test(entry);
    if (isGlob) {
      const matches = globSync(entry, { cwd: workspace })
        .map((match) => join(workspace, match))
        .filter((path) => statSync(path).isFile() && MANIFEST_EXTENSIONS.has(extname(path)))
        .sort();
      for (const match of matches) {
        const resolved = resolveInWorkspace(match, workspace);
        if ('problem' in resolved) throw new InputError('manifests', resolved.problem, entry, 'k8s/*.yaml');
        add(resolved.path);
      }
      if (matches.length === 0) {
        throw new InputError('manifests', 'the pattern matches no .yaml/.yml/.json file', entry, 'k8s/*.yaml');
      }
      continue;
    }
    const resolved = resolveInWorkspace(entry, workspace);
    if ('problem' in resolved) throw new InputError('manifests', resolved.problem, entry, 'k8s/production/');
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(resolved.path);
    } catch {
      throw new InputError('manifests', 'no such file or folder in the workspace', entry, 'k8s/production/');
    }
    if (stats.isDirectory()) {
      const inside = walk(resolved.path);
      if (inside.length === 0) {
        throw new InputError('manifests', 'the folder holds no .yaml/.yml/.json file', entry, 'k8s/production/');
      }
      for (const file of inside) add(file);
    } else {
      add(resolved.path);
    }
  }
  return files;
}

function walk(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...walk(path));
    else if (entry.isFile() && MANIFEST_EXTENSIONS.has(extname(entry.name))) found.push(path);
  }
  return found;
}

/** `${VAR}` values: from the values file (flat, or the environment's section). */
export type Values = Readonly<Record<string, string>>;

/**
 * A values file: YAML (or JSON) mapping, either flat (`IMAGE_TAG: v1`) or with
 * one section per environment (`production: { REPLICAS: 5 }`) picked by
 * `environment`; top-level scalars are shared by every environment. A `.env`
 * file (`KEY=value` lines) works too.
 */
export function loadValues(path: string, workspace: string, environment: string | undefined): Values {
  const resolved = resolveInWorkspace(path, workspace);
  if ('problem' in resolved) throw new InputError('values-file', resolved.problem, path, 'deploy/values.yaml');
  let text: string;
  try {
    text = readFileSync(resolved.path, 'utf8');
  } catch {
    throw new InputError('values-file', 'no such file in the workspace', path, 'deploy/values.yaml');
  }
  const shown = relative(workspace, resolved.path) || path;
  if (/\.env$/i.test(resolved.path)) return parseDotEnv(text, shown);
  const lineCounter = new LineCounter();
  const document = parseAllDocuments(text, { lineCounter });
  const first = Array.isArray(document) ? document[0] : undefined;
  const error = first?.errors[0];
  if (error) throw yamlError(`values file ${shown}`, error, 'values-file');
  const data = first?.toJS() as unknown;
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError('values-file', `${shown} must be a YAML mapping of names to values`, path, 'IMAGE_TAG: v1');
  }
  const shared: Record<string, string> = {};
  const sections: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      sections[key] = value as Record<string, unknown>;
    } else if (value !== null && value !== undefined) {
      shared[key] = String(value);
    }
  }
  const names = Object.keys(sections);
  if (names.length === 0) return shared;
  if (environment === undefined || sections[environment] === undefined) {
    throw new InputError(
      'environment',
      environment === undefined
        ? `the values file ${shown} has one section per environment (${names.join(', ')}): name the one to use`
        : `the values file ${shown} has no section '${environment}' (it has ${names.join(', ')})`,
      environment,
      names[0] ?? 'production',
    );
  }
  const picked: Record<string, string> = { ...shared };
  for (const [key, value] of Object.entries(sections[environment] ?? {})) {
    if (value !== null && value !== undefined)
      picked[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return picked;
}

function parseDotEnv(text: string, shown: string): Values {
  const values: Record<string, string> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw new InputError('values-file', `${shown} line ${index + 1} is not KEY=value`, line, 'IMAGE_TAG=v1.2.3');
    }
    let value = match[2] ?? '';
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    values[match[1]!] = value;
  }
  return values;
}

const PLACEHOLDER = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g;

interface Missing {
  name: string;
  where: string;
}

/**
 * Every object in `files`, `${VAR}` placeholders filled in. Substitution works
 * on parsed scalars, not on the text, so a value can never change the YAML's
 * structure; an unquoted `${REPLICAS}` still becomes the number 3. `$${X}`
 * stays `${X}`, `${X:-default}` falls back to `default`.
 */
export function readManifests(files: readonly string[], workspace: string, values: Values): ManifestObject[] {
  const objects: ManifestObject[] = [];
  const missing: Missing[] = [];
  for (const file of files) {
    const shown = relative(workspace, file) || file;
    const text = readFileSync(file, 'utf8');
    const lineCounter = new LineCounter();
    const documents = parseAllDocuments(text, { lineCounter });
    if (!Array.isArray(documents)) continue; // an empty stream
    for (const document of documents) {
      const error = document.errors[0];
      if (error) throw yamlError(shown, error, 'manifests');
      visit(document, {
        Scalar(key, node) {
          if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
          const at = node.range ? lineCounter.linePos(node.range[0]) : undefined;
          const where = at ? `${shown} line ${at.line}, column ${at.col}` : shown;
          const replaced = node.value.replace(PLACEHOLDER, (whole, name?: string, fallback?: string) => {
            if (whole === '$${') return '${';
            const value = values[name!] ?? fallback;
            if (value === undefined) {
              missing.push({ name: name!, where });
              return whole;
            }
            return value;
          });
          if (replaced === node.value) return;
          // A plain (unquoted) scalar is re-read as YAML would read the text: `3` a number, `true` a boolean.
          if (node.type === Scalar.PLAIN) {
            const reread = safeScalar(replaced);
            node.value = reread;
          } else {
            node.value = replaced;
          }
        },
      });
      const line = document.contents?.range ? lineCounter.linePos(document.contents.range[0]).line : 1;
      const data = document.toJS() as unknown;
      if (data === null || data === undefined) continue;
      const source = `${shown}:${line}`;
      if (typeof data !== 'object' || Array.isArray(data) || !isMap(document.contents)) {
        throw new UserError(`Manifest ${source} is not a Kubernetes object (a YAML mapping with apiVersion and kind)`);
      }
      const object = data as KubeObject;
      if (object.kind === 'List' && Array.isArray(object['items'])) {
        for (const item of object['items'] as KubeObject[]) objects.push({ object: checkShape(item, source), source });
      } else {
        objects.push({ object: checkShape(object, source), source });
      }
    }
  }
  if (missing.length > 0) {
    const names = [...new Set(missing.map((item) => item.name))];
    const known = Object.keys(values);
    throw new UserError(
      `No value for ${missing.map((item) => `\${${item.name}} (${item.where})`).join(', ')}. ` +
        `Give ${names.length > 1 ? 'them' : 'it'} in the values file${known.length > 0 ? ` (it has ${known.join(', ')})` : ' (none was given)'}, or a default: \${${names[0]}:-value}`,
      { hint: `Example values file:\nproduction:\n  ${names[0]}: value` },
    );
  }
  return objects;
}

function safeScalar(text: string): unknown {
  try {
    const value = parse(text) as unknown;
    return value === null || typeof value !== 'object' ? (value ?? text) : text;
  } catch {
    return text;
  }
}

function checkShape(object: KubeObject, source: string): KubeObject {
  const problems: string[] = [];
  if (typeof object.apiVersion !== 'string' || object.apiVersion === '') problems.push('apiVersion');
  if (typeof object.kind !== 'string' || object.kind === '') problems.push('kind');
  if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') problems.push('metadata.name');
  if (problems.length > 0) {
    throw new UserError(`Manifest ${source} has no ${problems.join(', ')}`, {
      hint: 'Example:\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web',
    });
  }
  return object;
}

function yamlError(
  source: string,
  error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] | undefined },
  input: string,
): UserError {
  const where = error.linePos?.[0];
  const at = where ? ` at line ${where.line}, column ${where.col}` : '';
  const reason = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
  return new UserError(`Input '${input}': ${source} is not valid YAML${at}: ${reason}`);
}

/** Container lists inside the pod spec of any object that has one. */
export function podSpecOf(object: KubeObject): Record<string, unknown> | undefined {
  const spec = object['spec'] as Record<string, unknown> | undefined;
  if (spec === undefined) return undefined;
  switch (object.kind) {
    case 'Pod':
      return spec;
    case 'CronJob': {
      const job = spec['jobTemplate'] as { spec?: { template?: { spec?: Record<string, unknown> } } } | undefined;
      return job?.spec?.template?.spec;
    }
    default: {
      const template = spec['template'] as { spec?: Record<string, unknown> } | undefined;
      return template?.spec !== undefined && typeof template.spec === 'object' ? template.spec : undefined;
    }
  }
}

/** container name → image of an object's pod spec (init containers too), for records of what was deployed. */
export function imagesOfObject(object: KubeObject): Record<string, string> {
  const spec = podSpecOf(object);
  const images: Record<string, string> = {};
  for (const key of ['initContainers', 'containers']) {
    const list = spec?.[key];
    if (!Array.isArray(list)) continue;
    for (const container of list as NamedContainer[]) {
      if (typeof container?.name === 'string' && typeof container.image === 'string') {
        images[container.name] = container.image;
      }
    }
  }
  return images;
}

interface NamedContainer {
  name?: string;
  image?: string;
}

/**
 * Sets `images` (container name → image) on every container of that name in
 * the objects. An image whose container no manifest has is an error listing
 * the containers there are.
 */
export function substituteImages(objects: readonly ManifestObject[], images: Readonly<Record<string, string>>): void {
  const used = new Set<string>();
  const containers = new Set<string>();
  for (const { object } of objects) {
    const spec = podSpecOf(object);
    for (const list of [spec?.['containers'], spec?.['initContainers']]) {
      if (!Array.isArray(list)) continue;
      for (const container of list as NamedContainer[]) {
        if (container.name === undefined) continue;
        containers.add(container.name);
        const image = images[container.name];
        if (image !== undefined) {
          container.image = image;
          used.add(container.name);
        }
      }
    }
  }
  const unknown = Object.keys(images).filter((name) => !used.has(name));
  if (unknown.length > 0) {
    throw new InputError(
      'images',
      `no container named ${unknown.map((name) => `"${name}"`).join(', ')} in the manifests; containers there: ${[...containers].join(', ') || 'none'}`,
      Object.entries(images)
        .map(([name, image]) => `${name}=${image}`)
        .join(', '),
      `${[...containers][0] ?? 'web'}=ghcr.io/acme/web:v1.2.3`,
    );
  }
}

/** Adds the secrets to every pod spec's `imagePullSecrets` (once each). */
export function injectPullSecrets(objects: readonly ManifestObject[], secrets: readonly string[]): void {
  if (secrets.length === 0) return;
  for (const { object } of objects) {
    const spec = podSpecOf(object);
    if (spec === undefined) continue;
    const current = Array.isArray(spec['imagePullSecrets'])
      ? (spec['imagePullSecrets'] as Array<{ name?: string }>)
      : [];
    const names = new Set(current.map((entry) => entry.name));
    spec['imagePullSecrets'] = [...current, ...secrets.filter((name) => !names.has(name)).map((name) => ({ name }))];
  }
}
