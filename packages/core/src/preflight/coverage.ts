/** coverage: line (or branch) coverage from lcov, Cobertura XML or istanbul json-summary, at or above a threshold. */
import { configError, optionalString, pct, percent, requiredString } from './config';
import { lineOfText, parseJsonReport, ReportError, type ReportFile, readReport } from './reports';
import type { GateDefinition } from './types';
import { readXmlRoot } from './xml';

export type CoverageFormat = 'lcov' | 'cobertura' | 'json-summary';
export type CoverageMetric = 'lines' | 'branches' | 'statements' | 'functions';

export interface Coverage {
  format: CoverageFormat;
  covered: number;
  total: number;
  /** Percent, 0-100 (100 when there is nothing to cover). */
  percent: number;
}

interface CoverageConfig {
  report: ReportFile;
  min: number;
  metric: CoverageMetric;
  coverage: Coverage;
}

export function detectFormat(report: ReportFile): CoverageFormat {
  const head = report.text.trimStart();
  if (head.startsWith('<')) return 'cobertura';
  if (head.startsWith('{')) return 'json-summary';
  return 'lcov';
}

const LCOV_KEYS: Record<CoverageMetric, [string, string]> = {
  lines: ['LF', 'LH'],
  branches: ['BRF', 'BRH'],
  functions: ['FNF', 'FNH'],
  statements: ['LF', 'LH'],
};

/** lcov tracefile (geninfo(1) format): TN/SF/FN/FNDA/FNF/FNH/DA/BRDA/BRF/BRH/LF/LH lines, records end with end_of_record. */
export function parseLcov(report: ReportFile, metric: CoverageMetric): Coverage {
  const [foundKey, hitKey] = LCOV_KEYS[metric];
  let total = 0;
  let covered = 0;
  let inRecord = false;
  const lines = report.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line === 'end_of_record') {
      if (!inRecord)
        throw new ReportError(report.shown, i + 1, 'end_of_record without a record (no SF: line before it)');
      inRecord = false;
      continue;
    }
    const match = /^([A-Z]+):(.*)$/.exec(line);
    if (!match)
      throw new ReportError(
        report.shown,
        i + 1,
        `is not an lcov line (KEY:value or end_of_record): ${JSON.stringify(line.slice(0, 60))}`,
      );
    const [, key, value] = match as unknown as [string, string, string];
    if (key === 'SF') inRecord = true;
    if (key === foundKey || key === hitKey) {
      if (!/^\d+$/.test(value.trim()))
        throw new ReportError(report.shown, i + 1, `${key} must be a count, got ${JSON.stringify(value)}`);
      if (key === foundKey) total += Number(value);
      else covered += Number(value);
    }
  }
  if (inRecord)
    throw new ReportError(report.shown, lines.length, 'the last record has no end_of_record (is the file cut short?)');
  return finish('lcov', covered, total);
}

/**
 * Cobertura XML (coverage-04.dtd), read whole so a broken file is named at its line: the root
 * `<coverage lines-covered=".." lines-valid=".." line-rate=".." branches-covered=".." branches-valid=".." branch-rate="..">`.
 * The counts when the writer gave them (coverage.py, istanbul, gcovr do), otherwise the rate.
 */
