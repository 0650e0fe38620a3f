/**
 * The JSON Schema of `.github/deploy-policy.yml`, published as actions/preflight/deploy-policy.schema.json
 * (a test keeps the two equal) so editors complete and check the file.
 */

const duration = { $ref: '#/definitions/duration' };
const percentage = { $ref: '#/definitions/percentage' };
const names = { $ref: '#/definitions/names' };
const common = {
  required: {
    type: 'boolean',
    description: 'Fail the step when this gate fails (default true); false: a warning only.',
  },
  timeout: { ...duration, description: 'How long the gate may take (default 60s).' },
};

function gate(description: string, properties: Record<string, unknown>, required: string[] = [], extra: object = {}) {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    properties: { ...common, ...properties },
    ...(required.length > 0 ? { required } : {}),
    ...extra,
  };
}

const GATES = {
  checks: gate('Check runs and commit statuses on the commit are green (Checks and Statuses APIs).', {
    names: { ...names, description: 'Only these check runs / status contexts (default: all).' },
    wait: { ...duration, description: 'Wait up to this long for pending checks.' },
    sha: { type: 'string', description: 'The commit (default GITHUB_SHA).' },
  }),
  approvals: gate('The pull request that produced the commit has enough approving reviews and no changes requested.', {
    min: { type: 'integer', minimum: 0, description: 'Approving reviews needed (default 1).' },
    team: {
      type: 'string',
      pattern: '^[\\w.-]+/[\\w.-]+$',
      description: 'Count only members of this team (org/slug).',
    },
    'code-owners': {
      type: 'boolean',
      description: 'Every changed file with a code owner needs an approval from one of them.',
    },
    'pull-request': {
      type: 'integer',
      minimum: 1,
      description: 'The pull request (default: the one that produced the commit).',
    },
    sha: { type: 'string' },
  }),
  window: gate('Deployment windows and freezes in a time zone.', {
    allow: { ...names, description: 'Windows, e.g. "Mon-Thu 09:00-16:00 America/New_York", "02:00-06:00 UTC".' },
    freeze: {
      type: 'array',
      items: {
        oneOf: [
          { type: 'string', description: 'e.g. "2026-12-20..2027-01-02 Europe/Berlin (holidays)"' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['from'],
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              'time-zone': { type: 'string' },
              reason: { type: 'string' },
            },
          },
        ],
      },
    },
    'time-zone': { type: 'string', description: 'Time zone of freezes that name none.' },
  }),
  cluster: gate('Nodes Ready with no pressure; requested resources leave headroom.', {
    'min-headroom': { ...percentage, description: 'Allocatable CPU and memory not requested by pods (default 10%).' },
    selector: { type: 'string', description: 'Only nodes with these labels.' },
  }),
  workload: gate(
    'The Deployments now serving are healthy.',
    {
      deployments: { ...names, description: 'Deployment names.' },
      namespace: { type: 'string' },
      'max-restarts': { type: 'integer', minimum: 0, description: 'Container restarts allowed per pod (default 3).' },
    },
    ['deployments'],
  ),
  references: gate('Secrets and ConfigMaps the manifests or running Deployments reference exist.', {
    manifests: { ...names, description: 'Files, folders or globs.' },
    deployments: { ...names },
    namespace: { type: 'string' },
  }),
  backup: gate(
    'The latest backup is recent enough.',
    {
      'max-age': { ...duration, description: 'e.g. 24h' },
      namespace: { type: 'string' },
      'job-prefix': { type: 'string', description: 'Newest succeeded Job whose name starts with this.' },
      cronjob: { type: 'string', description: "A CronJob's last successful run." },
      file: { type: 'string', description: 'A backup file in the workspace (its modification time).' },
    },
    ['max-age'],
  ),
  metrics: gate(
    'Prometheus conditions in the analysis format canary-promote reads.',
    {
      prometheus: { type: 'string', description: 'Default Prometheus address.' },
      analysis: { type: 'array', items: { type: 'object' }, description: 'Metrics: name, query, max / min.' },
    },
    ['analysis'],
  ),
  security: gate(
    'Scanner reports have no findings at or above a severity.',
    {
      reports: { ...names, description: 'SARIF, Trivy JSON, Grype JSON or npm audit --json files.' },
      severity: { enum: ['low', 'medium', 'high', 'critical'], description: 'Default high.' },
      allow: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: {
            id: { type: 'string' },
            until: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}' },
            reason: { type: 'string' },
          },
        },
      },
    },
    ['reports'],
  ),
  coverage: gate(
    'Coverage from lcov, Cobertura XML or istanbul json-summary is at or above a threshold.',
    {
      report: { type: 'string' },
      min: { ...percentage, description: 'Default 80%.' },
      metric: { enum: ['lines', 'branches', 'statements', 'functions'] },
      format: { enum: ['lcov', 'cobertura', 'json-summary'] },
    },
    ['report'],
  ),
  url: gate('A URL answers healthy (the smoke check format).', {
    url: { type: 'string', pattern: '^https?://' },
    'expect-status': { oneOf: [{ type: 'integer' }, { type: 'string' }] },
    checks: { type: 'array', items: { type: 'object' }, description: 'Smoke checks, as the smoke action reads them.' },
  }),
  image: gate(
    'The image exists in its registry (manifest HEAD).',
    {
      image: { type: 'string', description: 'e.g. ghcr.io/acme/web:v1.2.0' },
    },
    ['image'],
  ),
  manifests: gate(
    'Kubernetes manifests parse and pass schema validation; server-side dry-run when a cluster is given.',
    {
      files: { ...names, description: 'Files, folders or globs.' },
      'dry-run': { type: 'boolean', description: 'Server-side dry-run (default: when a cluster is given).' },
    },
    ['files'],
  ),
};

export const GATE_NAMES = Object.keys(GATES) as Array<keyof typeof GATES>;

const definitions = {
  duration: { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$', description: 'e.g. 30s, 5m, 24h' },
  percentage: {
    oneOf: [
      { type: 'number', minimum: 0, maximum: 100 },
      { type: 'string', pattern: '^\\d+(\\.\\d+)?%?$' },
    ],
    description: 'e.g. 80%',
  },
  names: {
    oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }],
    description: 'A list, or comma-separated text.',
  },
  gates: { type: 'object', description: 'Gates by name.', additionalProperties: false, properties: GATES },
  section: {
    type: 'object',
    additionalProperties: false,
    properties: { timeout: duration, gates: { $ref: '#/definitions/gates' } },
  },
};

export const POLICY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/deploy-actions/deploy-actions/blob/main/actions/preflight/deploy-policy.schema.json',
  title: 'deploy-actions preflight policy (.github/deploy-policy.yml)',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    defaults: {
      $ref: '#/definitions/section',
      description: 'Gates for every environment; an environment section overrides them key by key.',
    },
    environments: {
      type: 'object',
      description: 'A section per GitHub environment (the environment input picks one).',
      additionalProperties: { $ref: '#/definitions/section' },
    },
  },
  definitions,
} as const;
