import { ReplayError } from './replay-error.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const RELATIVE = /^(\d{1,9})([smhdw])$/;
// Both databases store far wider ranges, but a Date outside four-digit years is written as
// `+010000-...`, which neither reads back: such a filter would fail the query instead of the input.
const EARLIEST_TIME = new Date('1900-01-01T00:00:00.000Z');
const LATEST_TIME = new Date('9999-12-31T23:59:59.999Z');
// A calendar date, optionally with a time; a time needs a zone, so the host's zone never changes what it means.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/**
 * An instant given as ISO-8601 (`2026-11-22T10:00:00Z`, `2026-11-22T12:00+02:00`, `2026-11-22` for
 * midnight UTC) or as a duration before `now` (`30s`, `30m`, `1h`, `2d`, `1w`), between 1900-01-01 and
 * 9999-12-31 UTC.
 */
export function parseTime(text: string, now: Date = new Date()): Date {
  const trimmed = text.trim();
  const relative = RELATIVE.exec(trimmed);
  if (relative) {
    const [, amount, unit] = relative;
    const unitMs = UNIT_MS[unit ?? ''] ?? Number.NaN;
    return checked(new Date(now.getTime() - Number(amount) * unitMs), text);
  }
  const iso = ISO.exec(trimmed);
  if (!iso) throw invalid(text);
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = iso;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  const local = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Date.UTC rolls 2026-02-30 over into March: reading the fields back catches that.
  if (
    local.getUTCFullYear() !== y ||
    local.getUTCMonth() !== mo - 1 ||
    local.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    throw invalid(text);
  }
  return checked(new Date(local.getTime() - zoneOffsetMs(zone, text)), text);
}

function zoneOffsetMs(zone: string, text: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) throw invalid(text);
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

function checked(date: Date, text: string): Date {
  const time = date.getTime();
  if (Number.isNaN(time) || time < EARLIEST_TIME.getTime() || time > LATEST_TIME.getTime()) {
    throw new ReplayError(
      'invalid_input',
      `cannot read "${text}" as a time: it must fall between 1900-01-01 and 9999-12-31 (ISO-8601 with a zone, or a duration ago such as 30m, 1h, 2d)`,
    );
  }
  return date;
}

function invalid(text: string): ReplayError {
  return new ReplayError(
    'invalid_input',
    `cannot read "${text}" as a time: give ISO-8601 with a zone (2026-11-22T10:00:00Z) or a duration ago (30m, 1h, 2d)`,
  );
}
