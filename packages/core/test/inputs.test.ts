import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@deploy-actions/core/errors';
import {
  boolean,
  defineInputs,
  duration,
  filePath,
  formatDuration,
  type InputReader,
  integer,
  keyValues,
  list,
  mapSource,
  numberList,
  percentage,
  readInput,
  string,
  structured,
} from '@deploy-actions/core/inputs';
import { describe, expect, expectTypeOf, it } from 'vitest';

const workspace = mkdtempSync(join(tmpdir(), 'inputs-ws-'));
const ctx = { workspace };

/** Read one value the way a schema does. */
function read<T>(reader: InputReader<T>, raw: string | undefined, name = 'x'): T | undefined {
  return readInput(name, reader, raw, ctx);
}

/** The InputError message for a bad value. */
function errorOf<T>(reader: InputReader<T>, raw: string | undefined, name = 'x'): string {
  try {
    read(reader, raw, name);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

describe('string', () => {
  it('trims, applies defaults, and treats empty as not given', () => {
    expect(read(string(), '  web ')).toBe('web');
    expect(read(string(), '')).toBeUndefined();
    expect(read(string({ default: 'default' }), undefined)).toBe('default');
    expect(read(string({ default: 'default' }), '')).toBe('default');
  });

  it('checks choices and names them in the error', () => {
    const strategy = string({ choices: ['canary', 'blue-green', 'rolling'] });
    expect(read(strategy, 'blue-green')).toBe('blue-green');
    expect(errorOf(strategy, 'bluegreen', 'strategy')).toBe(
      `Input 'strategy': must be one of canary, blue-green, rolling (got "bluegreen"). Example: strategy: canary`,
    );
  });

  it('says a required input is missing', () => {
    expect(errorOf(string({ required: true, example: 'web' }), undefined, 'deployments')).toBe(
      `Input 'deployments': is required (got nothing). Example: deployments: web`,
    );
  });

  it('never echoes a secret in an error', () => {
    const message = errorOf(string({ secret: true, pattern: /^https:/ }), 'http://hook/s3cr3t', 'notify-webhook');
    expect(message).not.toContain('s3cr3t');
    expect(message).toContain('(got "***")');
  });
});

describe('boolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    ['1', true],
    ['false', false],
    ['No', false],
    ['0', false],
  ])('%s → %s', (raw, value) => {
    expect(read(boolean(), raw)).toBe(value);
  });

  it('refuses anything else', () => {
    expect(errorOf(boolean(), 'maybe', 'dry-run')).toBe(
      `Input 'dry-run': must be true or false (yes/no and 1/0 work too) (got "maybe"). Example: dry-run: true`,
    );
  });
});

describe('integer', () => {
  it('reads whole numbers within range', () => {
    expect(read(integer({ min: 0, max: 10 }), '7')).toBe(7);
    expect(read(integer(), '-3')).toBe(-3);
  });

  it.each([
    ['3.5', 'must be a whole number'],
    ['ten', 'must be a whole number'],
    ['11', 'must be at most 10'],
    ['-1', 'must be at least 0'],
  ])('refuses %s', (raw, problem) => {
    expect(errorOf(integer({ min: 0, max: 10 }), raw, 'retries')).toContain(`Input 'retries': ${problem}`);
  });
});

