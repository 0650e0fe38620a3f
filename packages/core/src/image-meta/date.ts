/**
 * Dates formatted with moment.js tokens in an IANA time zone, as metadata-action's
 * `{{date 'YYYYMMDD' tz='Asia/Tokyo'}}` does. Written here rather than pulling in
 * moment-timezone (a 1 MB zone database): the platform's `Intl` already knows
 * every zone, and the tokens are a table.
 */

import { checkZone, type LocalTime, localTime, offsetAt } from '../clock/zone';
import { UserError } from '../errors';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const TOKENS =
  /\[([^\]]*)]|YYYYYY|YYYY|YY|Q|MMMM|MMM|MM|Mo|M|DDDD|DDDo|DDD|Do|DD|D|dddd|ddd|dd|do|d|E|e|WW|Wo|W|GGGG|HH|H|hh|h|kk|k|mm|m|ss|s|S{1,9}|A|a|ZZ|Z|X|x/g;

interface Parts extends LocalTime {
  ms: number;
  offsetMinutes: number;
}

/** The wall clock in the zone (core's Intl-based zone helpers, shared with preflight's window gate). */
function partsIn(date: Date, timeZone: string): Parts {
  if (checkZone(timeZone) === undefined) {
    throw new UserError(`Unknown time zone ${JSON.stringify(timeZone)} in a date expression`, {
      hint: "Use an IANA zone name, e.g. {{date 'YYYYMMDD' tz='Europe/Paris'}}",
    });
  }
  const at = date.getTime();
  return {
    ...localTime(timeZone, at),
    ms: date.getUTCMilliseconds(),
    offsetMinutes: Math.round(offsetAt(timeZone, at) / 60_000),
  };
}

const pad = (value: number, width: number) => String(Math.abs(value)).padStart(width, '0');

function ordinal(value: number): string {
  const tens = value % 100;
  if (tens >= 11 && tens <= 13) return `${value}th`;
  return `${value}${['th', 'st', 'nd', 'rd'][value % 10] ?? 'th'}`;
}

function dayOfYear(p: Parts): number {
  return (Date.UTC(p.year, p.month - 1, p.day) - Date.UTC(p.year, 0, 1)) / 86_400_000 + 1;
}

/** ISO 8601 week number and week-year. */
function isoWeek(p: Parts): { week: number; year: number } {
  const date = new Date(Date.UTC(p.year, p.month - 1, p.day));
  const isoDay = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - isoDay);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return { week: Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7), year: date.getUTCFullYear() };
}

function offset(minutes: number, separator: string): string {
  const sign = minutes < 0 ? '-' : '+';
  return `${sign}${pad(Math.trunc(Math.abs(minutes) / 60), 2)}${separator}${pad(Math.abs(minutes) % 60, 2)}`;
}

/** Format `date` with moment.js tokens (`YYYY-MM-DDTHH:mm:ssZ`, `[literal]`) in `timeZone` (default UTC). */
export function formatDate(date: Date, format: string, timeZone = 'UTC'): string {
  const p = partsIn(date, timeZone);
  const hour12 = p.hour % 12 === 0 ? 12 : p.hour % 12;
  return format.replace(TOKENS, (token, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    if (token.startsWith('S')) return pad(p.ms, 3).padEnd(token.length, '0').slice(0, token.length);
    switch (token) {
      case 'YYYYYY':
        return `${p.year < 0 ? '-' : '+'}${pad(p.year, 6)}`;
      case 'YYYY':
        return pad(p.year, 4);
      case 'YY':
        return pad(p.year % 100, 2);
      case 'Q':
        return String(Math.ceil(p.month / 3));
      case 'MMMM':
        return MONTHS[p.month - 1]!;
      case 'MMM':
        return MONTHS[p.month - 1]!.slice(0, 3);
      case 'MM':
        return pad(p.month, 2);
      case 'Mo':
        return ordinal(p.month);
      case 'M':
        return String(p.month);
      case 'DDDD':
        return pad(dayOfYear(p), 3);
      case 'DDDo':
        return ordinal(dayOfYear(p));
      case 'DDD':
        return String(dayOfYear(p));
      case 'Do':
        return ordinal(p.day);
      case 'DD':
        return pad(p.day, 2);
      case 'D':
        return String(p.day);
      case 'dddd':
        return DAYS[p.weekday]!;
      case 'ddd':
        return DAYS[p.weekday]!.slice(0, 3);
      case 'dd':
        return DAYS[p.weekday]!.slice(0, 2);
      case 'do':
        return ordinal(p.weekday);
      case 'd':
      case 'e':
        return String(p.weekday);
      case 'E':
        return String(p.weekday || 7);
      case 'WW':
        return pad(isoWeek(p).week, 2);
      case 'Wo':
        return ordinal(isoWeek(p).week);
      case 'W':
        return String(isoWeek(p).week);
      case 'GGGG':
        return pad(isoWeek(p).year, 4);
      case 'HH':
        return pad(p.hour, 2);
      case 'H':
        return String(p.hour);
      case 'hh':
        return pad(hour12, 2);
      case 'h':
        return String(hour12);
      case 'kk':
        return pad(p.hour || 24, 2);
      case 'k':
        return String(p.hour || 24);
      case 'mm':
        return pad(p.minute, 2);
      case 'm':
        return String(p.minute);
      case 'ss':
        return pad(p.second, 2);
      case 's':
        return String(p.second);
      case 'A':
        return p.hour < 12 ? 'AM' : 'PM';
      case 'a':
        return p.hour < 12 ? 'am' : 'pm';
      case 'ZZ':
        return offset(p.offsetMinutes, '');
      case 'Z':
        return offset(p.offsetMinutes, ':');
      case 'X':
        return String(Math.floor(date.getTime() / 1000));
      case 'x':
        return String(date.getTime());
      default:
        return token;
    }
  });
}
