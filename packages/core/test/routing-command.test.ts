/**
 * The command router with a real program (node running a small script that
 * records the argv it received), and the router-config parser's errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, UserError } from '../src/errors';
import { execCommand } from '../src/exec';
import type { KubeClient } from '../src/kube/client';
import { createRouter, parseRouterConfig, parseRouterKind } from '../src/routing';
import { target } from './routing-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'routing-command-'));
const log = join(dir, 'calls.jsonl');
const script = join(dir, 'lb.mjs');
// Appends its argv as one JSON line; fails with a message on stderr when asked to.
writeFileSync(
  script,
  `import { appendFileSync } from 'node:fs';
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + '\\n');
if (args.includes('fail')) { console.error('listener rule not found: arn:aws:elb:rule/7'); process.exit(3); }
console.log('weight now ' + args.join(' '));
`,
);
const calls = (): string[][] =>
  readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

// The command router needs no Kubernetes access.
const client = {} as KubeClient;

function router(config: unknown) {
  return createRouter('command', parseRouterConfig('command', config), target, { client, exec: execCommand });
}

describe('command router', () => {
  it('runs set-weight per step with placeholders replaced inside each argument, never through a shell', async () => {
    writeFileSync(log, '');
    const command = router({
      'set-weight': [
        process.execPath,
        script,
        '--weight={{weight}}',
        '{{canary}}',
        '{{stable}}',
        '{{namespace}}',
        '$(rm -rf /); echo *',
      ],
      promote: [process.execPath, script, 'promote', '{{canary}}'],
      abort: [process.execPath, script, 'abort', '{{ stable }}'],
    });
    for (const weight of [5, 25, 50, 100]) {
      const state = await command.setWeight(weight);
      expect(state.actualWeight).toBe(weight);
      expect(state.detail).toContain(`weight now --weight=${weight} web-canary web prod $(rm -rf /); echo *`);
    }
    await command.promote();
    await command.abort();
    expect(calls()).toEqual([
      ...[5, 25, 50, 100].map((w) => [`--weight=${w}`, 'web-canary', 'web', 'prod', '$(rm -rf /); echo *']),
      ['promote', 'web-canary'],
      ['abort', 'web'],
    ]);
  });

  it('aborts from 25 with set-weight 0 when no abort command is given', async () => {
    writeFileSync(log, '');
    const command = router({ 'set-weight': [process.execPath, script, '{{weight}}'] });
    await command.setWeight(5);
    await command.setWeight(25);
    await command.abort();
    expect(calls()).toEqual([['5'], ['25'], ['0']]);
    expect(await command.plan(50)).toEqual([`run ${JSON.stringify([process.execPath, script, '50'])}`]);
  });

  it('turns a non-zero exit into a UserError with the tail of stderr', async () => {
    const command = router({ 'set-weight': [process.execPath, script, 'fail'] });
    const attempt = command.setWeight(5);
    await expect(attempt).rejects.toThrow(UserError);
    await expect(command.setWeight(5)).rejects.toThrow(
      `router-config 'set-weight' command ${JSON.stringify(process.execPath)} exited with 3: listener rule not found: arn:aws:elb:rule/7`,
    );
    await expect(router({ 'set-weight': [join(dir, 'no-such-tool')] }).setWeight(5)).rejects.toThrow(
      /router-config 'set-weight' command .*no-such-tool" could not run: spawn .* ENOENT/,
    );
  });
});

describe('parseRouterConfig', () => {
  it('reads every router kind with defaults', () => {
    expect(parseRouterConfig('replicas', undefined)).toEqual({ kind: 'replicas' });
    expect(parseRouterConfig('gateway-api', { 'http-route': 'web', rules: 'api' })).toEqual({
      kind: 'gateway-api',
      httpRoute: 'web',
      rules: ['api'],
      apiVersion: 'v1',
    });
    expect(parseRouterConfig('command', { 'set-weight': ['lb', 5], timeout: '30s' })).toEqual({
      kind: 'command',
      setWeight: ['lb', '5'],
      timeoutMs: 30_000,
    });
    expect(parseRouterKind(undefined)).toBe('replicas');
  });

  it('names the input, the field and an example for each mistake', () => {
    expect(() => parseRouterConfig('nginx', {})).toThrow(InputError);
    expect(() => parseRouterConfig('nginx', {})).toThrow(
      "Input 'router-config': field 'ingress' is required for router 'nginx' (got \"{}\"). Example: router-config: { ingress: web, stable-service: web, canary-service: web-canary }",
    );
    expect(() => parseRouterConfig('gateway-api', { httproute: 'web' })).toThrow(
      "unknown field 'httproute' (fields: http-route, rules, stable-service, canary-service, api-version)",
    );
    expect(() => parseRouterConfig('command', { 'set-weight': './lb.sh {{weight}}' })).toThrow(
      "Input 'router-config': field 'set-weight' must be an argument array, not a command line for router 'command' (got \"./lb.sh {{weight}}\")",
    );
    expect(() => parseRouterConfig('service', { 'active-service': 'Web_1' })).toThrow(
      "field 'active-service' must be a Kubernetes object name",
    );
    expect(() => parseRouterConfig('istio', { 'virtual-service': 'web', 'stable-subset': 'v1' })).toThrow(
      "fields 'stable-subset' and 'canary-subset' go together",
    );
    expect(() => parseRouterConfig('smi', { 'traffic-split': 'web', 'api-version': 'v1' })).toThrow(
      "field 'api-version' must be one of v1alpha2, v1alpha3, v1alpha4",
    );
    expect(() => parseRouterConfig('replicas', ['web'])).toThrow("must be a YAML mapping for router 'replicas'");
    expect(() => parseRouterKind('linkerd')).toThrow(
      'Input \'router\': must be one of replicas, service, nginx, gateway-api, istio, smi, command (got "linkerd"). Example: router: nginx',
    );
  });
});
