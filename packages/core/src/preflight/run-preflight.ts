/**
 * preflight: the runbook's pre-deployment checklist as gates. Every gate's configuration (policy file
 * section for the environment, then inputs) is checked before any gate runs; the gates then run at the same
 * time, each under its own timeout, and the step fails only when a required gate fails (never in an
 * emergency, which is recorded loudly instead).
 */
import { holdVirtualTime } from '../clock/quiescence';
import { InputError, UserError } from '../errors';
import { parseDuration } from '../inputs/scalars';
import { kubeSource } from '../kube/inputs';
import type { ActionOutcome } from '../runtime/action';
import type { Runtime } from '../runtime/port';
import { configError } from './config';
import { gateNames, gatesFromInputs, type PreflightInputValues } from './inputs';
import { loadPolicy } from './policy';
import { GATE_NAMES, GATES } from './registry';
import { runGates } from './runner';
import { counts, type Emergency, renderChecklist } from './summary';
import type { ConfigSource, GateContext, GateReport, PlannedGate } from './types';

export interface PreflightOptions {
  /** One gate after another (the benchmark's baseline). */
  sequential?: boolean;
}

/** Parse every gate's configuration; throws a UserError naming the input or the policy file's line. */
export async function planGates(
  rt: Runtime,
  values: PreflightInputValues,
): Promise<{ gates: PlannedGate[]; policy: string | undefined }> {
  const only = values.gates === undefined ? undefined : gateNames('gates', values.gates);
  const optional = gateNames('optional', values.optional);
  const policy = await loadPolicy(values.policy, rt.workspace, values.environment);
  const fromInputs = gatesFromInputs(values);
  const configured = new Set([...Object.keys(policy?.gates ?? {}), ...Object.keys(fromInputs)]);
  const names = GATE_NAMES.filter((name) => (only ? only.includes(name) : configured.has(name)));
  if (names.length === 0) {
    throw new UserError(
      `No gates to run: there is no ${values.policy ?? '.github/deploy-policy.yml'}${values.environment ? ` section for ${values.environment}` : ''} and no gate inputs`,
      {
        hint: `window: Mon-Thu 09:00-16:00 America/New_York, or a policy file (known gates: ${GATE_NAMES.join(', ')})`,
      },
    );
  }
  const defaultTimeout =
    (policy?.timeout !== undefined ? parseDuration(policy.timeout) : undefined) ?? values['gate-timeout'];
  if (defaultTimeout === 0)
    throw new UserError(`${policy!.file}: timeout must be at least 1s (got ${JSON.stringify(policy!.timeout)})`, {
      hint: 'timeout: 60s',
    });
  const now = rt.clock.now();
  const gates: PlannedGate[] = [];
  for (const name of names) {
    const definition = await GATES[name]();
    const input = fromInputs[name];
    const raw: Record<string, unknown> = { ...policy?.gates[name], ...input?.raw };
    if (name === 'metrics' && raw['prometheus'] === undefined) raw['prometheus'] = values['prometheus-address'];
    if (name === 'image')
      Object.assign(raw, { username: values['registry-username'], password: values['registry-password'] });
    if (name === 'checks' || name === 'approvals') raw['sha'] ??= values.sha;
    const inPolicy = policy?.paths[name];
    // A commit the gate does not name comes from the sha input (or GITHUB_SHA): errors about it name that input.
    const shaFromInput = (name === 'checks' || name === 'approvals') && policy?.gates[name]?.['sha'] === undefined;
    const inputs = { ...(shaFromInput ? { sha: 'sha' } : {}), ...input?.inputs };
    const source: ConfigSource = {
      origin: inPolicy ? policy!.file : `Input 'gates'`,
      path: inPolicy ?? name,
      workspace: rt.workspace,
      env: rt.env,
      now,
      ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
      ...(policy ? { locate: policy.locate } : {}),
    };
    const config = definition.prepare(raw, source);
    const ownTimeout = typeof raw['timeout'] === 'string' ? parseDuration(raw['timeout']) : undefined;
    // A zero timeout would fail every gate that waits on anything ("did not finish within 0s").
    if (ownTimeout === 0) throw configError(source, 'timeout', 'must be at least 1s', '30s');

    gates.push({
      name,
      title: definition.title,
      required: raw['required'] !== false && !optional.includes(name),
      timeoutMs: Math.max(ownTimeout ?? defaultTimeout, definition.defaultTimeoutMs?.(config) ?? 0),
      origin: inPolicy ? `${policy!.file} ${inPolicy}` : 'inputs',
      run: (ctx) => definition.run(config, ctx),
    });
  }
  return { gates, policy: policy?.file };
}

function gateContext(rt: Runtime, values: PreflightInputValues, modules: GitHubModules | undefined): GateContext {
  let kube: Promise<import('../kube/client').KubeClient> | undefined;
  let github: import('../github/api').GitHubApi | undefined;
  const connect = () => {
    kube ??= holdVirtualTime(import('../kube/client')).then(({ KubeClient }) =>
      KubeClient.connect(kubeSource(rt, values), { clock: rt.clock, signal: rt.signal }),
    );
    return kube;
  };
  return {
    clock: rt.clock,
    log: rt.log,
    signal: rt.signal,
    mask: (secret) => rt.mask(secret),
    workspace: rt.workspace,
    env: rt.env,
    hasCluster: values.kubeconfig !== undefined || (rt.env['KUBECONFIG'] ?? '') !== '',
    kube: connect,
    async namespace() {
      return values.namespace ?? (await connect()).contextNamespace ?? 'default';
    },
    github() {
      if (github === undefined) {
        const token = values.token;
        if (token === undefined || token.trim() === '') {
          throw new UserError('The checks and approvals gates need a GitHub token (input token)', {
            hint: 'token: ${{ github.token }} with permissions checks: read, statuses: read, pull-requests: read',
          });
        }
        if (modules === undefined) throw new Error('the GitHub client was not loaded');
        const context = modules.githubContext(rt.env);
        github = new modules.GitHubApi(rt, {
          token,
          apiUrl: context.apiUrl,
          graphqlUrl: context.graphqlUrl,
          repository: context.repository,
        });
      }
      return github;
    },
  };
}