describe('duration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['1d', 86_400_000],
    ['0', 0],
  ])('%s → %d ms', (raw, ms) => {
    expect(read(duration(), raw)).toBe(ms);
  });

  it('refuses words and bare numbers with an example', () => {
    expect(errorOf(duration(), '5 minutes', 'pause')).toBe(
      `Input 'pause': must be a number with a unit (ms, s, m, h, d), like 30s, 5m or 1h30m (got "5 minutes"). Example: pause: 5m`,
    );
    expect(errorOf(duration(), '30', 'pause')).toContain('must be a number with a unit');
    expect(errorOf(duration(), '5x', 'pause')).toContain('must be a number with a unit');
  });

  it('checks the range, shown as durations', () => {
    expect(errorOf(duration({ min: 1_000, max: 3_600_000 }), '2h', 'timeout')).toContain('must be at most 1h');
    expect(errorOf(duration({ min: 1_000 }), '10ms', 'timeout')).toContain('must be at least 1s');
  });

  it('formats milliseconds back to the shortest text', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('percentage', () => {
  it.each([
    ['5', 5],
    ['5%', 5],
    ['0.5%', 0.5],
    ['100', 100],
  ])('%s → %d', (raw, value) => {
    expect(read(percentage(), raw)).toBe(value);
  });

  it('refuses out-of-range and non-numbers', () => {
    expect(errorOf(percentage(), '150%', 'max-increase')).toBe(
      `Input 'max-increase': must be at most 100% (got "150%"). Example: max-increase: 5%`,
    );
    expect(errorOf(percentage(), 'five', 'max-increase')).toContain('must be a percentage like 5, 5% or 0.5%');
    expect(errorOf(percentage({ min: 1 }), '0.5', 'w')).toContain('must be at least 1%');
  });
});

describe('list and numberList', () => {
  it('splits on commas and newlines, trims, and drops empty items', () => {
    expect(read(list(), 'web, worker,\n\n  cron  ,')).toEqual(['web', 'worker', 'cron']);
  });

  it('reads canary steps', () => {
    const steps = numberList({ min: 0, max: 100, increasing: true });
    expect(read(steps, '5,25,50,100')).toEqual([5, 25, 50, 100]);
    expect(read(steps, '5%\n25%\n100%')).toEqual([5, 25, 100]);
  });

  it('refuses bad steps naming the bad item', () => {
    const steps = numberList({ min: 0, max: 100, increasing: true });
    expect(errorOf(steps, '5,abc,100', 'steps')).toBe(
      `Input 'steps': 'abc' is not a number (got "5,abc,100"). Example: steps: 5,25,50,100`,
    );
    expect(errorOf(steps, '50,25', 'steps')).toContain('must increase, but 25 follows 50');
    expect(errorOf(steps, '5,150', 'steps')).toContain('150 is above 100');
    expect(errorOf(steps, ',', 'steps')).toContain('needs at least one number');
  });
});

describe('keyValues', () => {
  it('keeps colons and later equals signs in the value', () => {
    expect(read(keyValues(), 'web=ghcr.io/acme/web:1.4.2\nsidecar = envoy:v1.30')).toEqual({
      web: 'ghcr.io/acme/web:1.4.2',
      sidecar: 'envoy:v1.30',
    });
    expect(read(keyValues(), 'a=1, b=x=y')).toEqual({ a: '1', b: 'x=y' });
  });

  it('keeps a comma that does not start a new pair', () => {
    expect(read(keyValues(), 'hosts=a.example,b.example, replicas=3')).toEqual({
      hosts: 'a.example,b.example',
      replicas: '3',
    });
  });

  it('refuses items without =, empty keys and duplicates', () => {
    expect(errorOf(keyValues(), 'web:1.4', 'images')).toBe(
      `Input 'images': 'web:1.4' is not key=value (got "web:1.4"). Example: images: web=ghcr.io/acme/web:1.4.2`,
    );
    expect(errorOf(keyValues(), '=nginx', 'images')).toContain(`'=nginx' has no key before =`);
    expect(errorOf(keyValues(), 'web=a\nweb=b', 'images')).toContain(`'web' is given twice`);
  });
});

describe('structured (YAML/JSON)', () => {
  it('parses inline YAML and JSON', () => {
    expect(read(structured(), '- name: health\n  url: https://x/healthz')).toEqual([
      { name: 'health', url: 'https://x/healthz' },
    ]);
    expect(read(structured(), '{"rate": 50, "duration": "30s"}')).toEqual({ rate: 50, duration: '30s' });
  });

  it('reads a file in the workspace', () => {
    writeFileSync(join(workspace, 'smoke.yml'), 'checks:\n  - url: https://x\n');
    expect(read(structured(), 'smoke.yml')).toEqual({ checks: [{ url: 'https://x' }] });
  });

  it('gives line and column of a parse error, and the file name', () => {
    expect(errorOf(structured(), 'checks:\n  - url: x\n    bad: [1, 2\n', 'spec')).toMatch(
      /^Input 'spec': is not valid YAML\/JSON at line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a \] \(got /,
    );
    writeFileSync(join(workspace, 'broken.json'), '{\n  "a": 1,\n  "b": [1, 2\n}\n');
    expect(errorOf(structured(), 'broken.json', 'spec')).toMatch(
      /is not valid YAML\/JSON in broken\.json at line 4, column 1: /,
    );
  });

  it('refuses a named file that is missing or outside the workspace', () => {
    expect(errorOf(structured(), 'missing.yml', 'spec')).toContain('names a file that does not exist in the workspace');
    expect(errorOf(structured(), '../../etc/passwd.yml', 'spec')).toContain('must stay inside the workspace');
  });

  it('runs a validator that can refuse the document', () => {
    const load = structured({
      validate: (doc, fail) => {
        if (typeof doc !== 'object' || doc === null || !('url' in doc)) return fail('needs a url', 'url: https://x');
        return doc as { url: string };
      },
    });
    expect(read(load, 'url: https://x')).toEqual({ url: 'https://x' });
    expect(errorOf(load, 'rate: 5', 'load')).toBe(
      `Input 'load': needs a url (got "rate: 5"). Example: load: url: https://x`,
    );
  });
});

describe('filePath', () => {
  mkdirSync(join(workspace, 'deploy'), { recursive: true });
  writeFileSync(join(workspace, 'deploy', 'values.yml'), 'a: 1\n');
  const outside = mkdtempSync(join(tmpdir(), 'inputs-outside-'));
  writeFileSync(join(outside, 'secret.txt'), 'no');
  symlinkSync(outside, join(workspace, 'escape'));

  it('resolves relative to the workspace', () => {
    expect(read(filePath(), 'deploy/values.yml')).toBe(join(workspace, 'deploy', 'values.yml'));
    expect(read(filePath(), './deploy/../deploy/values.yml')).toBe(join(workspace, 'deploy', 'values.yml'));
  });

  it('refuses .., absolute paths outside, and symlinks that lead out', () => {
    expect(errorOf(filePath(), '../etc/passwd', 'values-file')).toContain(
      `Input 'values-file': must stay inside the workspace`,
    );
    expect(errorOf(filePath(), '/etc/passwd', 'values-file')).toContain('must stay inside the workspace');
    expect(errorOf(filePath(), 'escape/secret.txt', 'values-file')).toContain(
      'leads outside the workspace through a symlink',
    );
  });

  it('refuses a missing file unless told not to', () => {
    expect(errorOf(filePath(), 'deploy/nope.yml', 'values-file')).toContain('no such file in the workspace');
    expect(read(filePath({ mustExist: false }), 'out/report.json')).toBe(join(workspace, 'out', 'report.json'));
  });
});

describe('defineInputs', () => {
  const schema = defineInputs({
    steps: numberList({ default: '5,25,50,100', increasing: true }),
    pause: duration({ default: '5m' }),
    strategy: string({ choices: ['canary', 'blue-green'] as const, default: 'canary' }),
    deployments: list({ required: true }),
    'dry-run': boolean({ default: 'false' }),
    'notify-webhook': string({ secret: true }),
  });

  it('lists names in declaration order and which are secret', () => {
    expect(schema.names).toEqual(['steps', 'pause', 'strategy', 'deployments', 'dry-run', 'notify-webhook']);
    expect(schema.secrets).toEqual(['notify-webhook']);
  });

  it('parses into a typed object with defaults applied', () => {
    const inputs = schema.parse(mapSource({ deployments: 'web', pause: '30s', 'dry-run': 'yes' }), ctx);
    expect(inputs).toEqual({
      steps: [5, 25, 50, 100],
      pause: 30_000,
      strategy: 'canary',
      deployments: ['web'],
      'dry-run': true,
      'notify-webhook': undefined,
    });
    expectTypeOf(inputs.pause).toEqualTypeOf<number>();
    expectTypeOf(inputs.strategy).toEqualTypeOf<'canary' | 'blue-green'>();
    expectTypeOf(inputs['notify-webhook']).toEqualTypeOf<string | undefined>();
    expectTypeOf(inputs.deployments).toEqualTypeOf<string[]>();
  });

  it('throws an InputError naming the first bad input', () => {
    expect(() => schema.parse(mapSource({ deployments: 'web', steps: '50,5', pause: 'soon' }), ctx)).toThrow(
      `Input 'steps': must increase, but 5 follows 50 (got "50,5"). Example: steps: 5,25,50,100`,
    );
    expect(() => schema.parse(mapSource({}), ctx)).toThrow(`Input 'deployments': is required`);
  });
});
