/**
 * security: findings in scanner reports (SARIF 2.1.0, Trivy JSON, Grype JSON, `npm audit --json`) at or
 * above a severity fail the gate, unless an allow-list entry that has not expired names them.
 */
import { configError, optionalString, stringList } from './config';
import { lineOfText, parseJsonReport, ReportError, type ReportFile, readReport } from './reports';
import type { ConfigSource, GateDefinition } from './types';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];
const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

export type ReportFormat = 'sarif' | 'trivy' | 'grype' | 'npm-audit';

export interface Finding {
  /** The main ID (CVE, GHSA, rule ID) and every alias an allow-list may name. */
  id: string;
  ids: string[];
  severity: Severity;
  title: string;
  /** The package or file it is in. */
  where: string;
  report: string;
  file?: string;
  line?: number;
}

interface AllowEntry {
  id: string;
  until: number | undefined;
  untilText: string | undefined;
  reason: string | undefined;
}

interface SecurityConfig {
  severity: Severity;
  findings: Finding[];
  reports: Array<{ file: string; format: ReportFormat; findings: number }>;
  allow: AllowEntry[];
}

/** Scanner words to ours: Trivy UNKNOWN/LOW/..., Grype Negligible/Low/..., npm info/low/moderate/..., CVSS scores. */
export function normalizeSeverity(value: unknown): Severity {
  const text = String(value ?? '').toLowerCase();
  if (text === 'critical') return 'critical';
  if (text === 'high' || text === 'error') return 'high';
  if (text === 'medium' || text === 'moderate' || text === 'warning') return 'medium';
  return 'low';
}

/** GitHub code scanning's reading of `security-severity` (CVSS): >= 9 critical, >= 7 high, >= 4 medium. */
function fromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}

export function detectReportFormat(document: unknown, report: ReportFile): ReportFormat {
  if (Array.isArray(document)) return 'trivy'; // Trivy before schema version 2 wrote the results array itself
  const object = (document ?? {}) as Record<string, unknown>;
  if (Array.isArray(object['runs'])) return 'sarif';
  if ('SchemaVersion' in object || 'Results' in object || 'ArtifactName' in object) return 'trivy';
  if (Array.isArray(object['matches'])) return 'grype';
  if ('auditReportVersion' in object || 'advisories' in object || 'vulnerabilities' in object) return 'npm-audit';
  throw new ReportError(
    report.shown,
    1,
    'is not a SARIF, Trivy JSON, Grype JSON or `npm audit --json` report (no runs, Results, matches or vulnerabilities)',
  );
}

function list(report: ReportFile, value: unknown, key: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new ReportError(report.shown, lineOfText(report, `"${key}"`), `${key} must be a list`);
  return value;
}

type Raw = Record<string, any>;

function sarif(document: Raw, report: ReportFile): Finding[] {
  const findings: Finding[] = [];
  for (const run of list(report, document['runs'], 'runs') as Raw[]) {
    const rules = new Map<string, Raw>();
    for (const rule of (run?.tool?.driver?.rules ?? []) as Raw[]) if (rule?.id) rules.set(rule.id, rule);
    for (const result of list(report, run?.results, 'results') as Raw[]) {
      const rule =
        rules.get(result?.ruleId) ??
        (typeof result?.ruleIndex === 'number' ? run.tool?.driver?.rules?.[result.ruleIndex] : undefined);
      const id = String(result?.ruleId ?? rule?.id ?? 'unknown-rule');
      const score = Number(result?.properties?.['security-severity'] ?? rule?.properties?.['security-severity']);
      const level = result?.level ?? rule?.defaultConfiguration?.level ?? 'warning';
      if (level === 'none' && Number.isNaN(score)) continue;
      const location = result?.locations?.[0]?.physicalLocation;
      const file = location?.artifactLocation?.uri as string | undefined;
      const line = location?.region?.startLine as number | undefined;
      findings.push({
        id,
        ids: [id],
        severity: Number.isNaN(score) ? normalizeSeverity(level === 'note' ? 'low' : level) : fromScore(score),
        title: String(result?.message?.text ?? rule?.shortDescription?.text ?? id).split('\n')[0]!,
        where: file ? `${file}${line ? `:${line}` : ''}` : String(run?.tool?.driver?.name ?? 'sarif'),
        report: report.shown,
        ...(file ? { file } : {}),
        ...(line ? { line } : {}),
      });
    }
  }
  return findings;
}

