/**
 * Commits of a range, read from ONE `git log` process with a compact format (50,000 commits are one process
 * and a few MB, not 50,000 calls). The output is parsed whole, not line by line from execCommand's `onLine`:
 * @actions/exec decodes each chunk on its own for line listeners, which can split a UTF-8 character.
 */
import type { Git } from './repo';

export interface GitCommit {
  hash: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Author date, ISO 8601 with offset. */
  date: string;
  /** The full message (subject, blank line, body), without the trailing newline. */
  message: string;
}

export interface LogOptions {
  /** Only commits that touch these paths (git pathspecs), e.g. `services/api` in a monorepo. */
  paths?: readonly string[];
  /** Leave out merge commits. */
  noMerges?: boolean;
  /** Follow only the first parent of merges (the mainline). */
  firstParent?: boolean;
  /** At most this many commits. */
  max?: number;
}

// Record separator at the start of each commit, unit separator between fields; the message comes last
// because it is the only field that can span lines.
const START = '\x1e';
const FIELD = '\x1f';
const FORMAT = `${START}%H${FIELD}%P${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%B`;

/** A range as git spells it: `from..to`, or everything reachable from `to` when there is no `from`. */
export function rangeSpec(from: string | undefined, to: string): string {
  return from === undefined ? to : `${from}..${to}`;
}

function logArgs(format: string, range: string, options: LogOptions): string[] {
  const args = ['log', `--format=${format}`, '--no-color', '--encoding=UTF-8'];
  if (options.noMerges) args.push('--no-merges');
  if (options.firstParent) args.push('--first-parent');
  if (options.max !== undefined) args.push(`--max-count=${options.max}`);
  args.push('--end-of-options', range, '--');
  if (options.paths) args.push(...options.paths);
  return args;
}

/** Each commit of `range` (newest first, git's order) handed to `onCommit` as it is read. */
export async function streamCommits(
  git: Git,
  range: string,
  options: LogOptions,
  onCommit: (commit: GitCommit) => void,
): Promise<void> {
  let fields: string[] | undefined;
  let message: string[] = [];
  const flush = () => {
    if (fields === undefined) return;
    // %B ends with a newline; git adds one more between records.
    while (message.length > 0 && message[message.length - 1] === '') message.pop();
    onCommit({
      hash: fields[0]!,
      parents: fields[1] === '' ? [] : fields[1]!.split(' '),
      authorName: fields[2]!,
      authorEmail: fields[3]!,
      date: fields[4]!,
      message: message.join('\n'),
    });
    fields = undefined;
  };
  const output = await git.run(logArgs(FORMAT, range, options));
  for (const line of output.split('\n')) {
    if (line.startsWith(START)) {
      flush();
      const parts = line.slice(1).split(FIELD);
      fields = parts.slice(0, 5);
      message = [parts.slice(5).join(FIELD)];
    } else message.push(line);
  }
  flush();
}

/** The commits of `range`, newest first. */
export async function listCommits(git: Git, range: string, options: LogOptions = {}): Promise<GitCommit[]> {
  const commits: GitCommit[] = [];
  await streamCommits(git, range, options, (commit) => commits.push(commit));
  return commits;
}

/** Hashes of the commits of `range` (no messages: cheap), e.g. those that touch some paths. */
export async function listHashes(git: Git, range: string, options: LogOptions = {}): Promise<Set<string>> {
  const hashes = new Set<string>();
  for (const line of (await git.run(logArgs('%H', range, options))).split('\n')) if (line !== '') hashes.add(line);
  return hashes;
}
