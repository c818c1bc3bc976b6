/**
 * Cron schedules as Kubernetes' CronJobs read them (robfig/cron v3's
 * standard parser): five fields — minute, hour, day of month, month, day
 * of week — with `*`, `?`, lists, ranges, steps and month and weekday
 * names, or a descriptor (`@yearly` `@annually` `@monthly` `@weekly`
 * `@daily` `@midnight` `@hourly`). Day of month and day of week are OR-ed
 * unless either is a bare `*` or `?`, as in cron.
 *
 * Next activations are computed in an IANA time zone with Intl, on wall
 * clock fields of real instants: a time skipped by a spring-forward never
 * fires, a time repeated by a fall-back fires twice (robfig's behaviour).
 * Pure: instants in, instants out.
 */

export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Either day field was a bare `*` or `?`: both must match (AND); otherwise either may (OR). */
  readonly dayStar: boolean;
}

export class CronParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronParseError';
  }
}

interface Bounds {
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MONTH_NAMES: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOW_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: readonly [string, Bounds][] = [
  ['minute', { min: 0, max: 59 }],
  ['hour', { min: 0, max: 23 }],
  ['day of month', { min: 1, max: 31 }],
  ['month', { min: 1, max: 12, names: MONTH_NAMES }],
  ['day of week', { min: 0, max: 6, names: DOW_NAMES }],
];

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** How far ahead a schedule is searched (robfig gives up after five years: `0 0 30 2 *` never fires). */
export const CRON_SEARCH_YEARS_MAX = 5;
/** Longest schedule text accepted: a bound on parsing work for input from users. */
const SCHEDULE_LENGTH_MAX = 1_000;

function parseNumber(text: string, bounds: Bounds, field: string): number {
  const named = bounds.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) throw new CronParseError(`failed to parse int from ${text}: invalid ${field}`);
  return Number(text);
}

