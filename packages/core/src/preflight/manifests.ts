/**
 * manifests: Kubernetes manifests parse and pass schema validation offline (the OpenAPI schemas as
 * `kubernetes-models` ships them, imported only when this gate runs), then a server-side dry-run when a
 * cluster is given. Every error points at its file and line.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { type Document, LineCounter, parseAllDocuments } from 'yaml';
import { manifestFiles } from '../deploy/manifests';
import { RESOURCES, type ResourceType, resourcePath } from '../kube/resources';
import type { KubeObject } from '../kube/types';
import { configError, optionalBoolean, stringList } from './config';
import { OFFLINE_KINDS, type SchemaError, validatorFor } from './manifest-schemas';
import type { GateContext, GateDefinition, GateOutcome } from './types';

interface ManifestsConfig {
  files: string[];
  dryRun: boolean | undefined;
  workspace: string;
}

type Annotation = NonNullable<GateOutcome['annotations']>[number];

interface Parsed {
  object: KubeObject;
  file: string;
  line: number;
  document: Document;
  lines: LineCounter;
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

/** The compiled validators report keywords, not sentences: say what was wrong. */
function describeError(error: SchemaError): { field: string; problem: string } {
  const field = error.instancePath.split('/').slice(1).join('.') || '(object)';
  const params = error.params ?? {};
  switch (error.keyword) {
    case 'type':
      return { field, problem: `must be ${params['type'] === 'integer' ? 'an integer' : `a ${params['type']}`}` };
    case 'enum':
      return { field, problem: `must be one of ${(params['allowedValues'] as unknown[]).join(', ')}` };
    case 'required': {
      const missing = String(params['missingProperty']);
      return { field: field === '(object)' ? missing : `${field}.${missing}`, problem: 'is required' };
    }
    default:
      return { field, problem: `breaks the schema (${error.keyword} ${JSON.stringify(params)})` };
  }
}

