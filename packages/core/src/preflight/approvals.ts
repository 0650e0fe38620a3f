/**
 * approvals: the pull request that produced the commit has at least `min` approving reviews (optionally
 * only from a team's members), every changed file with a code owner is approved by one of them, and no
 * reviewer's latest word is "changes requested".
 */
import type { GitHubApi } from '../github/api';
import { commitSha } from './checks';
import { type OwnerRule, ownersOf, readCodeowners } from './codeowners';
import { configError, optionalBoolean, optionalInteger, optionalString } from './config';
import type { GateDefinition } from './types';

interface ApprovalsConfig {
  min: number;
  team: string | undefined;
  codeOwners: { file: string; rules: OwnerRule[] } | undefined;
  pullRequest: number | undefined;
  sha: string;
}

interface PullRequest {
  number: number;
  html_url: string;
  state: string;
  merged_at?: string | null;
}
interface Review {
  user: { login: string } | null;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  submitted_at?: string;
}

/** The pull request of a `refs/pull/N/merge` run, or the one the commit came from. */
async function findPullRequest(
  api: GitHubApi,
  config: ApprovalsConfig,
  ref: string | undefined,
): Promise<PullRequest | undefined> {
  const fromRef = /^refs\/pull\/(\d+)\//.exec(ref ?? '')?.[1];
  const number = config.pullRequest ?? (fromRef === undefined ? undefined : Number(fromRef));
  if (number !== undefined) {
    return (
      await api.request<PullRequest>('GET', `/repos/${api.repository}/pulls/${number}`, {
        permission: 'pull-requests: read',
      })
    ).data;
  }
  const pulls: PullRequest[] = [];
  for await (const pull of api.paginate<PullRequest>(
    `/repos/${api.repository}/commits/${config.sha}/pulls`,
    { per_page: 100 },
    'pull-requests: read',
  ))
    pulls.push(pull);
  return pulls.find((p) => p.merged_at) ?? pulls[0];
}

/** Each reviewer's latest decisive review (comments do not change an approval; a dismissal clears it). */
export function latestReviews(reviews: readonly Review[]): Map<string, Review['state']> {
  const latest = new Map<string, Review['state']>();
  for (const review of reviews) {
    const login = review.user?.login;
    if (login === undefined || review.state === 'COMMENTED' || review.state === 'PENDING') continue;
    latest.set(login, review.state);
  }
  return latest;
}

async function logins(api: GitHubApi, path: string): Promise<Set<string>> {
  const members = new Set<string>();
  for await (const member of api.paginate<{ login: string }>(path, { per_page: 100 }, 'members: read (organization)'))
    members.add(member.login.toLowerCase());
  return members;
}

export const approvalsGate: GateDefinition<ApprovalsConfig> = {
  name: 'approvals',
  title: 'Pull request approvals',
  prepare(raw, source) {
    const wantsOwners = optionalBoolean(raw, 'code-owners', source) ?? false;
    const codeOwners = wantsOwners ? readCodeowners(source.workspace) : undefined;
    if (wantsOwners && codeOwners === undefined) {
      throw configError(
        source,
        'code-owners',
        'is true but there is no CODEOWNERS file (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS) in the workspace (check it out first)',
      );
    }
    return {
      min: optionalInteger(raw, 'min', source) ?? 1,
      team: optionalString(raw, 'team', source),
      codeOwners,
      pullRequest: optionalInteger(raw, 'pull-request', source, 1),
      sha: commitSha(raw, source),
    };
  },
  async run(config, ctx) {
    const api = ctx.github();
    const pull = await findPullRequest(api, config, ctx.env['GITHUB_REF']);
    const limit = `>= ${config.min}${config.team ? ` from ${config.team}` : ''}${config.codeOwners ? ', code owners' : ''}, no changes requested`;
    if (pull === undefined) {
      return {
        status: 'fail',
        value: 'no pull request',
        limit,
        message: `No pull request produced ${config.sha.slice(0, 7)} (a direct push?)`,
      };
    }
    const reviews: Review[] = [];
    for await (const review of api.paginate<Review>(
      `/repos/${api.repository}/pulls/${pull.number}/reviews`,
      { per_page: 100 },
      'pull-requests: read',
    ))
      reviews.push(review);
    const latest = latestReviews(reviews);
    let approvers = [...latest].filter(([, state]) => state === 'APPROVED').map(([login]) => login);
    const blocking = [...latest].filter(([, state]) => state === 'CHANGES_REQUESTED').map(([login]) => login);
    const teams = new Map<string, Promise<Set<string>>>();
    const teamMembers = (team: string) => {
      const [org, slug] = team.replace(/^@/, '').split('/');
      if (!teams.has(team)) teams.set(team, logins(api, `/orgs/${org}/teams/${slug}/members`));
      return teams.get(team)!;
    };
    if (config.team !== undefined) {
      const members = await teamMembers(config.team);
      approvers = approvers.filter((login) => members.has(login.toLowerCase()));
    }
    const problems: string[] = [];
    if (approvers.length < config.min)
      problems.push(
        `${approvers.length} approving review(s)${config.team ? ` from ${config.team}` : ''}, ${config.min} needed`,
      );
    if (blocking.length > 0) problems.push(`changes requested by ${blocking.join(', ')}`);
    if (config.codeOwners !== undefined) {
      const approved = new Set([...latest].filter(([, s]) => s === 'APPROVED').map(([login]) => login.toLowerCase()));
      const unapproved: string[] = [];
      for await (const file of api.paginate<{ filename: string }>(
        `/repos/${api.repository}/pulls/${pull.number}/files`,
        { per_page: 100 },
        'pull-requests: read',
      )) {
        const owners = ownersOf(config.codeOwners.rules, file.filename).filter((owner) => owner.startsWith('@'));
        if (owners.length === 0) continue;
        let ok = false;
        for (const owner of owners) {
          if (owner.includes('/')) {
            const members = await teamMembers(owner);
            ok = [...approved].some((login) => members.has(login));
          } else ok = approved.has(owner.slice(1).toLowerCase());
          if (ok) break;
        }
        if (!ok) unapproved.push(`${file.filename} (${owners.join(' ')})`);
      }
      if (unapproved.length > 0)
        problems.push(
          `no code owner approved ${unapproved.slice(0, 5).join(', ')}${unapproved.length > 5 ? ' …' : ''}`,
        );
    }
    return {
      status: problems.length === 0 ? 'pass' : 'fail',
      value: `${approvers.length} approval(s)`,
      limit,
      message:
        problems.length === 0
          ? `#${pull.number} approved by ${approvers.join(', ') || 'nobody needed'}`
          : `#${pull.number}: ${problems.join('; ')}`,
      link: pull.html_url,
      details: { pullRequest: pull.number, approvers, changesRequested: blocking },
    };
  },
};
