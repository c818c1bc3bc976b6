// Bytes this thread allocates over a stretch of code, collected objects included (V8's sampling heap profiler, one
// sample per KiB): a figure the machine's load does not move, for the one-path cost scripts (kv-apply-cost.mjs,
// wal-append-cost.mjs).
//
//   const sampling = await startAllocationSampling();  ...the code...  const bytes = await sampling.stop();
import { Session } from 'node:inspector';

export async function startAllocationSampling() {
  const session = new Session();
  session.connect();
  await new Promise((resolve) => session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, resolve));
  return {
    /** The sampled bytes allocated since the start; ends the sampling. */
    async stop() {
      const profile = await new Promise((resolve, reject) => session.post('HeapProfiler.stopSampling', (error, result) => (error ? reject(error) : resolve(result.profile))));
      session.disconnect();
      let allocated = 0;
      const visit = (node) => {
        allocated += node.selfSize;
        node.children.forEach(visit);
      };
      visit(profile.head);
      return allocated;
    },
  };
}
