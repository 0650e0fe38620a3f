import { details, escapeCell, lineChart, resultDocument, table } from '@deploy-actions/core/report';
import { describe, expect, it } from 'vitest';

describe('table', () => {
  it('builds a markdown table with alignment', () => {
    expect(
      table(
        ['step', 'weight', 'verdict'],
        [
          [1, '5%', 'pass'],
          [2, '25%', null],
        ],
        ['right', 'right', 'left'],
      ),
    ).toBe('| step | weight | verdict |\n| ---: | ---: | :--- |\n| 1 | 5% | pass |\n| 2 | 25% |  |\n');
  });

  it('escapes pipes, backslashes and newlines so a cell stays a cell', () => {
    expect(escapeCell('a|b')).toBe('a\\|b');
    expect(escapeCell('C:\\x')).toBe('C:\\\\x');
    expect(table(['query'], [['sum(rate(x[1m])) | on()\nline 2']])).toBe(
      '| query |\n| --- |\n| sum(rate(x[1m])) \\| on()<br>line 2 |\n',
    );
  });
});

describe('lineChart', () => {
  it('renders a mermaid xychart-beta with title, axes, several lines and a legend', () => {
    expect(
      lineChart({
        title: 'Error rate "canary" vs stable',
        xLabels: ['0m', '1m', '2m'],
        xTitle: 'time',
        y: { label: 'errors/s', min: 0, max: 0.05 },
        lines: [
          { name: 'canary', values: [0.01, 0.02, 0.015] },
          { name: 'stable', values: [0.01, 0.01, 0.011] },
        ],
      }),
    ).toBe(
      [
        '```mermaid',
        'xychart-beta',
        '    title "Error rate #quot;canary#quot; vs stable"',
        '    x-axis "time" ["0m", "1m", "2m"]',
        '    y-axis "errors/s" 0 --> 0.05',
        '    line [0.01, 0.02, 0.015]',
        '    line [0.01, 0.01, 0.011]',
        '```',
        '',
        'Lines, in order: canary, stable',
        '',
      ].join('\n'),
    );
  });

  it('leaves out what is not given', () => {
    expect(lineChart({ xLabels: [5, 25], lines: [{ values: [1, 2] }] })).toBe(
      '```mermaid\nxychart-beta\n    x-axis ["5", "25"]\n    line [1, 2]\n```\n',
    );
  });

  it('refuses values mermaid cannot draw', () => {
    expect(() => lineChart({ xLabels: ['a'], lines: [{ name: 'p99', values: [Number.NaN] }] })).toThrow(
      'chart line p99 has a value that is not a finite number: NaN',
    );
  });
});

describe('details', () => {
  it('wraps markdown in a collapsible section, escaping the summary', () => {
    expect(details('Logs <web>', '| a |\n| --- |\n| 1 |\n')).toBe(
      '<details><summary>Logs &lt;web&gt;</summary>\n\n| a |\n| --- |\n| 1 |\n\n</details>\n',
    );
    expect(details('x', 'y', { open: true })).toBe('<details open><summary>x</summary>\n\ny\n\n</details>\n');
  });
});

describe('resultDocument', () => {
  it('puts action, verdict and ISO times first, then the fields', () => {
    const document = resultDocument('smoke', {
      verdict: 'success',
      startedAt: Date.UTC(2026, 0, 1),
      finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 42)),
      passed: 3,
    });
    expect(JSON.stringify(document)).toBe(
      '{"action":"smoke","verdict":"success","startedAt":"2026-01-01T00:00:00.000Z","finishedAt":"2026-01-01T00:00:42.000Z","passed":3}',
    );
  });
});
