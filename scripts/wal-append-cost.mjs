#!/usr/bin/env node
// What a store replica's WAL append costs per entry (issue #16), alone in one thread: the records of a Ready's
// entries (a density burst's ~1.5 KB pod writes) built, checksummed and written to a real file in a temporary
// directory (NodeDisk: the write reaches the page cache, as every replica's append does; no fsync, which is the
// disk's time, not the thread's), in the background mode every replica runs, after one fsync. Prints the thread's
// user and system CPU and the minor page faults per entry and, with --alloc, the bytes V8's sampling heap profiler
// saw allocated per entry. DIR picks the build, so one script measures two builds.
//
//   node scripts/wal-append-cost.mjs [DIR=.] [ENTRIES=40000] [ENTRIES_PER_APPEND=64] [ENTRY_BYTES=1500] [--alloc]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startAllocationSampling } from './lib/sampled-allocation.mjs';

const args = process.argv.slice(2);
const alloc = args.includes('--alloc');
const [dirArg = '.', entriesArg = '40000', batchArg = '64', bytesArg = '1500'] = args.filter((a) => !a.startsWith('--'));
const dir = resolve(dirArg);
const total = Number(entriesArg);
const batch = Number(batchArg);
const entryBytes = Number(bytesArg);
if (![total, batch, entryBytes].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: wal-append-cost.mjs [DIR] [ENTRIES] [ENTRIES_PER_APPEND] [ENTRY_BYTES] [--alloc]');
  process.exit(2);
}
const { Wal, NodeDisk } = await import(pathToFileURL(join(dir, 'dist/src/storage/index.js')).href);

const root = mkdtempSync(join(tmpdir(), 'wal-append-cost-'));
try {
  // Segments large enough that no rotation (an fsync of its own) falls inside the measured appends.
  // In the background mode every replica runs (appends on the thread, fsyncs off it).
  const { wal } = Wal.open(new NodeDisk(root), { segmentBytesMax: 1024 * 1024 * 1024, background: true });
  // Each entry its own bytes, as a follower's decoded append gives it (a copy per entry), made before the clock starts.
  const data = [];
  for (let i = 0; i < 256; i++) {
    const d = new Uint8Array(entryBytes);
    for (let j = 0; j < d.length; j++) d[j] = (i * 31 + j * 7) & 0xff;
    data.push(d);
  }
  let index = 0;
  const appendOne = (n) => {
    const entries = [];
    for (let k = 0; k < n; k++) {
      index++;
      entries.push({ index, term: 1, type: 'normal', data: data[index % data.length] });
    }
    wal.append({ entries, hardState: { term: 1, vote: 1, commit: Math.max(0, index - n) } });
  };
  // Warm-up: the JIT and the file's first pages, outside the measurement.
  for (let i = 0; i < 200; i++) appendOne(batch);
  // One fsync, as a replica's first write has: after it the disk keeps the segment's descriptor for the next.
  await new Promise((r) => wal.sync(r));
  const sampling = alloc ? await startAllocationSampling() : undefined;
  const appends = Math.ceil(total / batch);
  const faultsBefore = process.resourceUsage().minorPageFault;
  const before = process.cpuUsage();
  for (let i = 0; i < appends; i++) appendOne(batch);
  const cpu = process.cpuUsage(before);
  // Pages the process touched for the first time (the kernel's minor faults): a count the machine's load does not move.
  const faults = process.resourceUsage().minorPageFault - faultsBefore;
  const allocated = await sampling?.stop();
  const n = appends * batch;
  console.log(JSON.stringify({
    dir, entries: n, entries_per_append: batch, entry_bytes: entryBytes,
    minor_faults_per_entry: +(faults / n).toFixed(3),
    user_us_per_entry: +(cpu.user / n).toFixed(3), system_us_per_entry: +(cpu.system / n).toFixed(3), cpu_us_per_entry: +((cpu.user + cpu.system) / n).toFixed(3),
    ...(allocated === undefined ? {} : { allocated_bytes_per_entry: Math.round(allocated / n) }),
  }));
} finally {
  rmSync(root, { recursive: true, force: true });
}
