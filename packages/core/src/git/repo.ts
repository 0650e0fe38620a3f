/**
 * One git working copy, driven through `git` with argument arrays. Errors say which command failed and what
 * git printed; callers turn a missing ref into a UserError naming their input.
 */
import { UserError } from '../errors';
import { execCommand } from '../exec';

export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface GitOptions {
  /** The working copy (or any folder inside it). */
  cwd: string;
  signal?: AbortSignal;
  /** Extra environment for every git call (merged over this process's). */
  env?: Record<string, string | undefined>;
  /** The git program (default `git` on PATH). */
  git?: string;
}

export class Git {
  /** Git processes started, for benchmarks and tests. */
  calls = 0;
  constructor(readonly options: GitOptions) {}

  private execOptions() {
    return {
      cwd: this.options.cwd,
      // Stable, locale-free output whatever the runner's configuration says.
      env: { ...process.env, ...this.options.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat' },
      silent: true,
    };
  }

  /** Run git; exit code and output as they are (an exit code other than 0 is not an error here). */
  async exec(args: readonly string[], onLine?: (line: string) => void) {
    this.calls++;
    try {
      return await execCommand(this.options.git ?? 'git', args, {
        ...this.execOptions(),
        ...(onLine ? { onLine } : {}),
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT') throw new Error(`git is not installed (or not on PATH): cannot run git ${args[0]}`);
      throw error;
    }
  }

  /** Run git and return its stdout; a non-zero exit is a GitError carrying git's own message. */
  async run(args: readonly string[]): Promise<string> {
    const result = await this.exec(args);
    if (result.exitCode !== 0) {
      const said = result.stderr.trim().split('\n').slice(-3).join(' ');
      throw new GitError(
        `git ${args.join(' ')} failed (exit ${result.exitCode}): ${said}`,
        args,
        result.exitCode,
        said,
      );
    }
    return result.stdout;
  }

  /** The commit a ref names (tag, branch, sha, `HEAD~2`), or undefined when there is no such commit. */
  async resolve(ref: string): Promise<string | undefined> {
    // `--end-of-options` keeps a ref that starts with `-` from being read as an option.
    const result = await this.exec(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  }

  /**
   * Whether this is a shallow clone (actions/checkout's default `fetch-depth: 1`): history and tags are cut.
   * A folder that is no git repository at all is a UserError that says how to check one out.
   */
  async isShallow(): Promise<boolean> {
    const result = await this.exec(['rev-parse', '--is-shallow-repository']);
    if (result.exitCode !== 0 && /not a git repository/i.test(result.stderr)) {
      throw new UserError(`${this.options.cwd} is not a git repository: there is no history to read`, {
        hint: 'check the repository out first:\n  - uses: actions/checkout@v4\n    with: { fetch-depth: 0 }',
      });
    }
    if (result.exitCode !== 0)
      throw new GitError(`git rev-parse failed: ${result.stderr.trim()}`, [], result.exitCode, result.stderr);
    return result.stdout.trim() === 'true';
  }

  /** Every tag name; `merged`: only tags reachable from that ref; `pointsAt`: only tags on that commit. */
  async tags(options: { merged?: string; pointsAt?: string } = {}): Promise<string[]> {
    const args = ['tag', '--list'];
    if (options.merged !== undefined) args.push('--merged', options.merged);
    if (options.pointsAt !== undefined) args.push('--points-at', options.pointsAt);
    return (await this.run(args)).split('\n').filter((line) => line !== '');
  }

  /** Whether `ancestor` is reachable from `descendant`. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await this.exec(['merge-base', '--is-ancestor', ancestor, descendant]);
    if (result.exitCode > 1)
      throw new GitError(`git merge-base failed: ${result.stderr.trim()}`, [], result.exitCode, result.stderr);
    return result.exitCode === 0;
  }
}
