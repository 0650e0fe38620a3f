/** moment.js tokens in IANA zones for {{date}} and {{commit_date}}: across a DST switch and a year end (expected values checked with dayjs, except X: dayjs's timezone plugin shifts the instant by the offset; X is the real Unix time). */
import { formatDate } from '@deploy-actions/core/image-meta';
import { describe, expect, it } from 'vitest';

describe('formatDate', () => {
  it.each([
    ['2026-03-29T01:30:00Z', 'Europe/Paris', 'YYYY-MM-DDTHH:mm:ss.SSSZ', '2026-03-29T03:30:00.000+02:00'],
    ['2026-03-29T00:30:00Z', 'Europe/Paris', 'HH:mm ZZ', '01:30 +0100'],
    [
      '2026-03-29T01:30:00Z',
      'Europe/Paris',
      'dddd Do MMMM, h A, [week] W, Q, X',
      'Sunday 29th March, 3 AM, week 13, 1, 1774747800',
    ],
    [
      '2026-12-31T23:59:59.123Z',
      'Asia/Kolkata',
      'YY MMM D ddd dd HH:mm:ss SSS Z kk a',
      '27 Jan 1 Fri Fr 05:29:59 123 +05:30 05 am',
    ],
    ['2026-12-31T23:59:59.123Z', 'UTC', 'YYYYMMDD-HHmmss', '20261231-235959'],
    ['2026-01-01T00:00:00Z', 'America/Los_Angeles', 'YYYY.MM.DD [at] h:mm a', '2025.12.31 at 4:00 pm'],
  ])('%s in %s as %s', (iso, zone, format, expected) => {
    expect(formatDate(new Date(iso), format, zone)).toBe(expected);
  });

  it('an unknown zone is an error with an example', () => {
    expect(() => formatDate(new Date(0), 'YYYY', 'Europe/Atlantis')).toThrow('Unknown time zone "Europe/Atlantis"');
  });
});
