/**
 * Real git repositories in temp dirs for tests: commits with fixed dates and authors (deterministic),
 * tags, branches, merge commits and squash merges, the way GitHub writes them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Author {
  name: string;
  email: string;
}

export const ANN: Author = { name: 'Ann Lee', email: 'ann@example.com' };

export class TestRepo {
  readonly dir: string;
  private tick = 0;
  private counter = 0;

  constructor(prefix = 'git-repo-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.git('init', '--quiet', '--initial-branch=main');
  }

  /** Run git in the repository; returns stdout without the trailing newline. */
  git(...args: string[]): string {
    const date = `${1_700_000_000 + this.tick * 60} +0000`;
    return execFileSync('git', args, {
      cwd: this.dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
        GIT_AUTHOR_NAME: ANN.name,
        GIT_AUTHOR_EMAIL: ANN.email,
        GIT_COMMITTER_NAME: 'CI',
        GIT_COMMITTER_EMAIL: 'ci@example.com',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: this.dir,
      },
    }).replace(/\n$/, '');
  }

  write(path: string, content: string): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), content);
  }

  /** A commit changing `files` (default: a fresh file of its own); returns its hash. */
  commit(message: string, options: { files?: string[]; author?: Author } = {}): string {
    this.tick++;
    const files = options.files ?? [`file-${++this.counter}.txt`];
    for (const file of files) this.write(file, `${message}\n${this.tick}\n`);
    this.git('add', '--', ...files);
    const author = options.author ?? ANN;
    this.git('commit', '--quiet', '--no-verify', `--author=${author.name} <${author.email}>`, '-m', message);
    return this.head();
  }

  head(): string {
    return this.git('rev-parse', 'HEAD');
  }

  tag(name: string, ref = 'HEAD'): void {
    this.git('tag', name, ref);
  }

  /** `git switch -c name` (or to an existing branch). */
  switch(branch: string, create = false): void {
    this.git('switch', '--quiet', ...(create ? ['-c'] : []), branch);
  }

  /** A pull request merged with a merge commit as GitHub writes it; returns the merge commit. */
  mergePullRequest(branch: string, number: number, title: string): string {
    this.tick++;
    this.git(
      'merge',
      '--quiet',
      '--no-ff',
      '-m',
      `Merge pull request #${number} from ann/${branch}\n\n${title}`,
      branch,
    );
    return this.head();
  }

  /** A pull request squash-merged as GitHub writes it: `title (#n)`, the branch commits' messages below. */
  squashPullRequest(number: number, title: string, options: { files?: string[]; author?: Author; body?: string } = {}) {
    return this.commit(`${title} (#${number})${options.body ? `\n\n${options.body}` : ''}`, options);
  }

  /**
   * Many commits on top of HEAD in one `git fast-import` (thousands a second): messages and authors only, no
   * file changes. Returns the new HEAD.
   */
  fastImport(commits: ReadonlyArray<{ message: string; author?: Author }>, start = 1_700_100_000): string {
    const parent = this.head();
    if (commits.length === 0) return parent;
    const lines: string[] = [];
    commits.forEach((commit, i) => {
      const author = commit.author ?? ANN;
      const when = `${start + i} +0000`;
      lines.push(
        'commit refs/heads/main',
        `author ${author.name} <${author.email}> ${when}`,
        `committer CI <ci@example.com> ${when}`,
      );
      lines.push(`data ${Buffer.byteLength(commit.message)}`, commit.message);
      if (i === 0) lines.push(`from ${parent}`);
      lines.push('');
    });
    execFileSync('git', ['fast-import', '--quiet', '--force'], { cwd: this.dir, input: `${lines.join('\n')}\n` });
    this.git('reset', '--quiet', '--hard', 'main');
    return this.head();
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
