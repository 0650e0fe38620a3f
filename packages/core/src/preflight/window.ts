/**
 * window: deployment windows ("Mon-Thu 09:00-16:00 America/New_York", "02:00-06:00 UTC") and freezes
 * ("2026-12-20..2027-01-02 Europe/Berlin"), judged at the run's clock; when closed, the message names the
 * next open minute.
 */

import { checkZone, formatLocal, instantOf, localTime, WEEKDAYS } from '../clock/zone';
import { formatDuration } from '../inputs/scalars';
import { configError } from './config';
import type { ConfigSource, GateDefinition } from './types';

export interface AllowWindow {
  text: string;
  zone: string;
  days: ReadonlySet<number>;
  /** Minutes after local midnight; end < start crosses midnight. */
  start: number;
  end: number;
}

export interface Freeze {
  text: string;
  from: number;
  to: number;
  reason: string | undefined;
}

export interface WindowConfig {
  allow: AllowWindow[];
  freezes: Freeze[];
}

const WINDOW_EXAMPLE = 'Mon-Thu 09:00-16:00 America/New_York';
const FREEZE_EXAMPLE = '2026-12-20..2027-01-02 Europe/Berlin';
const DAY = /^(sun|mon|tue|wed|thu|fri|sat)[a-z]*$/i;

function dayIndex(text: string): number | undefined {
  const match = DAY.exec(text.trim());
  return match ? WEEKDAYS.findIndex((d) => d.toLowerCase() === match[1]!.toLowerCase()) : undefined;
}

function parseDays(text: string): Set<number> | undefined {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [first, last] = part.split('-');
    const a = dayIndex(first ?? '');
    const b = last === undefined ? a : dayIndex(last);
    if (a === undefined || b === undefined) return undefined;
    // Fri-Mon wraps over the weekend.
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  return days;
}

function clock(text: string): number | undefined {
  const match = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!match) return undefined;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes <= 24 * 60 ? minutes : undefined;
}

function zoneOf(text: string, source: ConfigSource, key: string): string {
  const zone = checkZone(text);
  if (zone === undefined)
    throw configError(
      source,
      key,
      `unknown time zone ${JSON.stringify(text)} (IANA names such as Europe/Berlin, America/New_York or UTC)`,
      WINDOW_EXAMPLE,
    );
  return text;
}

