/**
 * What the disk gives without Raft: small appends each followed by an fsync, back to
 * back, for a fixed time. Two ways: a bare file descriptor held open (the disk's own
 * rate), and NodeDisk's append + fsync (the rate through our Disk layer, which opens
 * the file for each call). The WAL can beat either only by batching entries per fsync.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodeDisk } from '../../src/storage/index.js';

export interface FsyncProbe {
  fsyncs: number;
  elapsedMs: number;
}

/** Append `recordBytes` then fsync, repeatedly, for `durationMs`, on a file held open. */
export function probeRawFsyncs(dir: string, recordBytes: number, durationMs: number): FsyncProbe {
  const file = path.join(dir, 'raw-fsync.probe');
  const record = new Uint8Array(recordBytes).fill(0x5a);
  const fd = fs.openSync(file, 'a');
  try {
    let fsyncs = 0;
    const started = performance.now();
    let elapsedMs = 0;
    while (elapsedMs < durationMs) {
      fs.writeSync(fd, record);
      fs.fsyncSync(fd);
      fsyncs++;
      elapsedMs = performance.now() - started;
    }
    return { fsyncs, elapsedMs };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/** The same through NodeDisk (what RaftStorage's WAL uses). */
export function probeNodeDiskFsyncs(dir: string, recordBytes: number, durationMs: number): FsyncProbe {
  const disk = new NodeDisk(path.join(dir, 'nodedisk-probe'));
  const record = new Uint8Array(recordBytes).fill(0x5a);
  disk.write('probe', new Uint8Array(0));
  let fsyncs = 0;
  const started = performance.now();
  let elapsedMs = 0;
  while (elapsedMs < durationMs) {
    disk.append('probe', record);
    disk.fsync('probe');
    fsyncs++;
    elapsedMs = performance.now() - started;
  }
  return { fsyncs, elapsedMs };
}
