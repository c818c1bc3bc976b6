/**
 * Test support: the same storage tests run against the in-memory disk and a
 * real directory. "Crash" on MemoryDisk is its `crash()`; on NodeDisk it is
 * dropping the disk object (with its unsynced writes) and opening the same
 * directory again, which is what a terminated thread leaves behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryDisk, type Disk, type DiskFaults } from '../actor/disk.js';
import { NodeDisk } from '../actor/node-disk.js';

export interface TestDisk {
  disk: Disk;
  faults: DiskFaults;
  /** Power loss: returns the disk as it is after the crash (the same object or a new one). */
  crash(): Disk;
  cleanup(): void;
}

export interface DiskKind {
  name: string;
  make(): TestDisk;
}

export const diskKinds: DiskKind[] = [
  {
    name: 'MemoryDisk',
    make() {
      const disk = new MemoryDisk();
      return {
        disk,
        faults: disk.faults,
        crash() {
          disk.crash();
          return disk;
        },
        cleanup() {},
      };
    },
  },
  {
    name: 'NodeDisk',
    make() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-storage-'));
      const handle: TestDisk = {
        disk: new NodeDisk(root, () => 0.5, () => {}),
        get faults() {
          return (handle.disk as NodeDisk).faults;
        },
        crash() {
          const faults = { ...(handle.disk as NodeDisk).faults };
          const next = new NodeDisk(root, () => 0.5, () => {});
          next.faults = faults;
          handle.disk = next;
          return next;
        },
        cleanup() {
          fs.rmSync(root, { recursive: true, force: true });
        },
      };
      return handle;
    },
  },
];

/** A copy of everything on the disk (files directly under the given dirs), to rebuild fresh disks from. */
export function copyDisk(from: Disk, to: Disk, dirs: string[]): void {
  for (const dir of dirs) {
    for (const name of from.list(dir)) {
      const file = dir === '' ? name : `${dir}/${name}`;
      to.write(file, from.read(file)!);
      to.fsync(file);
    }
    to.fsyncDir(dir);
  }
}
