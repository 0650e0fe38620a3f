import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError, execCommand, requireSuccess, TIMEOUT_EXIT_CODE } from '../src/exec';
import { createMemoryRuntime } from '../src/runtime';

const work = mkdtempSync(join(tmpdir(), 'exec-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A program that notes its pid, says it started, and sleeps until killed. */
const sleeper = () => script('sleeper', `echo $$ > "$1"\necho started\nexec sleep 60`);

describe('execCommand', () => {
  it('passes every argument literally, with no shell in between', async () => {
    const args = ['a b', '$(touch pwned)', '; rm -rf /', '"quoted"', '*'];
    const result = await execCommand('printf', ['%s\\n', ...args], { cwd: work, silent: true });
    expect(result).toEqual({ exitCode: 0, stdout: `${args.join('\n')}\n`, stderr: '' });
    expect(() => readFileSync(join(work, 'pwned'))).toThrow();
  });

  it('streams stdout and stderr to the log line by line, masked, and returns a non-zero exit code', async () => {
    const rt = createMemoryRuntime();
    rt.mask('s3cret-value');
    const program = script(
      'talk',
      'echo "token=s3cret-value"\necho "second line"\necho "failed: s3cret-value" >&2\nexit 3',
    );
    const lines: string[] = [];
    const result = await execCommand(program, ['--password', 's3cret-value'], {
      log: rt.log,
      mask: rt.redact,
      onLine: (line, stream) => lines.push(`${stream}: ${line}`),
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('token=s3cret-value\nsecond line\n');
    expect(result.stderr).toBe('failed: s3cret-value\n');
    expect(lines).toEqual(['stdout: token=s3cret-value', 'stdout: second line', 'stderr: failed: s3cret-value']);
    const logged = rt.lines('info');
    expect(logged).toEqual([`[command]${program} --password ***`, 'token=***', 'second line', 'failed: ***']);
    expect(JSON.stringify(rt.logs)).not.toContain('s3cret-value');
  });

  it('keeps the output out of the log when silent', async () => {
    const rt = createMemoryRuntime();
    const result = await execCommand('echo', ['quiet'], { log: rt.log, silent: true });
    expect(result.stdout).toBe('quiet\n');
    expect(rt.logs).toEqual([]);
  });

  it('writes input to the program and runs it in cwd with the given environment', async () => {
    const program = script('env-and-stdin', 'pwd\necho "$GREETING"\ncat');
    const result = await execCommand(program, [], {
      cwd: work,
      env: { PATH: process.env['PATH'], GREETING: 'hello' },
      input: 'from stdin\n',
      silent: true,
    });
    expect(result.stdout.split('\n')).toEqual([work, 'hello', 'from stdin', '']);
  });

  it("finds a bare program name on the given environment's PATH", async () => {
    const bin = mkdtempSync(join(work, 'bin-'));
    writeFileSync(join(bin, 'only-here'), '#!/bin/sh\necho found me\n', { mode: 0o755 });
    const result = await execCommand('only-here', [], { env: { PATH: `${bin}:/usr/bin:/bin` }, silent: true });
    expect(result.stdout).toBe('found me\n');
  });

  it('rejects with code ENOENT when the program does not exist', async () => {
    const error = await execCommand('no-such-program-anywhere', [], { silent: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOENT' });
    expect(String(error)).toContain('no-such-program-anywhere');
  });

  it('kills a program that outlives timeoutMs and reports it with exit code 124', async () => {
    const pidFile = join(work, 'timeout.pid');
    const result = await execCommand(sleeper(), [pidFile], { timeoutMs: 300, silent: true });
    expect(result.exitCode).toBe(TIMEOUT_EXIT_CODE);
    expect(result.stdout).toBe('started\n');
    expect(result.stderr).toContain('killed after 300 ms');
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('kills the program and rejects with the reason when the signal aborts', async () => {
    const pidFile = join(work, 'abort.pid');
    const controller = new AbortController();
    const reason = new Error('The run was cancelled (SIGTERM)');
    const error = await execCommand(sleeper(), [pidFile], {
      signal: controller.signal,
      silent: true,
      onLine: (line) => {
        if (line === 'started') controller.abort(reason);
      },
    }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('does not start the program when the signal is already aborted', async () => {
    const marker = join(work, 'should-not-exist');
    const controller = new AbortController();
    controller.abort(new Error('cancelled before'));
    await expect(execCommand('touch', [marker], { signal: controller.signal, silent: true })).rejects.toThrow(
      'cancelled before',
    );
    expect(() => readFileSync(marker)).toThrow();
  });

  it('a stoppable program keeps its exit code, stdin and output', async () => {
    const program = script('stoppable', 'cat\necho oops >&2\nexit 7');
    const result = await execCommand(program, [], {
      signal: new AbortController().signal,
      input: 'piped\n',
      silent: true,
    });
    expect(result).toEqual({ exitCode: 7, stdout: 'piped\n', stderr: 'oops\n' });
  });
});

describe('requireSuccess', () => {
  it('returns a zero exit and turns a non-zero one into an error with the exit code and the stderr tail', () => {
    const ok = { exitCode: 0, stdout: 'fine', stderr: '' };
    expect(requireSuccess('pg_restore', ok)).toBe(ok);
    const stderr = ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6', 'error: relation missing', ''].join(
      '\n',
    );
    const error = (() => {
      try {
        requireSuccess('pg_restore', { exitCode: 1, stdout: '', stderr });
      } catch (e) {
        return e;
      }
    })() as CommandError;
    expect(error).toBeInstanceOf(CommandError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('pg_restore exited with 1: line 3\nline 4\nline 5\nline 6\nerror: relation missing');
  });
});