/** One comma-separated part of a field: `*`, `?`, `a`, `a-b`, with an optional `/step`. */
function parseRange(part: string, bounds: Bounds, field: string, into: Set<number>): boolean {
  const [rangeText, stepText, ...extra] = part.split('/');
  if (extra.length > 0 || rangeText === undefined || rangeText === '') throw new CronParseError(`too many slashes: ${part}`);
  let star = false;
  let start: number;
  let end: number;
  if (rangeText === '*' || rangeText === '?') {
    star = true;
    start = bounds.min;
    end = bounds.max;
  } else {
    const [low, high, ...more] = rangeText.split('-');
    if (more.length > 0 || low === undefined || low === '') throw new CronParseError(`too many hyphens: ${part}`);
    start = parseNumber(low, bounds, field);
    end = high === undefined ? start : parseNumber(high, bounds, field);
    // "5/15" means 5-max/15, as robfig reads it.
    if (high === undefined && stepText !== undefined) end = bounds.max;
  }
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronParseError(`step of range should be a positive number: ${part}`);
    step = Number(stepText);
    if (step > 1) star = false;
  }
  if (start < bounds.min) throw new CronParseError(`beginning of range (${start}) below minimum (${bounds.min}): ${part}`);
  if (end > bounds.max) throw new CronParseError(`end of range (${end}) above maximum (${bounds.max}): ${part}`);
  if (start > end) throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${part}`);
  for (let v = start; v <= end; v += step) into.add(v);
  return star;
}

/** Parses a schedule; throws CronParseError with robfig's wording on bad input. */
export function parseCron(text: string): CronSchedule {
  if (typeof text !== 'string' || text.trim() === '') throw new CronParseError('empty spec string');
  if (text.length > SCHEDULE_LENGTH_MAX) throw new CronParseError(`schedule longer than ${SCHEDULE_LENGTH_MAX} characters`);
  let spec = text.trim();
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) throw new CronParseError('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  if (spec.startsWith('@')) {
    const expanded = DESCRIPTORS[spec.toLowerCase()];
    if (expanded === undefined) throw new CronParseError(`unrecognized descriptor: ${spec}`);
    spec = expanded;
  }
  const fields = spec.split(/\s+/);
  if (fields.length !== 5) throw new CronParseError(`expected exactly 5 fields, found ${fields.length}: ${spec}`);
  const sets: Set<number>[] = [];
  const stars: boolean[] = [];
  fields.forEach((fieldText, i) => {
    const [name, bounds] = FIELDS[i]!;
    const set = new Set<number>();
    let star = false;
    for (const part of fieldText.split(',')) star = parseRange(part, bounds, name, set) || star;
    sets.push(set);
    stars.push(star);
  });
  return { minutes: sets[0]!, hours: sets[1]!, daysOfMonth: sets[2]!, months: sets[3]!, daysOfWeek: sets[4]!, dayStar: stars[2]! || stars[4]! };
}

/** Throws unless `zone` is an IANA time zone Intl knows ("Local" is refused: a CronJob must name its zone). */
export function checkTimeZone(zone: string): void {
  if (zone.toLowerCase() === 'local') throw new CronParseError('timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones');
  formatterFor(zone);
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Zones looked up at most: a bound on the formatter cache, which user input fills. */
const FORMATTERS_MAX = 512;
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter !== undefined) return formatter;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short',
    });
  } catch {
    throw new CronParseError(`unknown time zone ${zone}`);
  }
  if (formatters.size >= FORMATTERS_MAX) formatters.clear();
  formatters.set(zone, formatter);
  return formatter;
}

/** The wall clock of an instant in a zone. */
export function wallClock(ms: number, zone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    hour: Number(parts.hour) % 24, minute: Number(parts.minute), weekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
  };
}

function dayMatches(s: CronSchedule, w: WallClock): boolean {
  const dom = s.daysOfMonth.has(w.day);
  const dow = s.daysOfWeek.has(w.weekday);
  return s.dayStar ? dom && dow : dom || dow;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * The first activation strictly after `afterMs`, in `zone` (default UTC),
 * or undefined when there is none within CRON_SEARCH_YEARS_MAX years.
 * Skips whole hours and days where no minute can match, so a yearly
 * schedule costs a few thousand steps, not half a million.
 */
export function nextActivation(schedule: CronSchedule, afterMs: number, zone = 'UTC'): number | undefined {
  let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const limitMs = afterMs + CRON_SEARCH_YEARS_MAX * 366 * 24 * HOUR_MS;
  while (t <= limitMs) {
    const w = wallClock(t, zone);
    const hourStart = t - w.minute * MINUTE_MS;
    if (!schedule.months.has(w.month) || !dayMatches(schedule, w)) {
      // Every day has at least 23 hours, so 23 - hour hours never jump past the next local midnight.
      t = hourStart + Math.max(1, 23 - w.hour) * HOUR_MS;
      continue;
    }
    if (!schedule.hours.has(w.hour)) {
      t = hourStart + HOUR_MS;
      continue;
    }
    if (!schedule.minutes.has(w.minute)) {
      t += MINUTE_MS;
      continue;
    }
    return t;
  }
  return undefined;
}

/**
 * The activations in (afterMs, untilMs], at most `max` of them plus a
 * count of all: what a CronJob controller needs to find the most recent
 * missed schedule and to say how many it missed.
 */
export function activationsBetween(schedule: CronSchedule, afterMs: number, untilMs: number, zone = 'UTC', max = 100): { count: number; latestMs: number | undefined } {
  let count = 0;
  let latestMs: number | undefined;
  let t = nextActivation(schedule, afterMs, zone);
  // Counting stops past max + 1: "too many" is all a caller learns beyond that.
  while (t !== undefined && t <= untilMs) {
    count++;
    latestMs = t;
    if (count > max) {
      latestMs = lastActivationAtOrBefore(schedule, untilMs, t, zone);
      break;
    }
    t = nextActivation(schedule, t, zone);
  }
  return { count, latestMs };
}

/** The latest activation in [fromMs, untilMs], found by stepping back minute-hour-day from untilMs. */
function lastActivationAtOrBefore(schedule: CronSchedule, untilMs: number, fromMs: number, zone: string): number {
  let t = Math.floor(untilMs / MINUTE_MS) * MINUTE_MS;
  while (t > fromMs) {
    const w = wallClock(t, zone);
    if (!schedule.months.has(w.month) || !dayMatches(schedule, w) || !schedule.hours.has(w.hour)) {
      t = t - w.minute * MINUTE_MS - MINUTE_MS;
      continue;
    }
    if (schedule.minutes.has(w.minute)) return t;
    t -= MINUTE_MS;
  }
  return fromMs;
}
