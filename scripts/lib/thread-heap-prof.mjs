// Preload (`node --import`) that runs V8's sampling heap profiler inside every worker thread whose name matches
// $HEAPPROF_THREADS (a regular expression; default `etcd`), with collected objects kept in the profile, so it says
// what the thread allocated (garbage included) by allocation site, not only what survived. Every
// $HEAPPROF_EVERY_MS (default 10,000) it writes the profile so far to $HEAPPROF_DIR/<thread>.heapprofile
// (a thread ended by the run's end writes nothing on exit; the last write stands). Read the files with
// `node scripts/heap-prof-top.mjs FILE...` (issue #16: what a store replica allocates per pod):
//
//   HEAPPROF_DIR=/tmp/hp HEAPPROF_THREADS='etcd' LOG_LEVEL=warn \
//     node --import ./scripts/lib/thread-heap-prof.mjs dist/src/cli/main.js bench density --nodes 1000 --json
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { isMainThread, workerData } from 'node:worker_threads';

const name = isMainThread ? 'main' : String(workerData?.threadName ?? 'worker');
const dir = process.env.HEAPPROF_DIR;
if (dir !== undefined && new RegExp(process.env.HEAPPROF_THREADS ?? 'etcd').test(name)) {
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const interval = Number(process.env.HEAPPROF_INTERVAL_BYTES ?? 16384);
  session.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  setInterval(() => {
    session.post('HeapProfiler.getSamplingProfile', (error, result) => {
      if (error === null && result !== undefined) writeFileSync(`${dir}/${name}.heapprofile`, JSON.stringify(result.profile));
    });
  }, Number(process.env.HEAPPROF_EVERY_MS ?? 10_000)).unref();
}