export function parseWindow(text: string, source: ConfigSource, key: string): AllowWindow {
  const words = text.trim().split(/\s+/);
  const range = words.findIndex((word) => /^\d{1,2}:\d{2}-\d{1,2}:\d{2}$/.test(word));
  if (range < 0 || range > 1 || words.length !== range + 2) {
    throw configError(
      source,
      key,
      `${JSON.stringify(text)} is not a window: [days] HH:MM-HH:MM time-zone`,
      WINDOW_EXAMPLE,
    );
  }
  const days = range === 1 ? parseDays(words[0]!) : new Set([0, 1, 2, 3, 4, 5, 6]);
  if (days === undefined)
    throw configError(
      source,
      key,
      `${JSON.stringify(words[0])} is not a day range like Mon-Fri or Mon,Wed`,
      WINDOW_EXAMPLE,
    );
  const [from, to] = words[range]!.split('-') as [string, string];
  const start = clock(from);
  const end = clock(to);
  if (start === undefined || end === undefined || start === end || start === 24 * 60) {
    throw configError(
      source,
      key,
      `${JSON.stringify(words[range])} is not a time range from 00:00 to 24:00`,
      WINDOW_EXAMPLE,
    );
  }
  return { text: text.trim(), zone: zoneOf(words[range + 1]!, source, key), days, start, end: end % (24 * 60) };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/;

function dateAt(text: string, zone: string, endOfDay: boolean, source: ConfigSource, key: string): number {
  const match = DATE.exec(text.trim());
  const [y, m, d] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const check = new Date(Date.UTC(y, m - 1, d));
  if (!match || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw configError(
      source,
      key,
      `${JSON.stringify(text)} is not a date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM)`,
      FREEZE_EXAMPLE,
    );
  }
  if (match[4] !== undefined) return instantOf(zone, y, m, d, Number(match[4]) * 60 + Number(match[5]));
  // A freeze to a date includes that whole day.
  return instantOf(zone, y, m, d + (endOfDay ? 1 : 0), 0);
}

export function parseFreeze(
  value: unknown,
  source: ConfigSource,
  key: string,
  defaultZone: string | undefined,
): Freeze {
  let from: string;
  let to: string;
  let zone = defaultZone;
  let reason: string | undefined;
  if (typeof value === 'string') {
    const match = /^(\S+?)(?:\.\.(\S+))?(?:\s+([A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*))?(?:\s+\((.*)\))?\s*$/.exec(
      value.trim(),
    );
    if (!match)
      throw configError(
        source,
        key,
        `${JSON.stringify(value)} is not a freeze: FROM..TO time-zone (reason)`,
        FREEZE_EXAMPLE,
      );
    from = match[1]!;
    to = match[2] ?? match[1]!;
    zone = match[3] ?? zone;
    reason = match[4];
  } else if (typeof value === 'object' && value !== null) {
    const entry = value as Record<string, unknown>;
    from = String(entry['from'] ?? '');
    to = String(entry['to'] ?? entry['from'] ?? '');
    zone = typeof entry['time-zone'] === 'string' ? entry['time-zone'] : zone;
    reason = typeof entry['reason'] === 'string' ? entry['reason'] : undefined;
  } else {
    throw configError(source, key, 'must be a date range or { from, to, time-zone, reason }', FREEZE_EXAMPLE);
  }
  if (zone === undefined) throw configError(source, key, `${JSON.stringify(value)} needs a time zone`, FREEZE_EXAMPLE);
  zoneOf(zone, source, key);
  const start = dateAt(from, zone, false, source, key);
  const end = dateAt(to, zone, true, source, key);
  if (end <= start) throw configError(source, key, `ends (${to}) before it starts (${from})`, FREEZE_EXAMPLE);
  const text = `${from === to ? from : `${from}..${to}`} ${zone}`;
  return { text, from: start, to: end, reason };
}

function inWindow(window: AllowWindow, at: number): boolean {
  const t = localTime(window.zone, at);
  const minutes = t.hour * 60 + t.minute;
  if (window.start < window.end) return window.days.has(t.weekday) && minutes >= window.start && minutes < window.end;
  // Crosses midnight: the evening of an allowed day, or the early hours after one.
  return (
    (window.days.has(t.weekday) && minutes >= window.start) ||
    (window.days.has((t.weekday + 6) % 7) && minutes < window.end)
  );
}

export function freezeAt(config: WindowConfig, at: number): Freeze | undefined {
  return config.freezes.find((freeze) => at >= freeze.from && at < freeze.to);
}

export function isOpen(config: WindowConfig, at: number): boolean {
  const allowed = config.allow.length === 0 || config.allow.some((window) => inWindow(window, at));
  return allowed && freezeAt(config, at) === undefined;
}

/** The first open instant at or after `now` within `horizonDays`: window starts and freeze ends are the candidates. */
export function nextOpen(config: WindowConfig, now: number, horizonDays = 400): number | undefined {
  const candidates = [now, ...config.freezes.map((freeze) => freeze.to)];
  for (const window of config.allow) {
    const today = localTime(window.zone, now);
    for (let k = 0; k <= horizonDays; k++) {
      candidates.push(instantOf(window.zone, today.year, today.month, today.day + k, window.start));
    }
  }
  return candidates
    .filter((at) => at >= now)
    .sort((a, b) => a - b)
    .find((at) => isOpen(config, at));
}

export const windowGate: GateDefinition<WindowConfig> = {
  name: 'window',
  title: 'Deployment window',
  prepare(raw, source) {
    const allowRaw = raw['allow'] ?? [];
    const allowList = typeof allowRaw === 'string' ? allowRaw.split('\n') : allowRaw;
    if (!Array.isArray(allowList)) throw configError(source, 'allow', 'must be a list of windows', WINDOW_EXAMPLE);
    const allow = allowList
      .map((text, i) => ({ text: String(text).trim(), i }))
      .filter(({ text }) => text !== '')
      .map(({ text, i }) => parseWindow(text, source, `allow[${i}]`));
    const freezeRaw = raw['freeze'] ?? [];
    const freezeList = typeof freezeRaw === 'string' ? freezeRaw.split('\n').filter((l) => l.trim() !== '') : freezeRaw;
    if (!Array.isArray(freezeList))
      throw configError(source, 'freeze', 'must be a list of date ranges', FREEZE_EXAMPLE);
    const defaultZone = typeof raw['time-zone'] === 'string' ? raw['time-zone'] : undefined;
    const freezes = freezeList.map((entry, i) => parseFreeze(entry, source, `freeze[${i}]`, defaultZone));
    if (allow.length === 0 && freezes.length === 0) {
      throw configError(source, 'allow', 'needs at least one window or freeze', WINDOW_EXAMPLE);
    }
    return { allow, freezes };
  },
  async run(config, ctx) {
    const now = ctx.clock.now();
    const limit = [
      ...config.allow.map((w) => w.text),
      ...config.freezes.map((f) => `not ${f.text}${f.reason ? ` (${f.reason})` : ''}`),
    ].join('; ');
    if (isOpen(config, now)) {
      const where = config.allow[0];
      return {
        status: 'pass',
        value: 'open',
        limit,
        message: `Inside the deployment window${where ? ` (${formatLocal(where.zone, now)} ${where.zone})` : ''}`,
      };
    }
    const freeze = freezeAt(config, now);
    const next = nextOpen(config, now);
    const zone = config.allow[0]?.zone ?? 'UTC';
    const why = freeze
      ? `Deployments are frozen (${freeze.text}${freeze.reason ? `: ${freeze.reason}` : ''})`
      : `Outside the deployment window (now ${formatLocal(zone, now)} ${zone})`;
    const when =
      next === undefined
        ? 'no open window in the next 400 days'
        : `next open window: ${formatLocal(zone, next)} ${zone} (in ${formatDuration(Math.ceil((next - now) / 60_000) * 60_000)})`;
    return {
      status: 'fail',
      value: freeze ? 'frozen' : 'closed',
      limit,
      message: `${why}; ${when}`,
      details: { nextOpen: next === undefined ? null : new Date(next).toISOString() },
    };
  },
};
