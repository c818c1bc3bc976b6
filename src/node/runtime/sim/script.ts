/**
 * What a simulated container does, read from its image name and its pod's
 * annotations. Pure: parsing only. The grammar (docs/node-runtime.md has the
 * same table):
 *
 * Images under `sim/` name a behaviour; the tag, when numeric, is the exit code:
 *   sim/run                      run until stopped (any other image does too)
 *   sim/exit-after-<dur>[:code]  exit after <dur> with code (default 0): a Job's task
 *   sim/crash-after-<dur>[:code] exit after <dur> with code (default 1)
 *   sim/oom-after-<dur>          killed for memory after <dur>: exit 137, reason OOMKilled
 *   sim/ignore-sigterm           ignores SIGTERM: killed at the end of the grace period (137)
 *   sim/pull-fail                the pull fails (ErrImagePull)
 *   sim/start-fail               the start fails (RunContainerError)
 *
 * Pod annotations `sim.kubethreads.io/<key>` override the image and the
 * runtime's defaults; `sim.kubethreads.io/<key>.<container>` applies to one
 * container only and wins over the pod-wide key:
 *   pull-ms, start-ms            latencies of PullImage and StartContainer (duration)
 *   exit-after, exit-code        exit schedule
 *   crash-attempts: N            the exit schedule applies to attempts 0..N-1 only, then the
 *                                container runs until stopped (a crash loop that heals)
 *   stop-ms                      time from SIGTERM to exit (past the grace period: killed, 137)
 *   term-exit-code               exit code after SIGTERM (default 143, a process with no handler)
 *   jitter: 0..1                 every duration above is scaled by 1 ± jitter·random
 *   log-every                    write a heartbeat line to the log this often
 *   pull-fail, start-fail, oom: "true"
 *
 * Durations are Go style: 500ms, 5s, 2m, 1h30m; a bare number is milliseconds.
 */
import { EXIT_CODE_SIGTERM } from '../../cri/protocol.js';
import { parseDurationMs } from '../core/duration.js';
import { imageParts } from '../core/image.js';

export const SIM_ANNOTATION_PREFIX = 'sim.kubethreads.io/';
/** Any sim duration is capped at a day: longer is a typo, and it keeps virtual-time arithmetic far from float trouble. */
export const SIM_DURATION_MS_MAX = 86_400_000;

export interface SimDefaults {
  pullMs: number;
  startMs: number;
  stopMs: number;
  jitter: number;
}

export const DEFAULT_SIM_DEFAULTS: SimDefaults = Object.freeze({ pullMs: 0, startMs: 0, stopMs: 0, jitter: 0 });

/** Per container, small on purpose: 10,000 of these must fit easily. */
export interface SimScript {
  pullMs: number;
  startMs: number;
  stopMs: number;
  /** Exit this long after starting; -1: run until stopped. */
  exitAfterMs: number;
  exitCode: number;
  oom: boolean;
  /** Attempts at or past this run until stopped; -1: every attempt follows the schedule. */
  crashAttempts: number;
  termExitCode: number;
  ignoreSigterm: boolean;
  pullFail: boolean;
  startFail: boolean;
  jitter: number;
  /** Heartbeat log period; 0: none. */
  logEveryMs: number;
}

export class SimScriptError extends Error {
  override name = 'SimScriptError';
}

function exitCodeOf(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new SimScriptError(`${what}: exit code ${JSON.stringify(text)} must be an integer 0..255`);
  return n;
}

function durationOf(text: string, what: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < 0 || ms > SIM_DURATION_MS_MAX) throw new SimScriptError(`${what}: ${JSON.stringify(text)} is not a duration like 500ms, 5s or 1m (at most a day)`);
  return ms;
}

function hasSimAnnotation(annotations: Record<string, string>): boolean {
  for (const key in annotations) if (key.startsWith(SIM_ANNOTATION_PREFIX)) return true;
  return false;
}

