/**
 * `npm run chaos:store -- [--seeds N] [--from S] [--seed S] [--threaded] [--broken] [--snapshots]`:
 * the store's chaos run over many seeds. Prints each seed and its verdict;
 * exits 1 on the first history that is not linearizable, with the command
 * that replays it. `--broken` runs the deliberately unsafe replicas (local
 * reads without ReadIndex) to watch the check catch them. `--snapshots` makes
 * replicas snapshot every 30 entries, in 64-byte steps, sent to followers in
 * 256-byte chunks (read from the snapshot file past 4 KiB), so kills and
 * partitions land mid-snapshot and mid-transfer.
 */
import { runStoreChaos } from './store-chaos.js';

const argv = process.argv.slice(2);
const num = (flag: string, fallback: number): number => {
  const at = argv.indexOf(flag);
  if (at < 0) return fallback;
  const v = Number(argv[at + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`${flag} needs a non-negative integer`);
    process.exit(2);
  }
  return v;
};
const single = argv.includes('--seed') ? num('--seed', 1) : undefined;
const from = num('--from', 1);
const count = num('--seeds', 20);
const seeds = single !== undefined ? [single] : Array.from({ length: count }, (_, i) => from + i);
const runtime = argv.includes('--threaded') ? 'threaded' : 'simulated';
const broken = argv.includes('--broken');
const SNAPSHOTS_OFTEN = { snapshotEntries: 30, snapshotRetainEntries: 5, snapshotBatchBytes: 64, snapshotChunkBytes: 256, snapshotKeepBytesMax: 4096 };
const snapshots = argv.includes('--snapshots') ? SNAPSHOTS_OFTEN : {};
let failing = 0;
for (const seed of seeds) {
  const r = await runStoreChaos({ seed, runtime, replica: { ...snapshots, ...(broken ? { unsafeLocalReads: true } : {}) }, log: single !== undefined ? (l) => console.log(`  ${l}`) : undefined });
  console.log(`seed ${seed}: ${r.check.verdict}  ${r.operations} ops, ${r.acknowledgedWrites} acknowledged writes, ${r.unknown} unknown, ${(r.wallMs / 1000).toFixed(1)} s`);
  if (r.check.verdict === 'not-linearizable') {
    failing++;
    console.log(r.report.slice(0, 6000));
    console.log(`replay: npm run chaos:store -- --seed ${seed}${runtime === 'threaded' ? ' --threaded' : ''}${broken ? ' --broken' : ''}`);
    if (!broken) process.exit(1);
  }
}
console.log(`${seeds.length} seeds, ${failing} not linearizable`);
