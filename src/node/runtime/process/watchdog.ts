/**
 * The tiny shell wrapper every process container runs under, so that no
 * container outlives the cluster even when the cluster is SIGKILLed.
 *
 * The runtime spawns `sh -c WATCHDOG_SCRIPT <marker> <command> <args...>` as
 * the leader of a new process group, with a pipe on its stdin whose write end
 * only the runtime holds. The wrapper:
 *   1. starts the container in the background (stdin from /dev/null);
 *   2. starts a watchdog subshell that reads the pipe until EOF. EOF comes
 *      when the runtime's process dies, however it dies (the kernel closes
 *      the pipe), or when the runtime's thread is terminated (its handles are
 *      closed). The watchdog then SIGKILLs the whole process group, the
 *      container and anything it forked that stayed in the group;
 *   3. waits for the container, forwarding nothing: the runtime signals the
 *      group, so the container gets SIGTERM directly. The wrapper traps TERM
 *      only to keep waiting; the watchdog ignores TERM so it still guards the
 *      grace period;
 *   4. exits with the container's status (128 + n for signal n, as shells report it).
 *
 * What this does not catch: a descendant that leaves the process group
 * (setsid, a double-forking daemon). For those the runtime's start-up sweep
 * kills every process whose environment carries this runtime's id.
 */
export const WATCHDOG_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  "{ trap '' TERM INT HUP; while read -r _ <&3; do :; done; kill -KILL 0; } &",
  'watchdog=$!',
  'exec 3<&-',
  "trap ':' TERM",
  'while :; do',
  '  wait "$child"; status=$?',
  '  kill -0 "$child" 2>/dev/null || break',
  'done',
  'kill -KILL "$watchdog" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** The environment variable that marks every process of one runtime (inherited by all its descendants). */
export const RUNTIME_ID_ENV = 'KUBETHREADS_RUNTIME_ID';
