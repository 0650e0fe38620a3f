/** Wall-clock time in IANA time zones with Intl alone: the offset at an instant, and a local time as an instant. */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Undefined when the runtime's Intl does not know the zone. */
export function checkZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, format);
  }
  return format;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
}

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export function localTime(zone: string, at: number): LocalTime {
  const parts: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(at))) parts[part.type] = part.value;
  return {
    year: Number(parts['year']),
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    second: Number(parts['second']),
    weekday: WEEKDAYS.indexOf(parts['weekday'] as (typeof WEEKDAYS)[number]),
  };
}

/** How far the zone's wall clock is ahead of UTC at `at`, in ms. */
export function offsetAt(zone: string, at: number): number {
  const local = localTime(zone, at);
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  return wall - (at - (((at % 1000) + 1000) % 1000));
}

/** The instant the zone's clocks show this wall time (in a DST gap: the instant just after it). */
export function instantOf(zone: string, year: number, month: number, day: number, minutes: number): number {
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  let at = wall - offsetAt(zone, wall);
  at = wall - offsetAt(zone, at);
  return at;
}

/** `Mon 2026-12-14 09:00` in the zone. */
export function formatLocal(zone: string, at: number): string {
  const t = localTime(zone, at);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[t.weekday]} ${t.year}-${two(t.month)}-${two(t.day)} ${two(t.hour)}:${two(t.minute)}`;
}
