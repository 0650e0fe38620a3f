/**
 * bench/release-notes: notes for a generated repository's 50,000-commit range (squash-merged conventional
 * commits with scopes, bodies, breaking-change footers, co-authors, some malformed) by our release-notes and by
 * git-cliff 2.x (its npm package's native binary, default configuration) on the same repository in the same
 * run, alternating who goes first. Ours runs in-process (bundle start-up is bench/startup's number); git-cliff
 * as its process. Then the GitHub requests for the pull request details of 500 commits: our batched GraphQL vs
 * one REST call per commit (plus one per pull request for its reviews), against the same loopback server.
 *
 *   npx tsx bench/release-notes/run.ts [commits=50000] [rounds=3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FakeGitHub } from '../../actions/release-notes/test/github-fake';
import { GitHubApi } from '../../packages/core/src/github';
import { createReleaseNotes } from '../../packages/core/src/release-notes';
import { createMemoryRuntime } from '../../packages/core/src/runtime';
import { TestRepo } from '../../packages/testkit/src/git-repo';
import { median, reportResult, seconds } from '../support';

const commits = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 3);
/**
 * The peer's native binary, installed on first use into .tmp/peers (not a devDependency: git-cliff's npm
 * package lists a binary per platform as optional dependencies, which npm leaves out of a lock file written
 * on Linux, and `npm ci` then refuses the lock on every machine).
 */
const CLIFF_VERSION = '2.14.2';
const PEERS = join(import.meta.dirname, '../../.tmp/peers');
const CLIFF_PACKAGE = `git-cliff-${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
const CLIFF = join(PEERS, 'node_modules', CLIFF_PACKAGE, 'bin', 'git-cliff');

function installCliff(): void {
  if (existsSync(CLIFF)) return;
  console.log(`installing ${CLIFF_PACKAGE}@${CLIFF_VERSION} into ${PEERS} (the peer's binary, once)`);
  mkdirSync(PEERS, { recursive: true });
  const npm = spawnSync(
    'npm',
    ['install', '--prefix', PEERS, '--no-save', '--no-audit', '--no-fund', `${CLIFF_PACKAGE}@${CLIFF_VERSION}`],
    { stdio: 'inherit' },
  );
  if (npm.status !== 0 || !existsSync(CLIFF))
    throw new Error(`git-cliff's binary for this platform (${CLIFF_PACKAGE}) could not be installed into ${PEERS}`);
}

const TYPES = ['feat', 'fix', 'fix', 'chore', 'docs', 'perf', 'refactor', 'test', 'ci', 'build'];
const SCOPES = ['api', 'web', 'db', 'auth', 'orders', 'billing', ''];
const PEOPLE = [
  { name: 'Ann Lee', email: 'ann@example.com' },
  { name: 'Bo Chen', email: 'bo@example.com' },
  { name: 'Chidi Okafor', email: 'chidi@example.com' },
  { name: 'Dana Müller', email: 'dana@example.com' },
];

/** A deterministic message mix: 85% conventional (some breaking, some with bodies and trailers), 15% free text. */
function message(i: number): string {
  if (i % 7 === 3) return `Update things in module ${i % 97}\n\nSome free text about change ${i}.`;
  const type = TYPES[i % TYPES.length]!;
  const scope = SCOPES[i % SCOPES.length]!;
  const bang = i % 211 === 0 ? '!' : '';
  const header = `${type}${scope ? `(${scope})` : ''}${bang}: change number ${i} of the generated history (#${i})`;
  const body = i % 3 === 0 ? `\n\nWhy: the old behaviour broke case ${i}.\nIt now checks the input first.` : '';
  const footer = [
    i % 101 === 0 ? `BREAKING CHANGE: endpoint ${i % 13} returns 410` : '',
    i % 5 === 0 ? `Closes #${i - 1}` : '',
    i % 17 === 0 ? `Co-authored-by: ${PEOPLE[(i + 1) % 4]!.name} <${PEOPLE[(i + 1) % 4]!.email}>` : '',
  ].filter(Boolean);
  return `${header}${body}${footer.length ? `\n\n${footer.join('\n')}` : ''}`;
}

function generate(count: number): TestRepo {
  const repo = new TestRepo('bench-release-notes-');
  repo.commit('chore: init');
  repo.tag('v1.0.0');
  repo.fastImport(Array.from({ length: count }, (_, i) => ({ message: message(i + 1), author: PEOPLE[i % 4] })));
  return repo;
}

async function ours(repo: TestRepo): Promise<{ ms: number; changes: number }> {
  const rt = createMemoryRuntime({ workspace: repo.dir, env: { PATH: process.env.PATH ?? '' } });
  const started = performance.now();
  const result = await createReleaseNotes(rt, {
    cwd: repo.dir,
    to: 'HEAD',
    tag: 'v2.0.0',
    releaseConfig: '.github/release.yml',
    approvers: false,
    source: 'commits',
    notesFile: join(repo.dir, '..', `${repo.dir.split('/').pop()}-notes.md`),
    dryRun: false,
  });
  return { ms: performance.now() - started, changes: result.notes.changes };
}

