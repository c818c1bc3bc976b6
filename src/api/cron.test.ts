import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CronParseError, activationsBetween, checkTimeZone, nextActivation, parseCron } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString());
/** The next `n` activations after `from`. */
function nextN(spec: string, from: string, n: number, zone?: string): string[] {
  const schedule = parseCron(spec);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = nextActivation(schedule, t, zone);
    out.push(iso(next));
    if (next === undefined) break;
    t = next;
  }
  return out;
}

describe('cron schedules (robfig/cron standard syntax, as CronJobs read them)', () => {
  test('steps, ranges, lists and names select the minutes, hours, days and months they say', () => {
    assert.deepEqual(nextN('*/15 * * * *', '2026-03-01T10:07:30Z', 3), ['2026-03-01T10:15:00.000Z', '2026-03-01T10:30:00.000Z', '2026-03-01T10:45:00.000Z']);
    assert.deepEqual(nextN('0 9-17/4 * * MON-FRI', '2026-03-06T16:00:00Z', 3), ['2026-03-06T17:00:00.000Z', '2026-03-09T09:00:00.000Z', '2026-03-09T13:00:00.000Z'], 'Friday 17:00, then Monday');
    assert.deepEqual(nextN('30 2 1,15 jan,JUL *', '2026-01-10T00:00:00Z', 3), ['2026-01-15T02:30:00.000Z', '2026-07-01T02:30:00.000Z', '2026-07-15T02:30:00.000Z']);
    assert.deepEqual(nextN('5/20 * * * *', '2026-01-01T00:00:00Z', 3), ['2026-01-01T00:05:00.000Z', '2026-01-01T00:25:00.000Z', '2026-01-01T00:45:00.000Z'], '"5/20" is 5-59/20');
  });

  test('day of month and day of week are OR-ed unless one of them is *', () => {
    // The 13th, or any Friday.
    assert.deepEqual(nextN('0 0 13 * 5', '2026-02-01T00:00:00Z', 3), ['2026-02-06T00:00:00.000Z', '2026-02-13T00:00:00.000Z', '2026-02-20T00:00:00.000Z']);
    // Every day of month, but only Sundays.
    assert.deepEqual(nextN('0 0 * * 0', '2026-02-01T00:00:00Z', 2), ['2026-02-08T00:00:00.000Z', '2026-02-15T00:00:00.000Z']);
  });

  test('descriptors expand to their five fields; a date that never comes yields no activation', () => {
    assert.deepEqual(nextN('@hourly', '2026-05-05T05:05:00Z', 1), ['2026-05-05T06:00:00.000Z']);
    assert.deepEqual(nextN('@weekly', '2026-05-05T05:05:00Z', 1), ['2026-05-10T00:00:00.000Z']);
    assert.deepEqual(nextN('@yearly', '2026-05-05T05:05:00Z', 1), ['2027-01-01T00:00:00.000Z']);
    assert.deepEqual(nextN('0 0 30 2 *', '2026-01-01T00:00:00Z', 1), ['never']);
  });

  test('bad schedules are refused with a message that says what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /empty spec string/],
      ['* * * *', /expected exactly 5 fields, found 4/],
      ['60 * * * *', /end of range \(60\) above maximum \(59\)/],
      ['* * * * 7', /above maximum \(6\)/],
      ['*/0 * * * *', /step of range should be a positive number/],
      ['5-1 * * * *', /beginning of range \(5\) beyond end of range \(1\)/],
      ['a * * * *', /failed to parse int from a/],
      ['@fortnightly', /unrecognized descriptor/],
      ['TZ=UTC * * * * *', /use timeZone field instead/],
    ];
    for (const [spec, message] of cases) assert.throws(() => parseCron(spec), (e: unknown) => e instanceof CronParseError && message.test(e.message), spec);
  });

  test('time zones: the schedule is read on the zone\'s wall clock', () => {
    // 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC.
    assert.deepEqual(nextN('0 9 * * *', '2026-06-01T01:00:00Z', 1, 'Asia/Tokyo'), ['2026-06-02T00:00:00.000Z']);
    // Kolkata is UTC+5:30: the zone's hour boundary is at :30 UTC.
    assert.deepEqual(nextN('0 * * * *', '2026-06-01T00:10:00Z', 2, 'Asia/Kolkata'), ['2026-06-01T00:30:00.000Z', '2026-06-01T01:30:00.000Z']);
    assert.throws(() => checkTimeZone('Mars/Olympus_Mons'), /unknown time zone Mars\/Olympus_Mons/);
    assert.throws(() => checkTimeZone('Local'), /explicit time zone/);
    checkTimeZone('Europe/Berlin');
  });

  test('DST in New York: 02:30 on the spring-forward day never fires; 01:30 on the fall-back day fires twice, an hour apart', () => {
    // 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT.
    assert.deepEqual(nextN('30 2 * * *', '2026-03-07T00:00:00Z', 2, 'America/New_York'), ['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
    // 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
    assert.deepEqual(nextN('30 1 * * *', '2026-11-01T00:00:00Z', 3, 'America/New_York'), ['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    // A daily midnight schedule right after the 23-hour day is not skipped.
    assert.deepEqual(nextN('0 0 * * *', '2026-03-08T04:00:00Z', 2, 'America/New_York'), ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
  });

  test('activations between two instants: counted, with the latest, and only "more than the limit" past it', () => {
    const every = parseCron('*/1 * * * *');
    assert.deepEqual(activationsBetween(every, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:05:30Z')), { count: 5, latestMs: at('2026-01-01T00:05:00Z') });
    assert.deepEqual(activationsBetween(every, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:30Z')), { count: 0, latestMs: undefined });
    const many = activationsBetween(every, at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), 'UTC', 100);
    assert.equal(many.count, 101, 'counting stops past the limit');
    assert.equal(iso(many.latestMs), '2026-01-02T00:00:00.000Z', 'but the latest is still the latest');
  });
});
