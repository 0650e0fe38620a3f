/**
 * Issue #17: a bad-input corpus for rollback. Every case must exit 1 with ONE error line naming the input,
 * and leave the cluster exactly as it was (Deployments, Services, ConfigMaps, Leases, Ingresses).
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: 'prod', controllers: 'bare', action: rollback });
  await c.app('shop', 'ghcr.io/acme/shop:1.0', { replicas: 2, progressDeadlineSeconds: 60 });
  await c.setImage('shop', 'app', 'ghcr.io/acme/shop:1.1');
});

afterAll(async () => {
  await c?.stop();
});

const HUGE = 'x'.repeat(100_000);

/** [what, inputs on top of `deployments: shop`, the input the error must name]. */
const CASES: Array<[string, Record<string, string>, string]> = [
  ['unknown mode', { mode: 'undo' }, 'mode'],
  ['mode with shell', { mode: 'image; reboot' }, 'mode'],
  ['to-revision 0', { 'to-revision': '0' }, 'to-revision'],
  ['to-revision negative', { 'to-revision': '-1' }, 'to-revision'],
  ['to-revision words', { 'to-revision': 'abc' }, 'to-revision'],
  ['to-revision 1e3', { 'to-revision': '1e3' }, 'to-revision'],
  ['to-revision huge', { 'to-revision': '99999999999999999999' }, 'to-revision'],
  ['to-version with spaces and bangs', { mode: 'image', 'to-version': 'bad tag!!' }, 'to-version'],
  ['to-version command substitution', { mode: 'image', 'to-version': '$(id)' }, 'to-version'],
  ['to-version backticks', { mode: 'image', 'to-version': '`reboot`' }, 'to-version'],
  ['to-version semicolon', { mode: 'image', 'to-version': 'v1;rm -rf /' }, 'to-version'],
  ['to-version a full reference', { mode: 'image', 'to-version': 'ghcr.io/acme/shop:1.0' }, 'to-version'],
  ['to-version starting with a dot', { mode: 'image', 'to-version': '.v1' }, 'to-version'],
  ['to-version 129 characters', { mode: 'image', 'to-version': 'v'.repeat(129) }, 'to-version'],
  ['to-version 100 KB', { mode: 'image', 'to-version': HUGE }, 'to-version'],
  ['to-version newline', { mode: 'image', 'to-version': 'v1\nv2' }, 'to-version'],
  ['to-version empty with mode image', { mode: 'image', 'to-version': '' }, 'to-version'],
  ['to-version in auto mode, bad', { 'to-version': 'v1.0=x' }, 'to-version'],
  [
    'to-version with mode github',
    { mode: 'github', environment: 'prod', token: 'ghp_corpus_token_0123', 'to-version': 'v1' },
    'to-version',
  ],
  ['github without environment', { mode: 'github', token: 'ghp_corpus_token_0123' }, 'environment'],
  ['app not a name', { app: 'Shop App' }, 'app'],
  ['app huge', { app: HUGE }, 'app'],
  ['staged: steps malformed YAML', { mode: 'staged', steps: '[{ weight: 5' }, 'steps'],
  ['staged: steps decreasing', { mode: 'staged', steps: '50,25' }, 'steps'],
  ['staged: steps words', { mode: 'staged', steps: 'all' }, 'steps'],
  ['staged: steps huge', { mode: 'staged', steps: HUGE }, 'steps'],
  ['staged: pause words', { mode: 'staged', pause: 'a while' }, 'pause'],
  ['staged: pauses beyond timeout', { mode: 'staged', pause: '25d' }, 'pause'],
  ['staged: router unknown', { mode: 'staged', router: 'traefik' }, 'router'],
  ['staged: router-config malformed', { mode: 'staged', 'router-config': '{ service: [' }, 'router-config'],
  ['staged: analysis malformed', { mode: 'staged', analysis: '[{ name: x' }, 'analysis'],
  ['staged: analysis-interval 0s', { mode: 'staged', 'analysis-interval': '0s' }, 'analysis-interval'],
  ['staged: to-version', { mode: 'staged', 'to-version': 'v1' }, 'to-version'],
  ['verify: bad url', { verify: '[{ name: x, request: { url: 42 } }]' }, 'verify'],
  ['verify: malformed YAML', { verify: '[{ name: x' }, 'verify'],
  ['database-restore without confirm', { 'database-restore': '{ pg-dump: x.dump }' }, 'confirm-database-restore'],
  ['confirm-database-restore not a boolean', { 'confirm-database-restore': 'perhaps' }, 'confirm-database-restore'],
  ['dry-run not a boolean', { 'dry-run': 'maybe' }, 'dry-run'],
  ['timeout words', { timeout: 'soon' }, 'timeout'],
  ['timeout 1ms', { timeout: '1ms' }, 'timeout'],
  ['notify-webhook not http', { 'notify-webhook': 'file:///etc/passwd' }, 'notify-webhook'],
];

describe('rollback bad-input corpus', () => {
  it.each(CASES)('%s: exit 1, one error line naming the input, nothing changed', async (_what, inputs, input) => {
    const before = c.snapshot();
    const run = await c.run({ deployments: 'shop', ...inputs });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`Input '${input}'`);
    expect(run.errors[0]!.length).toBeLessThan(2_000);
    expect(c.snapshot()).toEqual(before);
  });
});