function segments(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** Line and column of the deepest node on the path that exists. */
function position(parsed: Parsed, pointer: string): { line: number; column: number } {
  const path = segments(pointer);
  for (let n = path.length; n >= 0; n--) {
    const node = parsed.document.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      const { line, col } = parsed.lines.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: parsed.line, column: 1 };
}

function typeOf(object: KubeObject): ResourceType {
  const known = (RESOURCES as Record<string, ResourceType>)[object.kind ?? ''];
  const [group, version] = (object.apiVersion ?? '').includes('/')
    ? object.apiVersion!.split('/')
    : ['', object.apiVersion ?? 'v1'];
  if (known && known.group === group && known.version === version) return known;
  const kind = (object.kind ?? '').toLowerCase();
  const plural = /(s|x|ch|sh)$/.test(kind)
    ? `${kind}es`
    : /[^aeiou]y$/.test(kind)
      ? `${kind.slice(0, -1)}ies`
      : `${kind}s`;
  return { group: group!, version: version!, plural, namespaced: !CLUSTER_SCOPED.has(object.kind ?? '') };
}

function read(config: ManifestsConfig, annotations: Annotation[]): Parsed[] {
  const parsed: Parsed[] = [];
  for (const path of config.files) {
    const file = relative(config.workspace, path) || path;
    const lines = new LineCounter();
    for (const document of parseAllDocuments(readFileSync(path, 'utf8'), { lineCounter: lines }) as Document[]) {
      const error = document.errors[0];
      if (error) {
        const at = error.linePos?.[0];
        annotations.push({
          file,
          line: at?.line ?? 1,
          column: at?.col ?? 1,
          message: `not valid YAML: ${error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`,
        });
        continue;
      }
      const object = document.toJS() as KubeObject | null;
      if (object === null || object === undefined) continue;
      const line = document.contents?.range ? lines.linePos(document.contents.range[0]).line : 1;
      if (typeof object !== 'object' || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
        annotations.push({ file, line, message: 'not a Kubernetes object (apiVersion and kind are required)' });
        continue;
      }
      parsed.push({ object, file, line, document, lines });
    }
  }
  return parsed;
}

async function dryRun(parsed: Parsed, ctx: GateContext, namespace: string): Promise<string | undefined> {
  const client = await ctx.kube();
  const type = typeOf(parsed.object);
  const name = parsed.object.metadata?.name;
  const ns = type.namespaced ? (parsed.object.metadata?.namespace ?? namespace) : undefined;
  try {
    // Server-side apply with dryRun=All: the API server's own validation and admission, nothing stored.
    await client.request('PATCH', resourcePath(type, { namespace: ns, name }), {
      body: { ...parsed.object, metadata: { ...parsed.object.metadata, ...(ns ? { namespace: ns } : {}) } },
      contentType: 'application/apply-patch+yaml',
      query: { dryRun: 'All', fieldManager: 'deploy-actions-preflight', force: true, fieldValidation: 'Strict' },
      retry: false,
    });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export const manifestsGate: GateDefinition<ManifestsConfig> = {
  name: 'manifests',
  title: 'Manifests valid',
  prepare(raw, source) {
    const entries = stringList(raw, 'files', source);
    if (entries.length === 0) throw configError(source, 'files', 'names no manifest', 'k8s/');
    let files: string[];
    try {
      files = manifestFiles(entries, source.workspace);
    } catch (error) {
      throw configError(source, 'files', (error as Error).message.replace(/^Input 'manifests': /, ''));
    }
    return { files, dryRun: optionalBoolean(raw, 'dry-run', source), workspace: source.workspace };
  },
  async run(config, ctx) {
    const annotations: Annotation[] = [];
    const parsed = read(config, annotations);
    // Objects of kinds with no offline schema, by `apiVersion/kind` (custom resources, and the built-in kinds
    // outside OFFLINE_KINDS): only a server dry-run checks them.
    const unchecked = new Map<string, number>();
    for (const item of parsed) {
      const validate = await validatorFor(item.object.apiVersion!, item.object.kind!);
      if (validate === undefined) {
        const kind = `${item.object.apiVersion}/${item.object.kind}`;
        unchecked.set(kind, (unchecked.get(kind) ?? 0) + 1);
        continue;
      }
      if (validate(item.object)) continue;
      for (const error of validate.errors ?? []) {
        const where = position(item, error.instancePath);
        const { field, problem } = describeError(error);
        annotations.push({
          file: item.file,
          ...where,
          message: `${item.object.kind} ${item.object.metadata?.name ?? ''}: ${field} ${problem}`,
        });
      }
    }
    const offlineProblems = annotations.length;
    const useCluster = config.dryRun ?? ctx.hasCluster;
    let dryRuns = 0;
    if (useCluster && offlineProblems === 0) {
      const namespace = await ctx.namespace();
      const answers = await Promise.all(parsed.map((item) => dryRun(item, ctx, namespace)));
      answers.forEach((answer, i) => {
        dryRuns++;
        if (answer !== undefined)
          annotations.push({ file: parsed[i]!.file, line: parsed[i]!.line, message: `dry-run: ${answer}` });
      });
    }
    const how = `${offlineProblems === 0 && useCluster ? 'schema + server dry-run' : 'schema'}`;
    const uncheckedCount = [...unchecked.values()].reduce((sum, n) => sum + n, 0);
    const kinds = [...unchecked].map(([kind, n]) => (n > 1 ? `${kind} ×${n}` : kind)).join(', ');
    const note =
      uncheckedCount === 0
        ? ''
        : useCluster
          ? `; ${uncheckedCount} object(s) of kinds with no offline schema (${kinds}) were checked by the server's dry-run only`
          : `; ${uncheckedCount} object(s) NOT validated: no offline schema for ${kinds} (offline schemas cover ${OFFLINE_KINDS.length} built-in kinds; give a cluster for a server dry-run)`;
    return {
      // Objects nobody validated are a warning, not a silent pass.
      status: annotations.length > 0 ? 'fail' : uncheckedCount > 0 && !useCluster ? 'warn' : 'pass',
      value: `${annotations.length} error(s) in ${parsed.length} object(s)`,
      limit: `valid (${how})`,
      message:
        annotations.length > 0
          ? annotations
              .slice(0, 5)
              .map((a) => `${a.file}:${a.line}: ${a.message}`)
              .join('; ') + (annotations.length > 5 ? ' …' : '')
          : `${uncheckedCount > 0 && !useCluster ? `${parsed.length - uncheckedCount} of ` : ''}${parsed.length} object(s) in ${config.files.length} file(s) valid (${how}${dryRuns > 0 ? `, ${dryRuns} dry-runs` : ''})${note}`,
      annotations,
      details: {
        files: config.files.map((f) => relative(config.workspace, f)),
        objects: parsed.length,
        errors: annotations,
        withoutOfflineSchema: Object.fromEntries(unchecked),
      },
    };
  },
};
