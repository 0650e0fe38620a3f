/** preflight's inputs: the policy file, the gates to run, shorthands for the common gates, and emergency mode. */
import { UserError } from '../errors';
import { boolean, duration, integer, list, string } from '../inputs';
import { GATE_NAMES } from './schema';

export const preflightInputs = {
  policy: string({ example: '.github/deploy-policy.yml' }),
  gates: list({ example: 'checks, approvals, window' }),
  optional: list({ example: 'coverage, metrics' }),
  'gate-timeout': duration({ default: '60s', min: 1000 }),
  sha: string({ pattern: /^[0-9a-f]{7,40}$/i, example: '3f2c1e0d' }),
  checks: list({ example: 'all' }),
  'checks-wait': duration({ example: '10m' }),
  approvals: integer({ min: 0, max: 100, example: '2' }),
  'approvals-team': string({ pattern: /^[\w.-]+\/[\w.-]+$/, example: 'acme/release-managers' }),
  window: string({ example: 'Mon-Thu 09:00-16:00 America/New_York' }),
  freeze: string({ example: '2026-12-20..2027-01-02 Europe/Berlin (holidays)' }),
  'coverage-report': string({ example: 'coverage/lcov.info' }),
  'coverage-min': string({ pattern: /^\d+(\.\d+)?%?$/, example: '80%' }),
  'security-reports': list({ example: 'trivy.json, results.sarif' }),
  'security-severity': string({ choices: ['low', 'medium', 'high', 'critical'], example: 'high' }),
  'security-allow': string({ example: 'CVE-2024-1234 until 2027-01-31 (no fix yet)' }),
  workload: list({ example: 'web, worker' }),
  url: string({ pattern: /^https?:\/\/\S+$/, example: 'https://staging.example.com/health' }),
  metrics: string({ example: '- { name: db-connections, query: sum(pg_stat_activity_count), max: 15 }' }),
  'prometheus-address': string({ pattern: /^https?:\/\/\S+$/, example: 'http://prometheus:9090' }),
  image: string({ example: 'ghcr.io/acme/web:v1.2.0' }),
  manifests: list({ example: 'k8s/' }),
  'registry-username': string({ example: 'ci-bot' }),
  'registry-password': string({ secret: true, example: '${{ secrets.REGISTRY_TOKEN }}' }),
  emergency: boolean({ default: 'false' }),
  reason: string({ example: 'INC-4711: payment outage, hotfix' }),
  'approved-by': string({ example: 'jane (security officer)' }),
};

export interface PreflightInputValues {
  policy?: string | undefined;
  gates?: string[] | undefined;
  optional?: string[] | undefined;
  'gate-timeout': number;
  sha?: string | undefined;
  checks?: string[] | undefined;
  'checks-wait'?: number | undefined;
  approvals?: number | undefined;
  'approvals-team'?: string | undefined;
  window?: string | undefined;
  freeze?: string | undefined;
  'coverage-report'?: string | undefined;
  'coverage-min'?: string | undefined;
  'security-reports'?: string[] | undefined;
  'security-severity'?: string | undefined;
  'security-allow'?: string | undefined;
  workload?: string[] | undefined;
  url?: string | undefined;
  metrics?: string | undefined;
  'prometheus-address'?: string | undefined;
  image?: string | undefined;
  manifests?: string[] | undefined;
  'registry-username'?: string | undefined;
  'registry-password'?: string | undefined;
  emergency: boolean;
  'dry-run'?: boolean | undefined;
  reason?: string | undefined;
  'approved-by'?: string | undefined;
  environment?: string | undefined;
  namespace?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  'oidc-audience'?: string | undefined;
  token?: string | undefined;
}

/** A list of gate names from an input, each checked. */
export function gateNames(input: string, names: readonly string[] | undefined): string[] {
  for (const name of names ?? []) {
    if (!(GATE_NAMES as string[]).includes(name)) {
      throw new UserError(`Input '${input}': unknown gate '${name}' (known gates: ${GATE_NAMES.join(', ')})`, {
        hint: `${input}: checks, approvals, window`,
      });
    }
  }
  return [...(names ?? [])];
}

/** Gate configurations the shorthand inputs give, with the input each key came from (for messages). */
export interface InputGate {
  raw: Record<string, unknown>;
  /** config key → the input it came from */
  inputs: Record<string, string>;
}

export function gatesFromInputs(values: PreflightInputValues): Record<string, InputGate> {
  const gates: Record<string, InputGate> = {};
  const add = (gate: string, input: string, raw: Record<string, unknown>) => {
    const keys = Object.fromEntries(Object.keys(raw).map((key) => [key, input]));
    gates[gate] = { raw: { ...gates[gate]?.raw, ...raw }, inputs: { ...gates[gate]?.inputs, ...keys } };
  };
  if (values.checks !== undefined) {
    const all = values.checks.length === 1 && values.checks[0] === 'all';
    add('checks', 'checks', all ? { names: [] } : { names: values.checks });
  }
  if (values['checks-wait'] !== undefined) add('checks', 'checks-wait', { wait: `${values['checks-wait']}ms` });
  if (values.approvals !== undefined) add('approvals', 'approvals', { min: values.approvals });
  if (values['approvals-team'] !== undefined) add('approvals', 'approvals-team', { team: values['approvals-team'] });
  if (values.window !== undefined) add('window', 'window', { allow: values.window });
  if (values.freeze !== undefined) add('window', 'freeze', { freeze: values.freeze });
  if (values['coverage-report'] !== undefined)
    add('coverage', 'coverage-report', { report: values['coverage-report'] });
  if (values['coverage-min'] !== undefined) add('coverage', 'coverage-min', { min: values['coverage-min'] });
  if (values['security-reports'] !== undefined)
    add('security', 'security-reports', { reports: values['security-reports'] });
  if (values['security-severity'] !== undefined)
    add('security', 'security-severity', { severity: values['security-severity'] });
  if (values['security-allow'] !== undefined) add('security', 'security-allow', { allow: values['security-allow'] });
  if (values.workload !== undefined) add('workload', 'workload', { deployments: values.workload });
  if (values.url !== undefined) add('url', 'url', { url: values.url });
  if (values.metrics !== undefined) add('metrics', 'metrics', { analysis: values.metrics });
  if (values.image !== undefined) add('image', 'image', { image: values.image });
  if (values.manifests !== undefined) add('manifests', 'manifests', { files: values.manifests });
  return gates;
}