/** Parse the image grammar and the annotations. Throws SimScriptError with a message for the user on a malformed value. */
export function parseSimScript(image: string, containerName: string, attempt: number, annotations: Record<string, string> | undefined, defaults: SimDefaults = DEFAULT_SIM_DEFAULTS): SimScript {
  const script: SimScript = {
    pullMs: defaults.pullMs,
    startMs: defaults.startMs,
    stopMs: defaults.stopMs,
    exitAfterMs: -1,
    exitCode: 0,
    oom: false,
    crashAttempts: -1,
    termExitCode: EXIT_CODE_SIGTERM,
    ignoreSigterm: false,
    pullFail: false,
    startFail: false,
    jitter: defaults.jitter,
    logEveryMs: 0,
  };
  const { repository, name, tag } = imageParts(image);
  if (repository.startsWith('sim/')) {
    const timed = /^(exit|crash|oom)-after-(.+)$/.exec(name);
    if (timed !== null) {
      script.exitAfterMs = durationOf(timed[2]!, image);
      if (timed[1] === 'oom') {
        script.oom = true;
        script.exitCode = 137;
      } else {
        script.exitCode = /^\d+$/.test(tag) ? exitCodeOf(tag, image) : timed[1] === 'crash' ? 1 : 0;
      }
    } else if (name === 'ignore-sigterm') script.ignoreSigterm = true;
    else if (name === 'pull-fail') script.pullFail = true;
    else if (name === 'start-fail') script.startFail = true;
    else if (name !== 'run') throw new SimScriptError(`image ${image}: unknown sim behaviour ${JSON.stringify(name)}; use run, exit-after-<dur>, crash-after-<dur>, oom-after-<dur>, ignore-sigterm, pull-fail or start-fail`);
  }
  // Most pods carry no sim annotation: then the twelve keys below (two names built for each) need not be looked up.
  if (annotations !== undefined && hasSimAnnotation(annotations)) {
    const get = (key: string): string | undefined => annotations?.[`${SIM_ANNOTATION_PREFIX}${key}.${containerName}`] ?? annotations?.[`${SIM_ANNOTATION_PREFIX}${key}`];
    const flag = (key: string): boolean | undefined => {
      const v = get(key);
      if (v === undefined) return undefined;
      if (v !== 'true' && v !== 'false') throw new SimScriptError(`annotation ${SIM_ANNOTATION_PREFIX}${key}: ${JSON.stringify(v)} must be "true" or "false"`);
      return v === 'true';
    };
    const durationKey = (key: string): number | undefined => {
      const v = get(key);
      return v === undefined ? undefined : durationOf(v, `annotation ${SIM_ANNOTATION_PREFIX}${key}`);
    };
    script.pullMs = durationKey('pull-ms') ?? script.pullMs;
    script.startMs = durationKey('start-ms') ?? script.startMs;
    script.stopMs = durationKey('stop-ms') ?? script.stopMs;
    script.exitAfterMs = durationKey('exit-after') ?? script.exitAfterMs;
    script.logEveryMs = durationKey('log-every') ?? script.logEveryMs;
    const exitCode = get('exit-code');
    if (exitCode !== undefined) script.exitCode = exitCodeOf(exitCode, `annotation ${SIM_ANNOTATION_PREFIX}exit-code`);
    const termExitCode = get('term-exit-code');
    if (termExitCode !== undefined) script.termExitCode = exitCodeOf(termExitCode, `annotation ${SIM_ANNOTATION_PREFIX}term-exit-code`);
    const crashAttempts = get('crash-attempts');
    if (crashAttempts !== undefined) {
      const n = Number(crashAttempts);
      if (!Number.isInteger(n) || n < 0) throw new SimScriptError(`annotation ${SIM_ANNOTATION_PREFIX}crash-attempts: ${JSON.stringify(crashAttempts)} must be a non-negative integer`);
      script.crashAttempts = n;
    }
    const jitter = get('jitter');
    if (jitter !== undefined) {
      const j = Number(jitter);
      if (!(j >= 0 && j <= 1)) throw new SimScriptError(`annotation ${SIM_ANNOTATION_PREFIX}jitter: ${JSON.stringify(jitter)} must be a number in [0, 1]`);
      script.jitter = j;
    }
    script.pullFail = flag('pull-fail') ?? script.pullFail;
    script.startFail = flag('start-fail') ?? script.startFail;
    const oom = flag('oom');
    if (oom !== undefined) {
      script.oom = oom;
      if (oom) script.exitCode = 137;
    }
  }
  if (script.crashAttempts >= 0 && attempt >= script.crashAttempts) script.exitAfterMs = -1;
  return script;
}

/** A duration with the script's jitter applied: `ms · (1 ± jitter·u)` for u from the actor's seeded stream. */
export function jittered(ms: number, jitter: number, random: () => number): number {
  if (jitter === 0 || ms === 0) return ms;
  return Math.max(0, ms * (1 + jitter * (2 * random() - 1)));
}
