/**
 * bench/version: the next version on a generated repository with 100,000 commits and 5,000 release tags
 * (one every 20 commits, conventional messages) by build-tag's computeNextVersion, against what a workflow
 * runs without it, `git describe --tags --abbrev=0` plus `git log <tag>..HEAD`, on the same repository in the
 * same run, alternating who goes first. Both run as processes would: ours in-process (its git calls are
 * processes), the peer as its two git processes.
 *
 *   npx tsx bench/version/run.ts [commits=100000] [tags=5000] [rounds=5]
 */
import { execFileSync } from 'node:child_process';
import { computeNextVersion } from '../../packages/core/src/build-tag';
import { Git } from '../../packages/core/src/git';
import { TestRepo } from '../../packages/testkit/src/git-repo';
import { median, reportResult } from '../support';

const commits = Number(process.argv[2] ?? 100_000);
const tags = Number(process.argv[3] ?? 5_000);
const rounds = Number(process.argv[4] ?? 5);
const TYPES = ['feat', 'fix', 'chore', 'docs', 'perf', 'refactor', 'fix', 'test'];

function versionOf(index: number): string {
  return `v${Math.floor(index / 1000)}.${Math.floor(index / 100) % 10}.${index % 100}`;
}

/** One fast-import stream: `commits` commits on main, a lightweight tag every commits/tags commits, the last ones untagged. */
function generate(): TestRepo {
  const repo = new TestRepo('bench-version-');
  repo.commit('chore: init');
  const parent = repo.head();
  const every = Math.floor(commits / tags);
  const lines: string[] = [];
  let tagged = 0;
  for (let i = 1; i <= commits; i++) {
    const message = `${TYPES[i % TYPES.length]}: change ${i}${i % 997 === 0 ? '\n\nBREAKING CHANGE: api' : ''}`;
    lines.push(
      'commit refs/heads/main',
      `mark :${i}`,
      `author Ann <ann@example.com> ${1_700_000_000 + i} +0000`,
      `committer CI <ci@example.com> ${1_700_000_000 + i} +0000`,
    );
    lines.push(`data ${Buffer.byteLength(message)}`, message);
    if (i === 1) lines.push(`from ${parent}`);
    lines.push('');
    // Tag the first commit of every stretch of `every`, so the last stretch has untagged commits to bump from.
    if (i % every === 1 % every && tagged < tags) {
      lines.push(`reset refs/tags/${versionOf(tagged++)}`, `from :${i}`, '');
    }
  }
  execFileSync('git', ['fast-import', '--quiet', '--force'], {
    cwd: repo.dir,
    input: `${lines.join('\n')}\n`,
    maxBuffer: 1 << 30,
  });
  repo.git('reset', '--quiet', '--hard', 'main');
  repo.git('gc', '--quiet');
  console.log(`repository: ${commits} commits, ${tagged} tags (last ${versionOf(tagged - 1)}), in ${repo.dir}`);
  return repo;
}

async function ours(repo: TestRepo): Promise<{ ms: number; version: string; calls: number }> {
  const git = new Git({ cwd: repo.dir });
  const started = performance.now();
  const result = await computeNextVersion(git, { bump: 'auto' });
  return { ms: performance.now() - started, version: result.version, calls: git.calls };
}

function peer(repo: TestRepo): { ms: number; tag: string; messages: number } {
  const started = performance.now();
  const tag = execFileSync('git', ['describe', '--tags', '--abbrev=0'], { cwd: repo.dir, encoding: 'utf8' }).trim();
  const log = execFileSync('git', ['log', '--format=%B%x00', `${tag}..HEAD`], {
    cwd: repo.dir,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return { ms: performance.now() - started, tag, messages: log.split('\0').length - 1 };
}

const repo = generate();
try {
  const samples = { ours: [] as number[], peer: [] as number[] };
  let shown = '';
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const who of order) {
      if (who === 'ours') {
        const result = await ours(repo);
        samples.ours.push(result.ms);
        shown ||= `ours: ${result.version} (${result.calls} git processes)`;
      } else {
        const result = peer(repo);
        samples.peer.push(result.ms);
        if (!shown.includes('peer')) shown += `; peer: last tag ${result.tag}, ${result.messages} messages to read`;
      }
    }
  }
  const oursMs = median(samples.ours);
  const peerMs = median(samples.peer);
  console.log(shown);
  console.log(
    `next version, ${commits} commits / ${tags} tags: ours ${oursMs.toFixed(1)} ms | git describe + git log ${peerMs.toFixed(1)} ms | ratio ours/peer ${(oursMs / peerMs).toFixed(2)}x (target <= 1.0x)`,
  );
  reportResult({
    measure: `next version (${commits} commits, ${tags} tags)`,
    ours: `${oursMs.toFixed(1)} ms`,
    peer: `${peerMs.toFixed(1)} ms`,
    peerName: 'git describe --tags --abbrev=0 + git log',
    ratio: `${(oursMs / peerMs).toFixed(2)}x`,
    target: '<= 1.0x',
    met: oursMs / peerMs <= 1,
  });
} finally {
  repo.remove();
}
