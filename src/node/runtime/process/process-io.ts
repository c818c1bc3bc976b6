/**
 * I/O EDGE of the process runtime: the only module of src/node that spawns
 * processes, sends signals and touches files directly. Everything here is
 * real I/O; it runs in the threaded runtime only. The runtime's logic
 * (process-runtime.ts) reaches it through the ProcessIo interface.
 *
 * Layout of the runtime's data dir:
 *   logs/<sandboxId>/<name>_<attempt>_<containerId>.log   stdout and stderr, interleaved as written
 *   pids/<containerId>.json                               {pid, pgid, runtimeId} while the container runs
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { completeUtf8, tailStart } from '../core/memory-log.js';
import type { LogSlice } from '../core/server.js';
import { RUNTIME_ID_ENV, WATCHDOG_SCRIPT } from './watchdog.js';

/** How much of a log's end `tailLines` looks at: a megabyte of lines is more than any terminal shows. */
export const TAIL_SCAN_BYTES_MAX = 1024 * 1024;

export interface SpawnSpec {
  containerId: string;
  executable: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | undefined;
  logPath: string;
}

export interface RunningProcess {
  pid: number;
  /** The process group (the wrapper's pid): signals go to all of it. */
  pgid: number;
}

export interface PidRecord {
  containerId: string;
  pid: number;
  pgid: number;
  runtimeId: string;
}

export interface ProcessIo {
  /** Where one container instance's log goes. */
  logPathFor(sandboxId: string, name: string, attempt: number, containerId: string): string;
  /** Start the container under the watchdog wrapper; `onExit` gets its exit code once. Throws on spawn failure. */
  spawn(spec: SpawnSpec, onExit: (exitCode: number) => void): RunningProcess;
  /** Signal the whole group; a group that is already gone is not an error. */
  signalGroup(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void;
  isAlive(pid: number): boolean;
  /** Resolve an executable as a shell would: a path if it has a slash, else the first match on PATH. */
  findExecutable(name: string, pathEnv: string): string | undefined;
  isDirectory(dir: string): boolean;
  logSize(logPath: string): number;
  readLog(logPath: string, offsetBytes: number, limitBytes: number): LogSlice;
  tailOffset(logPath: string, lines: number): number;
  removeLog(logPath: string): void;
  writePidRecord(record: PidRecord): void;
  removePidRecord(containerId: string): void;
  /**
   * Kill what an earlier incarnation of this runtime left behind: every
   * process whose environment carries `runtimeId` (found through /proc),
   * and every recorded group whose leader still carries it. Returns the pids killed.
   */
  killOrphans(runtimeId: string): number[];
}

export class NodeProcessIo implements ProcessIo {
  private readonly children = new Map<number, ChildProcess>();

  constructor(readonly dataDir: string) {
    fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true });
    fs.mkdirSync(path.join(dataDir, 'pids'), { recursive: true });
  }

  logPathFor(sandboxId: string, name: string, attempt: number, containerId: string): string {
    return path.join(this.dataDir, 'logs', sandboxId, `${name}_${attempt}_${containerId}.log`);
  }

  spawn(spec: SpawnSpec, onExit: (exitCode: number) => void): RunningProcess {
    fs.mkdirSync(path.dirname(spec.logPath), { recursive: true });
    const logFd = fs.openSync(spec.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, `kubethreads-watchdog:${spec.containerId}`, spec.executable, ...spec.args], {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['pipe', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    if (child.pid === undefined) throw new Error(`could not spawn /bin/sh for container ${spec.containerId}`);
    const pid = child.pid;
    this.children.set(pid, child);
    let reported = false;
    const report = (code: number): void => {
      if (reported) return;
      reported = true;
      this.children.delete(pid);
      onExit(code);
    };
    child.on('exit', (code, signal) => report(code ?? 128 + (signal === null ? 0 : signalNumber(signal))));
    child.on('error', () => report(127));
    // The pipe is the watchdog's lifeline: never write, never end it while the container runs.
    child.stdin?.on('error', () => undefined);
    return { pid, pgid: pid };
  }

  signalGroup(pgid: number, signal: 'SIGTERM' | 'SIGKILL'): void {
    try {
      process.kill(-pgid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  isAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  findExecutable(name: string, pathEnv: string): string | undefined {
    if (name.includes('/')) return isExecutable(name) ? name : undefined;
    for (const dir of pathEnv.split(':')) {
      if (dir === '') continue;
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
    return undefined;
  }

  isDirectory(dir: string): boolean {
    try {
      return fs.statSync(dir).isDirectory();
    } catch {
      return false;
    }
  }

  logSize(logPath: string): number {
    try {
      return fs.statSync(logPath).size;
    } catch {
      return 0;
    }
  }

  readLog(logPath: string, offsetBytes: number, limitBytes: number): LogSlice {
    let fd: number;
    try {
      fd = fs.openSync(logPath, 'r');
    } catch {
      return { data: '', nextOffsetBytes: offsetBytes };
    }
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.max(0, Math.min(limitBytes, size - offsetBytes));
      const buffer = Buffer.alloc(length);
      const read = length === 0 ? 0 : fs.readSync(fd, buffer, 0, length, offsetBytes);
      const slice = completeUtf8(buffer.subarray(0, read), offsetBytes + read < size);
      return { data: slice.toString('utf8'), nextOffsetBytes: offsetBytes + slice.length };
    } finally {
      fs.closeSync(fd);
    }
  }

  tailOffset(logPath: string, lines: number): number {
    const size = this.logSize(logPath);
    const start = Math.max(0, size - TAIL_SCAN_BYTES_MAX);
    const fd = fs.openSync(logPath, 'r');
    try {
      const buffer = Buffer.alloc(size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      return start + tailStart(buffer, lines);
    } finally {
      fs.closeSync(fd);
    }
  }

  removeLog(logPath: string): void {
    fs.rmSync(logPath, { force: true });
  }

  writePidRecord(record: PidRecord): void {
    const file = path.join(this.dataDir, 'pids', `${record.containerId}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
    fs.renameSync(`${file}.tmp`, file);
  }

  removePidRecord(containerId: string): void {
    fs.rmSync(path.join(this.dataDir, 'pids', `${containerId}.json`), { force: true });
  }

  killOrphans(runtimeId: string): number[] {
    const killed = new Set<number>();
    const marker = `${RUNTIME_ID_ENV}=${runtimeId}`;
    const pidsDir = path.join(this.dataDir, 'pids');
    for (const name of fs.readdirSync(pidsDir)) {
      const file = path.join(pidsDir, name);
      try {
        const record = JSON.parse(fs.readFileSync(file, 'utf8')) as PidRecord;
        // A recycled pid belongs to someone else: kill only a group whose leader still carries our mark.
        if (record.runtimeId === runtimeId && environHas(record.pgid, marker)) {
          this.signalGroup(record.pgid, 'SIGKILL');
          killed.add(record.pgid);
        }
      } catch {
        // A torn record (the host died mid-write) names nothing we can trust.
      }
      fs.rmSync(file, { force: true });
    }
    for (const pid of listProcesses()) {
      if (pid === process.pid || !environHas(pid, marker)) continue;
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // Gone already.
      }
    }
    return [...killed];
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function listProcesses(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** Whether /proc/<pid>/environ holds `entry` exactly. False when unreadable (not ours, gone, or no /proc). */
function environHas(pid: number, entry: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}