function trivy(document: Raw | Raw[], report: ReportFile): Finding[] {
  const results = Array.isArray(document) ? document : list(report, document['Results'], 'Results');
  const findings: Finding[] = [];
  for (const result of results as Raw[]) {
    const target = String(result?.Target ?? '');
    for (const v of list(report, result?.Vulnerabilities, 'Vulnerabilities') as Raw[]) {
      findings.push({
        id: v.VulnerabilityID,
        ids: [v.VulnerabilityID],
        severity: normalizeSeverity(v.Severity),
        title: String(v.Title ?? v.VulnerabilityID),
        where: `${v.PkgName}@${v.InstalledVersion} (${target})`,
        report: report.shown,
      });
    }
    for (const m of list(report, result?.Misconfigurations, 'Misconfigurations') as Raw[]) {
      if (m.Status !== undefined && m.Status !== 'FAIL') continue;
      const id = String(m.AVDID ?? m.ID);
      findings.push({
        id,
        ids: [id, String(m.ID)],
        severity: normalizeSeverity(m.Severity),
        title: String(m.Title ?? id),
        where: target,
        report: report.shown,
      });
    }
    for (const s of list(report, result?.Secrets, 'Secrets') as Raw[]) {
      findings.push({
        id: String(s.RuleID),
        ids: [String(s.RuleID)],
        severity: normalizeSeverity(s.Severity),
        title: String(s.Title ?? s.RuleID),
        where: `${target}${s.StartLine ? `:${s.StartLine}` : ''}`,
        report: report.shown,
      });
    }
  }
  return findings;
}

function grype(document: Raw, report: ReportFile): Finding[] {
  return (list(report, document['matches'], 'matches') as Raw[]).map((match) => {
    const id = String(match?.vulnerability?.id ?? '');
    const related = ((match?.relatedVulnerabilities ?? []) as Raw[]).map((r) => String(r.id));
    return {
      id,
      ids: [id, ...related],
      severity: normalizeSeverity(match?.vulnerability?.severity),
      title: String(match?.vulnerability?.description ?? id).split('\n')[0]!,
      where: `${match?.artifact?.name}@${match?.artifact?.version}`,
      report: report.shown,
    };
  });
}

function npmAudit(document: Raw, report: ReportFile): Finding[] {
  const findings: Finding[] = [];
  if (document['auditReportVersion'] === 2 || (document['vulnerabilities'] && !document['advisories'])) {
    // v2 (npm 7+): one entry per package; `via` holds the advisories (objects) or the packages it comes through (strings).
    for (const [name, entry] of Object.entries((document['vulnerabilities'] ?? {}) as Record<string, Raw>)) {
      for (const via of (entry?.via ?? []) as Array<Raw | string>) {
        if (typeof via !== 'object') continue;
        const ghsa = /GHSA-[\w-]+/.exec(String(via.url ?? ''))?.[0];
        const id = ghsa ?? String(via.source);
        findings.push({
          id,
          ids: [id, String(via.source)],
          severity: normalizeSeverity(via.severity ?? entry.severity),
          title: String(via.title ?? id),
          where: `${via.name ?? name} ${via.range ?? ''}`.trim(),
          report: report.shown,
        });
      }
    }
    return findings;
  }
  // v1 (npm 6): advisories by number.
  for (const advisory of Object.values((document['advisories'] ?? {}) as Record<string, Raw>)) {
    const ghsa = advisory.github_advisory_id ?? /GHSA-[\w-]+/.exec(String(advisory.url ?? ''))?.[0];
    const id = String(ghsa ?? advisory.id);
    findings.push({
      id,
      ids: [id, String(advisory.id), ...((advisory.cves ?? []) as string[])],
      severity: normalizeSeverity(advisory.severity),
      title: String(advisory.title ?? id),
      where: `${advisory.module_name} ${advisory.vulnerable_versions ?? ''}`.trim(),
      report: report.shown,
    });
  }
  return findings;
}

export function readFindings(report: ReportFile): { format: ReportFormat; findings: Finding[] } {
  const document = parseJsonReport(report, 'scanner report');
  const format = detectReportFormat(document, report);
  const findings =
    format === 'sarif'
      ? sarif(document as Raw, report)
      : format === 'trivy'
        ? trivy(document as Raw, report)
        : format === 'grype'
          ? grype(document as Raw, report)
          : npmAudit(document as Raw, report);
  return { format, findings };
}

