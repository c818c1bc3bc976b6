// Preload (`node --import`) for a sampling heap profile of one thread of a threaded run: in every thread whose
// name matches $HEAPPROF_THREADS (a regular expression; default `^apiserver`), V8's sampling heap profiler runs
// from $HEAPPROF_FROM_S to $HEAPPROF_TO_S seconds after the thread started (defaults 20 and 45: a 1,000-node
// `bench density` burst) and the profile goes to $HEAPPROF_FILE.<thread>.heapprofile (DevTools opens it; read it
// with scripts/heap-profile-top.mjs). Worker threads inherit the preload; the inspector session is the
// thread's own, so the profile is that isolate's allocations alone.
//   HEAPPROF_SURVIVORS unset: every sampled allocation, collected or not (what the thread allocates: the
//     scavenges' work is proportional to it only through what survives, but the young generation fills with it);
//   HEAPPROF_SURVIVORS=1: objects a scavenge collected are dropped from the profile, so what is left survived
//     at least one scavenge (copied, mostly promoted to old space) or is still young at the stop: what makes the
//     scavenges and the mark-compacts cost.
// $HEAPPROF_INTERVAL is the mean bytes between samples (default 16384). Creating the file $HEAPPROF_FILE.stop stops
// the profile early (e.g. once the burst is over, before the teardown's allocations).
//
//   HEAPPROF_FILE=/tmp/hp LOG_LEVEL=warn node --import ./scripts/lib/thread-heap-profile.mjs \
//     dist/src/cli/main.js bench density --json
import { Session } from 'node:inspector';
import { existsSync, writeFileSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';

const name = isMainThread ? 'main' : String(workerData?.threadName ?? 'worker');
const file = process.env.HEAPPROF_FILE;
if (file !== undefined && new RegExp(process.env.HEAPPROF_THREADS ?? '^apiserver').test(name)) {
  const fromS = Number(process.env.HEAPPROF_FROM_S ?? 20);
  const toS = Number(process.env.HEAPPROF_TO_S ?? 45);
  const survivors = process.env.HEAPPROF_SURVIVORS === '1';
  const session = new Session();
  session.connect();
  const fail = (what) => (error) => {
    if (error) process.stderr.write(`thread-heap-profile ${name}: cannot ${what}: ${error.message}\n`);
  };
  setTimeout(() => {
    session.post(
      'HeapProfiler.startSampling',
      {
        samplingInterval: Number(process.env.HEAPPROF_INTERVAL ?? 16384),
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: !survivors,
      },
      fail('start sampling'),
    );
    // The thread may be ended before the stop (the bench terminates its workers), so the profile so far is
    // also written every 10 s.
    const write = (method, why) =>
      session.post(method, (error, result) => {
        if (error) return fail(method)(error);
        writeFileSync(`${file}.${name}.heapprofile`, JSON.stringify(result.profile));
        if (why !== undefined) process.stderr.write(`thread-heap-profile ${name}: wrote ${file}.${name}.heapprofile (${why})\n`);
      });
    const interim = setInterval(() => write('HeapProfiler.getSamplingProfile'), 10_000).unref();
    const startedMs = Date.now();
    const stopAt = setInterval(() => {
      if (Date.now() - startedMs < (toS - fromS) * 1000 && !existsSync(`${file}.stop`)) return;
      clearInterval(interim);
      clearInterval(stopAt);
      write('HeapProfiler.stopSampling', `from ${fromS} s for ${((Date.now() - startedMs) / 1000).toFixed(0)} s${survivors ? ', survivors of scavenges' : ''}`);
    }, 250).unref();
  }, fromS * 1000).unref();
}