export function parseCobertura(report: ReportFile, metric: CoverageMetric): Coverage {
  const root = readXmlRoot(report);
  if (root.name !== 'coverage')
    throw new ReportError(
      report.shown,
      root.line,
      `the root element is <${root.name}>, not <coverage> (not a Cobertura report)`,
    );
  if (metric === 'functions')
    throw new ReportError(
      report.shown,
      root.line,
      'Cobertura reports have no function coverage: use metric lines or branches',
    );
  const kind = metric === 'branches' ? 'branches' : 'lines';
  const { attributes } = root;
  const covered = attributes[`${kind}-covered`];
  const valid = attributes[`${kind}-valid`];
  if (covered !== undefined && valid !== undefined) {
    if (!/^\d+$/.test(covered) || !/^\d+$/.test(valid) || Number(covered) > Number(valid))
      throw new ReportError(
        report.shown,
        root.line,
        `<coverage> ${kind}-covered="${covered}" of ${kind}-valid="${valid}" are not counts (whole numbers, covered <= valid)`,
      );
    return finish('cobertura', Number(covered), Number(valid));
  }
  const rateName = metric === 'branches' ? 'branch-rate' : 'line-rate';
  const rate = attributes[rateName];
  if (rate === undefined || !/^\d+(\.\d+)?$/.test(rate) || Number(rate) > 1) {
    throw new ReportError(
      report.shown,
      root.line,
      `<coverage> has no valid ${rateName} (got ${JSON.stringify(rate ?? null)}; a fraction from 0 to 1, e.g. ${rateName}="0.85")`,
    );
  }
  return { format: 'cobertura', covered: Number(rate), total: 1, percent: Number(rate) * 100 };
}

/** istanbul json-summary: `{ "total": { "lines": { "total", "covered", "skipped", "pct" }, ... }, "<file>": {...} }`. */
export function parseJsonSummary(report: ReportFile, metric: CoverageMetric): Coverage {
  const document = parseJsonReport(report, 'istanbul json-summary') as Record<string, unknown>;
  const total = (document?.['total'] as Record<string, unknown> | undefined)?.[metric] as
    | { total?: unknown; covered?: unknown }
    | undefined;
  if (typeof total?.total !== 'number' || typeof total.covered !== 'number') {
    throw new ReportError(
      report.shown,
      lineOfText(report, '"total"'),
      `has no total.${metric}.total and .covered numbers (not an istanbul json-summary report)`,
    );
  }
  return finish('json-summary', total.covered, total.total);
}

function finish(format: CoverageFormat, covered: number, total: number): Coverage {
  return { format, covered, total, percent: total === 0 ? 100 : (covered / total) * 100 };
}

export function readCoverage(report: ReportFile, format: CoverageFormat, metric: CoverageMetric): Coverage {
  if (format === 'lcov') return parseLcov(report, metric);
  if (format === 'cobertura') return parseCobertura(report, metric);
  return parseJsonSummary(report, metric);
}

const METRICS: CoverageMetric[] = ['lines', 'branches', 'statements', 'functions'];
const FORMATS: CoverageFormat[] = ['lcov', 'cobertura', 'json-summary'];

export const coverageGate: GateDefinition<CoverageConfig> = {
  name: 'coverage',
  title: 'Test coverage',
  prepare(raw, source) {
    const path = requiredString(raw, 'report', source, 'coverage/lcov.info');
    const min = percent(raw, 'min', source) ?? 80;
    const metric = (optionalString(raw, 'metric', source) ?? 'lines') as CoverageMetric;
    if (!METRICS.includes(metric)) throw configError(source, 'metric', `must be one of ${METRICS.join(', ')}`);
    const format = optionalString(raw, 'format', source) as CoverageFormat | undefined;
    if (format !== undefined && !FORMATS.includes(format))
      throw configError(source, 'format', `must be one of ${FORMATS.join(', ')}`);
    const report = readReport(path, source.workspace, 'Coverage report');
    // Read now: a malformed report is refused before any gate runs.
    return { report, min, metric, coverage: readCoverage(report, format ?? detectFormat(report), metric) };
  },
  async run({ report, min, metric, coverage }) {
    const passed = coverage.percent >= min;
    const counts =
      coverage.total === 1 && coverage.format === 'cobertura' ? '' : ` (${coverage.covered} of ${coverage.total})`;
    return {
      status: passed ? 'pass' : 'fail',
      value: pct(coverage.percent),
      limit: `>= ${pct(min)} ${metric}`,
      message: `${metric} coverage ${pct(coverage.percent)}${counts} in ${report.shown} (${coverage.format})${passed ? '' : `, below ${pct(min)}`}`,
      details: { file: report.shown, ...coverage, metric, min },
    };
  },
};