function parseAllow(value: unknown, source: ConfigSource): AllowEntry[] {
  if (value === undefined || value === null) return [];
  const entries = typeof value === 'string' ? value.split(/[\n,]/).filter((l) => l.trim() !== '') : value;
  if (!Array.isArray(entries)) throw configError(source, 'allow', 'must be a list of { id, until, reason }');
  return entries.map((entry, i) => {
    // Input form: `CVE-2024-1234 until 2027-01-31 (waiting for upstream)`
    const raw =
      typeof entry === 'string'
        ? (() => {
            const m = /^\s*(\S+)(?:\s+until\s+(\S+))?(?:\s+\((.*)\))?\s*$/.exec(entry);
            return { id: m?.[1], until: m?.[2], reason: m?.[3] };
          })()
        : (entry as Record<string, unknown>);
    if (typeof raw['id'] !== 'string' || raw['id'] === '') {
      throw configError(
        source,
        `allow[${i}].id`,
        'is required',
        '{ id: CVE-2024-1234, until: 2027-01-31, reason: no fix yet }',
      );
    }
    const untilText = raw['until'] === undefined ? undefined : String(raw['until']);
    const until =
      untilText === undefined
        ? undefined
        : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(untilText) ? `${untilText}T23:59:59Z` : untilText);
    if (until !== undefined && Number.isNaN(until)) {
      throw configError(source, `allow[${i}].until`, `${JSON.stringify(untilText)} is not a date`, '2027-01-31');
    }
    return { id: raw['id'], until, untilText, reason: typeof raw['reason'] === 'string' ? raw['reason'] : undefined };
  });
}

export const securityGate: GateDefinition<SecurityConfig> = {
  name: 'security',
  title: 'Security scan findings',
  prepare(raw, source) {
    const paths = stringList(raw, 'reports', source);
    if (paths.length === 0) throw configError(source, 'reports', 'names no report file', 'trivy.json, results.sarif');
    const severity = (optionalString(raw, 'severity', source) ?? 'high').toLowerCase() as Severity;
    if (!SEVERITIES.includes(severity))
      throw configError(source, 'severity', `must be one of ${SEVERITIES.join(', ')}`);
    const findings: Finding[] = [];
    const reports: SecurityConfig['reports'] = [];
    for (const path of paths) {
      const report = readReport(path, source.workspace, 'Security report');
      const read = readFindings(report);
      findings.push(...read.findings);
      reports.push({ file: report.shown, format: read.format, findings: read.findings.length });
    }
    return { severity, findings, reports, allow: parseAllow(raw['allow'], source) };
  },
  async run(config, ctx) {
    const now = ctx.clock.now();
    const atOrAbove = config.findings.filter((f) => RANK[f.severity] >= RANK[config.severity]);
    const allowedBy = (finding: Finding) => config.allow.find((a) => finding.ids.includes(a.id));
    const blocking: Finding[] = [];
    const allowed: Finding[] = [];
    const expired = new Set<string>();
    for (const finding of atOrAbove) {
      const entry = allowedBy(finding);
      if (entry !== undefined && (entry.until === undefined || entry.until >= now)) allowed.push(finding);
      else {
        if (entry !== undefined) expired.add(`${entry.id} (allowed until ${entry.untilText})`);
        blocking.push(finding);
      }
    }
    const counts = SEVERITIES.slice()
      .reverse()
      .map((s) => [s, blocking.filter((f) => f.severity === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`);
    const files = config.reports.map((r) => `${r.file} (${r.format})`).join(', ');
    const expiredNote = expired.size > 0 ? `; allow-list entries expired: ${[...expired].join(', ')}` : '';
    const allowedNote = allowed.length > 0 ? `; ${allowed.length} allowed by the allow-list` : '';
    const shown = blocking.slice(0, 5).map((f) => `${f.id} (${f.severity}, ${f.where})`);
    return {
      status: blocking.length > 0 ? 'fail' : 'pass',
      value: blocking.length === 0 ? '0 findings' : counts.join(', '),
      limit: `none >= ${config.severity}`,
      message:
        blocking.length === 0
          ? `No ${config.severity} or higher findings in ${files}${allowedNote}${expiredNote}`
          : `${blocking.length} finding(s) at or above ${config.severity} in ${files}: ${shown.join('; ')}${blocking.length > 5 ? ' …' : ''}${allowedNote}${expiredNote}`,
      annotations: blocking
        .filter((f) => f.file !== undefined)
        .map((f) => ({
          message: `${f.id} (${f.severity}): ${f.title}`,
          file: f.file!,
          ...(f.line ? { line: f.line } : {}),
        })),
      details: { reports: config.reports, blocking, allowed: allowed.map((f) => f.id), expired: [...expired] },
    };
  },
};
