/**
 * approvals: the pull request that produced the commit has at least `min` approving reviews (optionally
 * only from a team's members), every changed file with a code owner is approved by one of them, and no
 * reviewer's latest word is "changes requested".
 */
import type { GitHubApi } from '../github/api';
import { commitSha } from './checks';
import { type OwnerRule, ownersOf, readCodeowners } from './codeowners';
import { configError, optionalBoolean, optionalInteger, optionalString } from './config';
import { findPullRequest, type Review } from './pull-request';
import type { GateDefinition } from './types';

interface ApprovalsConfig {
  min: number;
  team: string | undefined;
  codeOwners: { file: string; rules: OwnerRule[] } | undefined;
  pullRequest: number | undefined;
  sha: string;
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
    const teams = new Map<string, Promise<Set<string>>>();
    const teamMembers = (team: string) => {
      const [org, slug] = team.replace(/^@/, '').split('/');
      if (!teams.has(team)) teams.set(team, logins(api, `/orgs/${org}/teams/${slug}/members`));
      return teams.get(team)!;
    };
    // The team's members are asked for while the pull request is (awaited below, or never needed).
    const team = config.team === undefined ? undefined : teamMembers(config.team);
    team?.catch(() => {});
    const found = await findPullRequest(api, {
      number: config.pullRequest,
      ref: ctx.env['GITHUB_REF'],
      sha: config.sha,
      files: config.codeOwners !== undefined,
    });
    const limit = `>= ${config.min}${config.team ? ` from ${config.team}` : ''}${config.codeOwners ? ', code owners' : ''}, no changes requested`;
    if (found === undefined) {
      return {
        status: 'fail',
        value: 'no pull request',
        limit,
        message: `No pull request produced ${config.sha.slice(0, 7)} (a direct push?)`,
      };
    }
    const { pull, reviews } = found;
    const latest = latestReviews(reviews);
    let approvers = [...latest].filter(([, state]) => state === 'APPROVED').map(([login]) => login);
    const blocking = [...latest].filter(([, state]) => state === 'CHANGES_REQUESTED').map(([login]) => login);
    if (team !== undefined) {
      const members = await team;
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
      for (const file of found.files ?? []) {
        const owners = ownersOf(config.codeOwners.rules, file).filter((owner) => owner.startsWith('@'));
        if (owners.length === 0) continue;
        let ok = false;
        for (const owner of owners) {
          if (owner.includes('/')) {
            const members = await teamMembers(owner);
            ok = [...approved].some((login) => members.has(login));
          } else ok = approved.has(owner.slice(1).toLowerCase());
          if (ok) break;
        }
        if (!ok) unapproved.push(`${file} (${owners.join(' ')})`);
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