function cliff(repo: TestRepo): { ms: number; bytes: number } {
  const out = join(repo.dir, '..', `${repo.dir.split('/').pop()}-cliff.md`);
  const started = performance.now();
  const run = spawnSync(CLIFF, ['v1.0.0..HEAD', '--tag', 'v2.0.0', '-o', out], { cwd: repo.dir, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`git-cliff failed: ${run.stderr}`);
  return { ms, bytes: statSync(out).size };
}

async function requestCounts(): Promise<void> {
  const repo = generate(0);
  const github = new FakeGitHub();
  await github.start();
  try {
    repo.fastImport(Array.from({ length: 500 }, (_, i) => ({ message: `feat: change ${i + 1} (#${i + 1})` })));
    const hashes = execFileSync('git', ['rev-list', 'v1.0.0..HEAD'], { cwd: repo.dir, encoding: 'utf8' })
      .trim()
      .split('\n');
    hashes.forEach((hash, i) => {
      github.pulls.set(hash, {
        number: i + 1,
        title: `feat: change ${i + 1}`,
        author: PEOPLE[i % 4]!.email.split('@')[0]!,
        labels: ['enhancement'],
        reviews: [{ login: 'reviewer', state: 'APPROVED', at: '2026-12-01T10:00:00Z' }],
      });
    });
    const env = {
      PATH: process.env.PATH ?? '',
      GITHUB_REPOSITORY: 'acme/api',
      GITHUB_API_URL: github.url,
      GITHUB_GRAPHQL_URL: `${github.url}/graphql`,
    };
    const rt = createMemoryRuntime({ workspace: repo.dir, env });
    const api = () => new GitHubApi(rt, { token: 'test-token', apiUrl: github.url, repository: 'acme/api' });
    let started = performance.now();
    await createReleaseNotes(rt, {
      cwd: repo.dir,
      to: 'HEAD',
      tag: 'v1.1.0',
      releaseConfig: '.github/release.yml',
      approvers: true,
      source: 'commits',
      github: { api: api(), repository: 'acme/api' },
      dryRun: true,
    });
    const oursMs = performance.now() - started;
    const oursCount = github.requests.length;
    const oursPullQueries = github.requests.filter((q) => q.body?.query?.includes('associatedPullRequests')).length;
    // The one-call-per-commit way: the commit's pull requests, then each pull request's reviews.
    github.requests.length = 0;
    const rest = api();
    started = performance.now();
    for (const hash of hashes) {
      const { data } = await rest.request<Array<{ number: number }>>('GET', `/repos/acme/api/commits/${hash}/pulls`);
      for (const pull of data) await rest.request('GET', `/repos/acme/api/pulls/${pull.number}/reviews`);
    }
    const restMs = performance.now() - started;
    const restCount = github.requests.length;
    reportResult({
      measure: 'GitHub requests for the pull request details of 500 commits',
      ours: `${oursCount} requests`,
      peer: `${restCount} requests`,
      peerName: 'one REST call per commit (+ reviews per pull request)',
      ratio: `${(oursCount / restCount).toFixed(3)}x`,
      target: '≤ 5 GraphQL queries for the pull requests',
      met: oursPullQueries <= 5,
    });
    console.log(
      `pull request details for 500 commits: ours ${oursCount} requests (GraphQL, ${seconds(oursMs)} for the whole run), REST per commit ${restCount} requests (${seconds(restMs)} on loopback) → ${(restCount / oursCount).toFixed(0)}x fewer requests`,
    );
  } finally {
    await github.stop();
    repo.remove();
  }
}

async function main() {
  installCliff();
  const started = performance.now();
  const repo = generate(commits);
  console.log(`generated ${commits} commits in ${seconds(performance.now() - started)} (${repo.dir})`);
  const samples = { ours: [] as number[], cliff: [] as number[] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const who of round % 2 === 0 ? ['ours', 'cliff'] : ['cliff', 'ours']) {
        if (who === 'ours') {
          const run = await ours(repo);
          samples.ours.push(run.ms);
          if (round === 0) console.log(`  ours: ${run.changes} changes listed`);
        } else {
          const run = cliff(repo);
          samples.cliff.push(run.ms);
          if (round === 0) console.log(`  git-cliff: ${run.bytes} bytes written`);
        }
      }
    }
    const o = median(samples.ours);
    const c = median(samples.cliff);
    reportResult({
      measure: `release notes for a ${commits}-commit range (wall time, median of ${rounds})`,
      ours: seconds(o),
      peer: seconds(c),
      peerName: 'git-cliff',
      ratio: `${(o / c).toFixed(2)}x`,
      target: '≤ 1.0x',
      met: o <= c,
    });
    console.log(
      `notes for ${commits} commits: ours ${seconds(o)} (${samples.ours.map((ms) => seconds(ms)).join(', ')}), git-cliff ${seconds(c)} (${samples.cliff.map((ms) => seconds(ms)).join(', ')}) → ours/git-cliff ${(o / c).toFixed(2)}x (target ≤ 1.0x)`,
    );
  } finally {
    repo.remove();
    rmSync(join(repo.dir, '..', `${repo.dir.split('/').pop()}-notes.md`), { force: true });
    rmSync(join(repo.dir, '..', `${repo.dir.split('/').pop()}-cliff.md`), { force: true });
  }
  await requestCounts();
}

await main();
