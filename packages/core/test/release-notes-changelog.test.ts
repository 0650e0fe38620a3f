/** CHANGELOG.md updates: the right position, idempotent, every other byte kept. */
import { updateChangelog } from '@deploy-actions/core/release-notes';
import { describe, expect, it } from 'vitest';

const KEEP = `# Changelog

All notable changes to this project will be documented in this file.

## [Unreleased]

- something not released yet

## [1.4.0] - 2026-11-01

### Added

- Orders API

## [1.3.0] - 2026-10-01

### Fixed

- Totals

[unreleased]: https://github.com/acme/api/compare/v1.4.0...HEAD
[1.4.0]: https://github.com/acme/api/compare/v1.3.0...v1.4.0
[1.3.0]: https://github.com/acme/api/releases/tag/v1.3.0
`;

const section = (version: string, body = '### Features\n\n- new thing') => ({
  version,
  date: '2026-12-07',
  body,
  compareUrl: `https://github.com/acme/api/compare/v1.4.0...v${version}`,
  tag: `v${version}`,
});

describe('updateChangelog', () => {
  it('puts the new version under Unreleased, adds its link, moves the Unreleased link; the rest is untouched', () => {
    const update = updateChangelog(KEEP, section('1.5.0'));
    expect(update.action).toBe('inserted');
    expect(update.line).toBe(9);
    const block = '## [1.5.0] - 2026-12-07\n\n### Features\n\n- new thing\n\n';
    const ref = '[1.5.0]: https://github.com/acme/api/compare/v1.4.0...v1.5.0\n';
    const expected = KEEP.replace('## [1.4.0]', `${block}## [1.4.0]`)
      .replace('[1.4.0]: https', `${ref}[1.4.0]: https`)
      .replace('compare/v1.4.0...HEAD', 'compare/v1.5.0...HEAD');
    expect(update.text).toBe(expected);
  });

  it('is idempotent: the same run again changes nothing, a new body replaces the section, never duplicates', () => {
    const once = updateChangelog(KEEP, section('1.5.0')).text;
    const again = updateChangelog(once, section('1.5.0'));
    expect(again.action).toBe('unchanged');
    expect(again.text).toBe(once);
    const changed = updateChangelog(once, section('1.5.0', '### Fixes\n\n- other'));
    expect(changed.action).toBe('replaced');
    expect(changed.text.match(/## \[1\.5\.0\]/g)).toHaveLength(1);
    expect(changed.text).toBe(once.replace('### Features\n\n- new thing', '### Fixes\n\n- other'));
  });

  it('a backport lands between the versions around it', () => {
    const update = updateChangelog(KEEP, section('1.3.5'));
    const lines = update.text.split('\n').filter((l) => l.startsWith('## '));
    expect(lines).toEqual([
      '## [Unreleased]',
      '## [1.4.0] - 2026-11-01',
      '## [1.3.5] - 2026-12-07',
      '## [1.3.0] - 2026-10-01',
    ]);
    expect(update.text).toContain('[1.4.0]: https://github.com/acme/api/compare/v1.3.0...v1.4.0\n[1.3.5]:');
    // The Unreleased link still starts at the newest release.
    expect(update.text).toContain('compare/v1.4.0...HEAD');
  });

  it('a file with no recognisable structure gets the section on top, the rest byte for byte', () => {
    const original = 'Some notes we keep by hand.\r\n\r\n* 2019: first version\r\n';
    const update = updateChangelog(original, section('1.0.0'));
    expect(update.unstructured).toBe(true);
    expect(update.text.endsWith(original)).toBe(true);
    expect(update.text.startsWith('## [1.0.0] - 2026-12-07\r\n\r\n### Features\r\n')).toBe(true);
  });

  it('ignores headings inside fenced code and reads `## v1.2.0` headings too', () => {
    const original = '# Changelog\n\n## v1.2.0\n\n```md\n## 9.9.9\n```\n';
    const update = updateChangelog(original, section('1.3.0'));
    expect(update.text).toBe(
      `# Changelog\n\n## [1.3.0] - 2026-12-07\n\n### Features\n\n- new thing\n\n## v1.2.0\n\n\`\`\`md\n## 9.9.9\n\`\`\`\n`,
    );
  });

  it('a header-only file gets its first version after the header', () => {
    const original = '# Changelog\n\nAll notable changes.\n';
    expect(updateChangelog(original, section('0.1.0')).text).toBe(
      `${original}\n## [0.1.0] - 2026-12-07\n\n### Features\n\n- new thing\n\n`,
    );
  });
});
