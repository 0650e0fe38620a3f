/**
 * What every job of one run shares, resolved once before the first job: the workspace, the
 * `github` and `inputs` contexts, the masker and the runner's log, the action.yml files read.
 */
import { resolve } from 'node:path';
import { Masker } from '@deploy-actions/core/mask';
import { type ActionManifest, readManifest, repoRoot } from '../manifest';
import type { Value } from './expressions';
import { type Workflow, WorkflowError } from './load';
import type { RunWorkflowOptions } from './types';

export interface RunContext {
  workflow: Workflow;
  options: RunWorkflowOptions;
  /** Where action.yml files are read. */
  root: string;
  masker: Masker;
  /** The runner's log, masked. */
  say: (line: string) => void;
  /** GITHUB_WORKSPACE, absolute. */
  workspace: string;
  /** The runner machine's environment. */
  baseEnv: Record<string, string | undefined>;
  inputs: Record<string, Value>;
  eventName: string;
  github: Record<string, Value>;
  /** An action.yml, read once per run. */
  manifestOf: (path: string) => Promise<ActionManifest>;
}

const GITHUB_DEFAULTS: Record<string, string> = {
  sha: '0000000000000000000000000000000000000000',
  ref: 'refs/heads/main',
  ref_name: 'main',
  actor: 'local',
  repository: 'local/repository',
  repository_owner: 'local',
  run_id: '1',
  run_number: '1',
  run_attempt: '1',
  server_url: 'https://github.com',
  api_url: 'https://api.github.com',
};

export function resolveRun(workflow: Workflow, options: RunWorkflowOptions): RunContext {
  const root = options.root ?? repoRoot();
  const masker = new Masker();
  for (const secret of Object.values(options.secrets ?? {})) masker.add(secret);
  // Absolute: the runner changes into it before each action, so a relative path would be read twice relative.
  const workspace = resolve(options.workspace ?? process.cwd());
  const inputs = dispatchInputs(workflow, options.inputs ?? {});
  const eventName = options.github?.['event_name'] ?? workflow.events[0] ?? 'push';
  return {
    workflow,
    options,
    root,
    masker,
    say: (line) => options.log?.(masker.redact(line)),
    workspace,
    baseEnv: options.env ?? { PATH: process.env.PATH, HOME: process.env.HOME },
    inputs,
    eventName,
    github: githubContext(workflow, options, { workspace, eventName, inputs }),
    manifestOf: manifestCache(),
  };
}

function githubContext(
  workflow: Workflow,
  options: RunWorkflowOptions,
  run: { workspace: string; eventName: string; inputs: Record<string, Value> },
): Record<string, Value> {
  const github: Record<string, Value> = {
    ...GITHUB_DEFAULTS,
    event_name: run.eventName,
    workflow: workflow.name,
    workspace: run.workspace,
    token: options.secrets?.['GITHUB_TOKEN'] ?? '',
    ...options.github,
    event: { inputs: run.inputs },
  };
  // As on GitHub: `tag` for a run on refs/tags/..., else `branch` (unless given).
  github['ref_type'] ??= String(github['ref']).startsWith('refs/tags/') ? 'tag' : 'branch';
  return github;
}

function manifestCache(): (path: string) => Promise<ActionManifest> {
  const manifests = new Map<string, ActionManifest>();
  return async (path) => {
    const known = manifests.get(path);
    if (known) return known;
    const manifest = await readManifest(path);
    manifests.set(path, manifest);
    return manifest;
  };
}

/** The `inputs` context of a workflow_dispatch run: given values, else defaults; required and choices checked. */
function dispatchInputs(workflow: Workflow, given: Record<string, string>): Record<string, Value> {
  const declared = workflow.dispatchInputs;
  const out: Record<string, Value> = {};
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(declared, name)) {
      const known = Object.keys(declared);
      throw new WorkflowError(
        `${workflow.file}: unknown workflow input "${name}"; ${known.length > 0 ? `inputs: ${known.join(', ')}` : 'the workflow declares no workflow_dispatch inputs'}`,
      );
    }
  }
  for (const [name, spec] of Object.entries(declared)) {
    const value = given[name] ?? (spec.default === undefined ? undefined : String(spec.default));
    if ((value === undefined || value === '') && spec.required) {
      throw new WorkflowError(
        `${workflow.file}: workflow input "${name}" is required (${spec.description ?? 'no description'}); pass it, e.g. --input ${name}=...`,
      );
    }
    if (
      value !== undefined &&
      spec.type === 'choice' &&
      Array.isArray(spec.options) &&
      !spec.options.map(String).includes(value)
    ) {
      throw new WorkflowError(
        `${workflow.file}: workflow input "${name}" is "${value}"; choose one of ${spec.options.join(', ')}`,
      );
    }
    // Booleans are real booleans in the inputs context; everything else a string.
    out[name] = spec.type === 'boolean' ? value === 'true' : (value ?? '');
  }
  return out;
}