interface GitHubModules {
  GitHubApi: typeof import('../github/api').GitHubApi;
  githubContext: typeof import('../github/context').githubContext;
}

/** Loaded only when a GitHub gate runs. */
async function loadGitHub(): Promise<GitHubModules> {
  const [{ GitHubApi }, { githubContext }] = await holdVirtualTime(
    Promise.all([import('../github/api'), import('../github/context')]),
  );
  return { GitHubApi, githubContext };
}

async function recordEmergency(
  rt: Runtime,
  values: PreflightInputValues,
  emergency: Emergency,
  reports: readonly GateReport[],
): Promise<void> {
  if (values['dry-run'] === true) return;
  if (values.environment === undefined || values.token === undefined) {
    rt.log.warning('Emergency mode: no GitHub Deployment status was written (give environment and token to record it)');
    return;
  }
  const [{ createDeploymentRecorder }, { githubContext }] = await holdVirtualTime(
    Promise.all([import('../github/deployments'), import('../github/context')]),
  );
  const context = githubContext(rt.env);
  const recorder = createDeploymentRecorder(rt, values.token, { context });
  const description = `EMERGENCY: ${emergency.reason} (approved by ${emergency.approvedBy})`;
  const record = await recorder.start({
    environment: values.environment,
    sha: values.sha ?? rt.env['GITHUB_SHA'],
    task: 'deploy:emergency',
    description,
    payload: {
      emergency: {
        reason: emergency.reason,
        approvedBy: emergency.approvedBy,
        overridden: emergency.overridden,
        gates: Object.fromEntries(reports.map((r) => [r.name, r.original])),
      },
    },
  });
  emergency.deployment = { id: record.id, url: record.historyUrl };
  // This Deployment records the override; the release itself is recorded by the steps that deploy it. Left
  // `in_progress` it would show as a deployment under way forever; `inactive` ends it without a verdict, so
  // rollback never takes it for a release (success) nor a bad one (failure).
  await recorder.api.request(
    'POST',
    `/repos/${encodeURIComponent(context.owner)}/${encodeURIComponent(context.repo)}/deployments/${record.id}/statuses`,
    {
      body: {
        state: 'inactive',
        description: record.description ?? description,
        ...(context.runUrl !== undefined ? { log_url: context.runUrl } : {}),
      },
      permission: 'deployments: write',
    },
  );
}

export async function runPreflight(
  rt: Runtime,
  values: PreflightInputValues,
  options: PreflightOptions = {},
): Promise<ActionOutcome> {
  if (values.emergency) {
    if (values.reason === undefined)
      throw new InputError(
        'reason',
        'is required when emergency is true',
        undefined,
        'INC-4711: payment outage, hotfix',
      );
    if (values['approved-by'] === undefined)
      throw new InputError('approved-by', 'is required when emergency is true', undefined, 'jane (security officer)');
  }
  const { gates, policy } = await planGates(rt, values);
  const modules = gates.some((gate) => gate.name === 'checks' || gate.name === 'approvals')
    ? await loadGitHub()
    : undefined;
  rt.log.info(
    `Preflight: ${gates.length} gate(s): ${gates.map((g) => `${g.name}${g.required ? '' : ' (optional)'}`).join(', ')}`,
  );

  const started = rt.clock.now();
  const reports = await runGates(gates, gateContext(rt, values, modules), {
    emergency: values.emergency,
    ...(options.sequential ? { sequential: true } : {}),
  });
  const wallMs = rt.clock.now() - started;

  let emergency: Emergency | undefined;
  if (values.emergency) {
    emergency = {
      reason: values.reason!,
      approvedBy: values['approved-by']!,
      overridden: reports.filter((r) => r.required && r.original === 'fail').map((r) => r.name),
    };
    rt.log.warning(
      `EMERGENCY DEPLOYMENT: ${emergency.overridden.length} required gate(s) failed and were let through (${emergency.overridden.join(', ') || 'none'}). Reason: ${emergency.reason}. Approved by: ${emergency.approvedBy}`,
      { title: 'preflight emergency mode' },
    );
    await recordEmergency(rt, values, emergency, reports).catch((error: unknown) => {
      rt.log.warning(`Emergency mode: the GitHub Deployment status could not be written: ${(error as Error).message}`);
    });
  }

  rt.summary.append(renderChecklist(reports, { environment: values.environment, policy, emergency, wallMs }));
  const { passed, warned, failed } = counts(reports);
  const failures = reports.filter((r) => r.status === 'fail');
  const outputs: Record<string, string | number> = { passed, failed, warned };
  for (const report of reports) outputs[report.name] = report.status;
  return {
    result: {
      verdict: failed > 0 ? 'failure' : 'success',
      environment: values.environment ?? null,
      policy: policy ?? null,
      wallMs,
      gates: reports.map(({ name, status, original, required, value, limit, message, link, durationMs, details }) => ({
        name,
        status,
        original,
        required,
        value,
        limit,
        message,
        link: link ?? null,
        durationMs,
        details: details ?? null,
      })),
      emergency: emergency ?? null,
    },
    outputs,
    ...(failures.length > 0
      ? {
          failure: `${failures.length} required gate(s) failed: ${failures.map((r) => `${r.name} (${r.message})`).join('; ')}`,
        }
      : {}),
  };
}
