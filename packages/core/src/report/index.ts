/**
 * Job-summary building blocks: markdown tables, mermaid `xychart-beta` line
 * charts (GitHub renders mermaid in summaries), collapsible details, and the
 * JSON result document every action sets as its `result` output.
 */

export type Cell = string | number | boolean | null | undefined;
export type Align = 'left' | 'right' | 'center';

/** A cell's text: `|` would end the cell and a newline the row, so both are escaped. */
export function escapeCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

const RULE: Record<Align, string> = { left: ':---', right: '---:', center: ':---:' };

/** A GitHub-flavoured markdown table, ending with a newline. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  align?: readonly Align[],
): string {
  const line = (cells: readonly Cell[]) => `| ${headers.map((_, i) => escapeCell(cells[i])).join(' | ')} |`;
  const rule = `| ${headers.map((_, i) => (align?.[i] ? RULE[align[i]!] : '---')).join(' | ')} |`;
  return `${[line(headers), rule, ...rows.map(line)].join('\n')}\n`;
}

export interface ChartLine {
  /** Shown in the legend under the chart: xychart-beta draws no legend itself. */
  name?: string;
  values: readonly number[];
}

export interface LineChart {
  title?: string;
  xLabels: readonly (string | number)[];
  xTitle?: string;
  y?: { label?: string; min?: number; max?: number };
  lines: readonly ChartLine[];
}

/** A mermaid string literal: `"` would end it, so it becomes mermaid's `#quot;` entity. */
function quoted(text: string | number): string {
  return `"${String(text).replace(/"/g, '#quot;').replace(/\r?\n/g, ' ')}"`;
}

function numbers(values: readonly number[], name: string): string {
  for (const value of values) {
    if (!Number.isFinite(value))
      throw new RangeError(`chart line ${name} has a value that is not a finite number: ${value}`);
  }
  return `[${values.join(', ')}]`;
}

/** A mermaid `xychart-beta` line chart in a fenced block, plus a legend line when lines are named. */
export function lineChart(chart: LineChart): string {
  const rows = ['```mermaid', 'xychart-beta'];
  if (chart.title) rows.push(`    title ${quoted(chart.title)}`);
  const xTitle = chart.xTitle ? `${quoted(chart.xTitle)} ` : '';
  rows.push(`    x-axis ${xTitle}[${chart.xLabels.map(quoted).join(', ')}]`);
  const { label, min, max } = chart.y ?? {};
  if (label !== undefined || min !== undefined || max !== undefined) {
    const range = min !== undefined && max !== undefined ? ` ${min} --> ${max}` : '';
    rows.push(`    y-axis${label !== undefined ? ` ${quoted(label)}` : ''}${range}`.trimEnd());
  }
  chart.lines.forEach((line, index) => {
    rows.push(`    line ${numbers(line.values, line.name ?? String(index + 1))}`);
  });
  rows.push('```');
  let text = `${rows.join('\n')}\n`;
  if (chart.lines.some((line) => line.name)) {
    text += `\nLines, in order: ${chart.lines.map((line, i) => line.name ?? `line ${i + 1}`).join(', ')}\n`;
  }
  return text;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A collapsible section; blank lines around the body let markdown inside it render. */
export function details(summary: string, body: string, options: { open?: boolean } = {}): string {
  return `<details${options.open ? ' open' : ''}><summary>${escapeHtml(summary)}</summary>\n\n${body.trimEnd()}\n\n</details>\n`;
}

export interface ResultTimes {
  verdict: string;
  /** Epoch ms, Date or ISO text. */
  startedAt: number | Date | string;
  finishedAt: number | Date | string;
}

export type ResultDocument = { action: string; verdict: string; startedAt: string; finishedAt: string } & Record<
  string,
  unknown
>;

function iso(time: number | Date | string): string {
  return new Date(time).toISOString();
}

/** The `result` document: `action`, `verdict`, ISO `startedAt`/`finishedAt` first, then the action's own fields. */
export function resultDocument(action: string, fields: ResultTimes & Record<string, unknown>): ResultDocument {
  const { verdict, startedAt, finishedAt, ...rest } = fields;
  return { action, verdict, startedAt: iso(startedAt), finishedAt: iso(finishedAt), ...rest };
}
