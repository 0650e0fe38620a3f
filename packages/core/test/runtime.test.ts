import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { createGitHubRuntime, createMemoryRuntime, createTerminalRuntime } from '@deploy-actions/core/runtime';
import { describe, expect, it } from 'vitest';

/** Parse an environment file (GITHUB_OUTPUT / GITHUB_STATE) the way the runner does. */
function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const body: string[] = [];
    for (i++; lines[i] !== match[2]; i++) body.push(lines[i]!);
    values[match[1]!] = body.join('\n');
  }
  return values;
}

describe('createGitHubRuntime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-runtime-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const printed: string[] = [];
  const rt = createGitHubRuntime({
    env: {
      ...files,
      GITHUB_WORKSPACE: dir,
      'INPUT_NOTIFY-WEBHOOK': ' https://hooks.example/T1/B2/xyz ',
      INPUT_STEPS: '',
      STATE_lease: 'lease-42',
    },
    write: (text) => printed.push(text),
    handleSignals: false,
  });

  it('reads INPUT_* (trimmed, empty = not given) and STATE_*', () => {
    expect(rt.inputs.get('notify-webhook')).toBe('https://hooks.example/T1/B2/xyz');
    // raw keeps what surrounds the text (a separator such as sep-tags: ", ").
    expect(rt.inputs.raw?.('notify-webhook')).toBe(' https://hooks.example/T1/B2/xyz ');
    expect(rt.inputs.raw?.('steps')).toBeUndefined();
    expect(rt.inputs.get('steps')).toBeUndefined();
    expect(rt.inputs.get('missing')).toBeUndefined();
    expect(rt.state.get('lease')).toBe('lease-42');
    expect(rt.workspace).toBe(dir);
  });

  it('writes outputs and state as delimited blocks, redacted', async () => {
    rt.mask('postgres://app:hunter22@db/shop');
    rt.setOutput('weight', 25);
    rt.setOutput('analysis', { ok: true, note: 'db hunter22' });
    rt.setOutput('report', 'line 1\nline 2');
    rt.state.save('phase', 'canary');
    expect(parseEnvFile(readFileSync(files.GITHUB_OUTPUT, 'utf8'))).toEqual({
      weight: '25',
      analysis: '{"ok":true,"note":"db ***"}',
      report: 'line 1\nline 2',
    });
    expect(parseEnvFile(readFileSync(files.GITHUB_STATE, 'utf8'))).toEqual({ phase: 'canary' });
  });

  it('speaks workflow commands: add-mask, groups (one level), annotations with file and line, debug', async () => {
    printed.length = 0;
    rt.mask('s3cr3t-token');
    await rt.log.group('Canary 25%', async () => {
      rt.log.info('using s3cr3t-token');
      await rt.log.group('Analysis', async () => rt.log.debug('50% done'));
      rt.log.warning('slow: 3,2s', { file: 'deploy/web.yml', startLine: 12, startColumn: 3, title: 'Latency' });
    });
    rt.log.error('multi\nline');
    expect(printed.join('')).toBe(
      [
        '::add-mask::s3cr3t-token',
        // % is escaped as %25 (the runner decodes it), as @actions/core does.
        '::group::Canary 25%25',
        'using ***',
        'Analysis',
        '::debug::50%25 done',
        '::warning title=Latency,file=deploy/web.yml,line=12,col=3::slow: 3,2s',
        '::endgroup::',
        '::error::multi%0Aline',
        '',
      ].join('\n'),
    );
  });

  it('appends the summary to GITHUB_STEP_SUMMARY on flush, redacted', async () => {
    rt.summary.append('## Canary\n');
    rt.summary.append('password hunter22\n');
    expect(rt.summary.text()).toBe('## Canary\npassword hunter22\n');
    await rt.summary.flush();
    expect(readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')).toBe('## Canary\npassword ***\n');
    expect(rt.summary.text()).toBe('');
  });
});

describe('createTerminalRuntime', () => {
  function terminal(options: Partial<Parameters<typeof createTerminalRuntime>[0]> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const rt = createTerminalRuntime({
      args: { image: 'web:1.2', empty: '' },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      env: {},
      handleSignals: false,
      ...options,
    });
    return { rt, out, err };
  }

  it('prints readable lines: groups as headings with indented content, annotations with their place', async () => {
    const { rt, out, err } = terminal();
    expect(rt.inputs.get('image')).toBe('web:1.2');
    expect(rt.inputs.get('empty')).toBeUndefined();
    await rt.log.group('Preflight', async () => {
      rt.log.info('checks:\n- lease free');
      rt.log.debug('hidden without debug');
      rt.log.warning('quota at 91%', { file: 'k8s/quota.yml', startLine: 4 });
    });
    rt.log.error('failed', { title: 'smoke' });
    rt.setOutput('weight', 25);
    rt.setOutput('notes', 'a\nb');
    expect(out).toEqual(['== Preflight', '  checks:', '  - lease free', 'weight=25', 'notes<<EOF\na\nb\nEOF']);
    expect(err).toEqual(['  warning: quota at 91% (k8s/quota.yml:4)', 'error: smoke: failed']);
  });

  it('prints the summary at the end, or writes it to a file', async () => {
    const first = terminal({ debug: true });
    first.rt.log.debug('shown');
    first.rt.summary.append('| a |\n');
    await first.rt.summary.flush();
    expect(first.out).toEqual(['debug: shown', '\n| a |']);

    const file = join(mkdtempSync(join(tmpdir(), 'term-')), 'summary.md');
    const second = terminal({ summaryFile: file });
    second.rt.summary.append('# Done\n');
    await second.rt.summary.flush();
    expect(readFileSync(file, 'utf8')).toBe('# Done\n');
    expect(second.out).toEqual([]);
  });

  it('keeps state in a file between a main and a post run', () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'term-')), 'state.json');
    terminal({ stateFile }).rt.state.save('lease', 'held');
    expect(terminal({ stateFile }).rt.state.get('lease')).toBe('held');
  });

  it('redacts secrets in logs and outputs', () => {
    const { rt, out } = terminal();
    rt.mask('hunter22');
    rt.log.info('pw=hunter22');
    rt.setOutput('dsn', 'postgres://u:hunter22@db');
    expect(out).toEqual(['pw=***', 'dsn=postgres://u:***@db']);
  });
});

describe('createMemoryRuntime', () => {
  it('records logs, outputs, masks and the flushed summary, on a virtual clock', async () => {
    const clock = new VirtualClock(0);
    const rt = createMemoryRuntime({ inputs: { a: '1' }, clock, env: { X: 'y' } });
    rt.mask('tok-123456');
    await rt.log.group('G', async () => rt.log.info('tok-123456 ok'));
    rt.log.warning('w', { file: 'f', startLine: 1 });
    rt.setOutput('o', { tok: 'tok-123456' });
    rt.summary.append('s tok-123456\n');
    await rt.summary.flush();
    expect(rt.inputs.get('a')).toBe('1');
    expect(rt.clock.now()).toBe(0);
    expect(rt.env['X']).toBe('y');
    expect(rt.logs).toEqual([
      { level: 'group', message: 'G' },
      { level: 'info', message: '*** ok' },
      { level: 'warning', message: 'w', props: { file: 'f', startLine: 1 } },
    ]);
    expect(rt.outputs).toEqual({ o: '{"tok":"***"}' });
    expect(rt.masked).toEqual(['tok-123456']);
    expect(rt.flushedSummary).toBe('s ***\n');
    rt.abort(new Error('cancelled'));
    expect(rt.signal.aborted).toBe(true);
  });
});
