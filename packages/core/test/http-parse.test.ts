import { describe, expect, it } from 'vitest';
import { CheckSpecError, parseCheckSpec } from '../src/http/parse';

function parseError(text: string, options = {}): CheckSpecError {
  try {
    parseCheckSpec(text, { source: 'smoke.yml', ...options });
  } catch (error) {
    if (error instanceof CheckSpecError) return error;
    throw error;
  }
  throw new Error('expected the spec to be refused');
}

describe('parseCheckSpec', () => {
  it('reads a full spec: targets, headers, bodies, statuses, assertions, captures, retries', () => {
    const spec = parseCheckSpec(
      `
defaults: { retries: 30, retry-interval: 10s, concurrency: 2 }
checks:
  - name: login
    request:
      method: post
      url: https://api.example.com/login
      json: { user: bot, password: hunter2 }
    expect: { status: [200, 201] }
    capture: { token: $.access_token, session: { header: set-cookie } }
  - name: me
    request:
      url: https://api.example.com/me?x=1
      headers: { authorization: "Bearer {{ token }}" }
    expect:
      status: 2xx
      latency-below: 500ms
      json:
        - { path: $.user.name, equals: bot }
        - { path: "$.roles", contains: admin }
        - { path: $.version, matches: ^v1\\. }
        - { path: "$.items[0].count", greater-than: 0, less-than: 10 }
      headers:
        content-type: { contains: json }
        x-request-id: { exists: true }
      body: { contains: bot }
    retries: 3
    timeout: 1m
  - name: in-cluster
    request: { service: prod/web:http/healthz }
    redirects: false
    insecure: true
`,
      { source: 'smoke.yml' },
    );
    expect(spec.defaults).toEqual({ retries: 30, retryIntervalMs: 10_000, concurrency: 2 });
    const [login, me, cluster] = spec.checks;
    expect(login!.request.method).toBe('POST');
    expect(login!.request.body).toEqual({ kind: 'json', value: { user: 'bot', password: 'hunter2' } });
    expect(login!.expect.status).toEqual([
      { kind: 'exact', code: 200 },
      { kind: 'exact', code: 201 },
    ]);
    expect(login!.captures.map((c) => [c.name, c.from, c.subject])).toEqual([
      ['token', 'json', '$.access_token'],
      ['session', 'header', 'set-cookie'],
    ]);
    expect(me!.dependsOn).toEqual(['login']);
    expect(me!.uses).toEqual(['token']);
    expect(me!.retries).toBe(3);
    expect(me!.timeoutMs).toBe(60_000);
    expect(me!.expect.latencyBelowMs).toBe(500);
    expect(me!.expect.status).toEqual([{ kind: 'class', hundred: 2 }]);
    expect(me!.expect.assertions.map((a) => `${a.on} ${a.subject} ${a.operator}`)).toEqual([
      'json $.user.name equals',
      'json $.roles contains',
      'json $.version matches',
      'json $.items[0].count greater-than',
      'json $.items[0].count less-than',
      'header content-type contains',
      'header x-request-id exists',
      'body body contains',
    ]);
    expect(me!.expect.assertions[3]!.path).toEqual(['items', 0, 'count']);
    expect(cluster!.request.target).toEqual({
      kind: 'service',
      namespace: 'prod',
      service: 'web',
      port: 'http',
      path: '/healthz',
      scheme: 'http',
    });
    expect(cluster!.redirects).toEqual({ follow: false, max: 0 });
    expect(cluster!.tls.insecure).toBe(true);
    expect(cluster!.dependsOn).toEqual([]);
  });

  it('accepts a bare list of checks with defaults filled in', () => {
    const spec = parseCheckSpec('- request: { url: "http://localhost:8080/healthz" }');
    expect(spec.checks[0]!.name).toBe('check 1');
    expect(spec.checks[0]!.request.method).toBe('GET');
    expect(spec.checks[0]!.expect.status).toEqual([{ kind: 'class', hundred: 2 }]);
    expect(spec.checks[0]!.redirects).toEqual({ follow: true, max: 5 });
  });

  it('names line and column of an unknown key (a typo)', () => {
    const error = parseError(`- name: health
  request: { url: https://example.com/ }
  expected: { status: 200 }
`);
    expect(error.message).toContain("smoke.yml:3:3: check 'health' has an unknown key 'expected'");
    expect(error.message).toContain('known: name, request, expect');
    expect([error.line, error.column]).toEqual([3, 3]);
  });

  it('refuses an invalid status with its position and an example', () => {
    const error = parseError(`- name: health
  request: { url: https://example.com/ }
  expect:
    status: [200, 2x5]
`);
    expect(error.message).toMatch(
      /^smoke\.yml:4:19: check 'health': status must be a code 100-599 or a class like 2xx \(got "2x5"\)/,
    );
    expect(error.hint).toContain('2xx');
  });

  it('refuses an invalid regular expression in an assertion', () => {
    const error = parseError(`- name: version
  request: { url: https://example.com/version }
  expect:
    json:
      - path: $.version
        matches: "v1.(["
`);
    expect([error.line, error.column]).toEqual([6, 18]);
    expect(error.message).toContain('invalid regular expression');
  });

  it('refuses a comparison with a non-number and a broken JSON path', () => {
    expect(
      parseError(`- request: { url: https://example.com/ }
  expect: { json: [{ path: $.count, greater-than: many }] }`).message,
    ).toContain('smoke.yml:2:51: check 1: json $.count greater-than needs a number (got "many")');
    const path = parseError(`- request: { url: https://example.com/ }
  expect: { json: { "$.items[x]": 1 } }`);
    expect(path.message).toContain('JSON path "$.items[x]" cannot be read at "[x]"');
    expect(path.line).toBe(2);
  });

  it('refuses a template that no check captures', () => {
    const error = parseError(`- name: login
  request: { url: https://example.com/login, method: POST }
  capture: { token: $.token }
- name: me
  request:
    url: https://example.com/me
    headers: { authorization: "Bearer {{ tokn }}" }
`);
    expect(error.message).toContain(
      "smoke.yml:4:3: check 'me' uses {{ tokn }}, but no check captures it (known: token)",
    );
    // a variable the caller declares is fine
    expect(() =>
      parseCheckSpec('- request: { url: "https://example.com/{{ version }}" }', { variables: ['version'] }),
    ).not.toThrow();
  });

  it('refuses checks that wait for each other in a cycle', () => {
    const error = parseError(`- name: a
  request: { url: "https://example.com/{{ fromB }}" }
  capture: { fromA: $.x }
- name: b
  request: { url: "https://example.com/{{ fromA }}" }
  capture: { fromB: $.y }
`);
    expect(error.message).toContain('cycle: a → b → a');
  });

  it('reports YAML syntax errors with their position', () => {
    const error = parseError('- name: x\n  request: { url: https://example.com/\n');
    expect(error.message).toMatch(/^smoke\.yml:\d+:\d+: not valid YAML/);
  });

  it('checks request shapes: url or service, method, body on GET, service format', () => {
    expect(parseError('- request: { method: GET, url: "https://e.com/", json: { a: 1 } }').message).toContain(
      'a GET request cannot have a body',
    );
    expect(parseError('- request: { url: "ftp://e.com/" }').message).toContain('url must be an absolute http(s) URL');
    expect(parseError('- request: { url: "https://e.com/", service: "web:80/" }').message).toContain(
      'exactly one of url or service',
    );
    expect(parseError('- request: { service: "web/healthz" }').message).toContain(
      'service must look like name:port/path',
    );
    expect(parseError('- request: { method: FETCH, url: "https://e.com/" }').message).toContain(
      'method must be one of',
    );
    expect(parseError('- request: { url: "https://e.com/" }\n  retry-interval: 10').message).toContain(
      'retry-interval must be a duration with a unit',
    );
  });

  it('reads a CA file inside the workspace and refuses a missing one', () => {
    const workspace = new URL('./fixtures/tls/', import.meta.url).pathname;
    const spec = parseCheckSpec('- request: { url: "https://localhost/" }\n  ca: ca.pem', { workspace });
    expect(spec.checks[0]!.tls.ca).toContain('-----BEGIN CERTIFICATE-----');
    expect(parseError('- request: { url: "https://localhost/" }\n  ca: nope.pem', { workspace }).message).toContain(
      'cannot read ca file "nope.pem" (ENOENT)',
    );
    expect(
      parseError('- request: { url: "https://localhost/" }\n  ca: ../../../../../etc/passwd', { workspace }).message,
    ).toContain('must stay inside the workspace');
  });
});
