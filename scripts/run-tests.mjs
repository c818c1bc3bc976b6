#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner.
// Arguments filter by substring of the path: `npm test -- raft` runs the raft tests only.
//
// Two lanes run side by side, each one file at a time: "io" holds the files
// that start real listeners, child processes or whole threaded clusters
// (they would collide on loopback addresses and ports if two ran at once),
// "sim" everything else (pure and simulated tests, which share nothing).
// On 2 cores this halves the wall time without letting two clusters meet.
// A file that starts threads but binds no port and spawns no process says so on a
// line of its own (`// test-lane: threads-only`) and runs in the sim lane: the io
// lane is the longer one, and such a file cannot collide with anything there.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = walk('dist', []).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'} under dist/; did the build run?`);
  process.exit(1);
}

const IO_MARKERS = /ThreadedSystem|EtcdCluster|startCluster|node:net|node:http|node:https|node:child_process|kubectl|runtime: 'threaded'|processRuntime|execFile|spawnSync/;
const lanes = { io: [], sim: [] };
// Benchmarks' smoke tests start clusters through their run modules, so their own text does not say so.
const THREADS_ONLY = /^\/\/ test-lane: threads-only\b/m;
const isIo = (file) => {
  const text = readFileSync(file, 'utf8');
  if (THREADS_ONLY.test(text)) return false;
  return file.startsWith(join('dist', 'bench')) || IO_MARKERS.test(text);
};
for (const file of files) (isIo(file) ? lanes.io : lanes.sim).push(file);

// Tests crash actors on purpose; their error logs would bury the report. LOG_LEVEL=info shows them.
const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'fatal' };
const sequential = process.env.TEST_LANES === '1';

function runLane(name, laneFiles) {
  if (laneFiles.length === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...laneFiles], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Each line says its lane, so two lanes' reports stay readable side by side.
    const prefix = (stream, out) => {
      let rest = '';
      stream.on('data', (chunk) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) out.write(`[${name}] ${line}\n`);
      });
      stream.on('end', () => rest && out.write(`[${name}] ${rest}\n`));
    };
    prefix(child.stdout, process.stdout);
    prefix(child.stderr, process.stderr);
    child.on('exit', (code) => {
      process.stdout.write(`[${name}] lane done: ${laneFiles.length} files, exit ${code}\n`);
      resolve(code ?? 1);
    });
  });
}

const codes = sequential
  ? [await runLane('io', lanes.io), await runLane('sim', lanes.sim)]
  : await Promise.all([runLane('io', lanes.io), runLane('sim', lanes.sim)]);
process.exit(codes.every((c) => c === 0) ? 0 : 1);
