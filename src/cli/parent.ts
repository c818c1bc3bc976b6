/**
 * Is the process that started us still there? `npx kubethreads up` runs us
 * under npm's `sh -c`: on SIGTERM npm forwards the signal to that shell,
 * which dies without passing it on, and we are re-parented and orphaned
 * with the cluster's ports and threads. No signal reaches us, stdin may be
 * /dev/null from the start (`cmd &`, systemd), and Node's `process.ppid` is
 * read once at start-up, so the one signal left is our parent changing:
 * on Linux /proc/self/stat names the live parent; elsewhere we ask whether
 * the first parent still exists (kill 0).
 */
import { readFileSync } from 'node:fs';

/** The parent pid in the text of /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold spaces and parentheses). */
export function ppidFromStat(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) && ppid >= 0 ? ppid : undefined;
}

/** A check that answers false once the process that was our parent when this was called has gone. */
export function parentWatch(initialPpid: number = process.ppid): () => boolean {
  return () => {
    try {
      const ppid = ppidFromStat(readFileSync('/proc/self/stat', 'utf8'));
      if (ppid !== undefined) return ppid === initialPpid;
    } catch {
      // No /proc (macOS, BSD): fall through to asking after the first parent.
    }
    try {
      process.kill(initialPpid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
}
