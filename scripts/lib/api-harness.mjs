// The API server's handlers alone over a LocalKvClient whose watch events come a turn after the write's answer (as
// over threads, mostly), for the scripts that measure one write's cost without the threads around it
// (api-write-cost.mjs, status-write-cost.mjs). DIST picks the build, so two checkouts compare.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

export async function startApiHarness(distArg) {
  const dist = pathToFileURL(resolve(distArg)).href;
  const { LocalKvClient } = await import(`${dist}/src/kv/client/local-client.js`);
  const { ApiHandlers } = await import(`${dist}/src/api/handlers.js`);
  const { findResource } = await import(`${dist}/src/api/resources.js`);
  const { fakeClock, seededRandom } = await import(`${dist}/src/api/testing.js`);
  const clock = fakeClock();
  const kv = new LocalKvClient({ now: clock.now });
  const late = Object.assign(Object.create(kv), {
    watch: (key, options, on) => kv.watch(key, options, {
      ...on,
      onEvents: (events, revision) => setImmediate(() => on.onEvents(events, revision)),
      onProgress: (revision) => setImmediate(() => on.onProgress?.(revision)),
    }),
  });
  const handlers = new ApiHandlers({ kv: late, now: clock.now, random: seededRandom(1) });
  await handlers.start();
  return { dist, kv, handlers, registry: handlers.registry, pods: findResource('', 'v1', 'pods') };
}
