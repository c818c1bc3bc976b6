/**
 * CPU time of the calling thread alone. `process.cpuUsage()` counts every thread of the process, V8's own among
 * them: its compiler (TurboFan optimises on background threads) and its collector's helpers. In a simulated run those
 * used about 40 % of the process's CPU (docs/performance.md, issue #15, 2026-12-07), on the other core, so the
 * process's CPU time says little of what bounds the run's wall time: the thread the simulation runs on.
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc counts CPU time in these ticks (100 on every Linux Node supports). */
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU time of the calling thread in ms, from /proc/thread-self/stat (Linux, 10 ms ticks); NaN elsewhere. */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}
