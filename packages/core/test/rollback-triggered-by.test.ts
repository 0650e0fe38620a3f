/** Who triggered a rollback: GitHub's actors first, then the local user, down to "local run" in a bare container. */
import { describe, expect, it } from 'vitest';
import { osUserName, triggeredBy } from '../src/rollback/triggered-by';

const nobody = () => undefined;

describe('triggeredBy', () => {
  it('names the GitHub actor, and the re-runner with the original actor, ahead of any local user', () => {
    expect(triggeredBy({ GITHUB_ACTOR: 'octocat', USER: 'alice' }, () => 'root')).toBe('octocat');
    expect(triggeredBy({ GITHUB_ACTOR: 'octocat', GITHUB_TRIGGERING_ACTOR: 'hubot', USER: 'alice' })).toBe(
      'hubot (re-running a run octocat started)',
    );
    expect(triggeredBy({ GITHUB_TRIGGERING_ACTOR: 'hubot' }, nobody)).toBe('hubot');
  });

  it('off GitHub, names USER, then LOGNAME, then the OS account', () => {
    expect(triggeredBy({ USER: 'alice', LOGNAME: 'bob' }, () => 'root')).toBe('alice (local run)');
    expect(triggeredBy({ GITHUB_ACTOR: '', USER: '', LOGNAME: 'bob' }, () => 'root')).toBe('bob (local run)');
    // A container that sets neither USER nor LOGNAME (this sandbox, many CI images).
    expect(triggeredBy({}, () => 'root')).toBe('root (local run)');
  });

  it('says "local run" when the process has no account name at all, rather than "unknown"', () => {
    expect(triggeredBy({}, nobody)).toBe('local run');
    expect(triggeredBy({ USER: '', LOGNAME: '' }, () => '')).toBe('local run');
  });

  it('on GitHub without an actor (never in practice) names nobody rather than the runner account', () => {
    expect(triggeredBy({ GITHUB_ACTIONS: 'true' }, () => 'runner')).toBeUndefined();
  });

  it('reads the OS account by default, and never throws for it', () => {
    expect(() => osUserName()).not.toThrow();
    const name = osUserName();
    expect(triggeredBy({})).toBe(name ? `${name} (local run)` : 'local run');
  });
});
