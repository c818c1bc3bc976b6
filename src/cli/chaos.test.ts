import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const TINY = `name: tiny
description: one leader kill, one client
workload: { register: { clients: 1, thinkMs: 50 } }
nemesis:
  - { atMs: 1000, fault: kill, target: leader }
durationMs: 3000
checks: [linearizable, no-lost-writes]
`;

function kubethreads(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'fatal' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kubethreads chaos run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-cli-'));
  const scenario = join(dir, 'tiny.yaml');
  writeFileSync(scenario, TINY);

  test('a passing run exits 0, prints the seed and the replay command at the start and the end, and writes the four files', () => {
    const out = join(dir, 'out');
    const r = kubethreads(['chaos', 'run', scenario, '--sim', '--seed', '4', '--out', out]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const replay = `replay: npx kubethreads chaos run ${scenario} --seed 4 --sim`;
    assert.equal(r.stderr.split('\n').filter((l) => l === replay).length, 2, r.stderr);
    assert.match(r.stdout, /tiny: PASS/);
    for (const f of ['result.json', 'history.jsonl', 'report.html', 'timing.json']) assert.ok(existsSync(join(out, f)), f);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { verdict: string; seed: number; faults: Array<{ newLeaderMs: number | null }> };
    assert.equal(result.verdict, 'pass');
    assert.equal(result.seed, 4);
    assert.notEqual(result.faults[0]!.newLeaderMs, null);
  });

  test('a failing check exits 1; --json prints result.json', () => {
    const failing = join(dir, 'failing.yaml');
    writeFileSync(failing, TINY.replace('checks: [linearizable, no-lost-writes]', 'checks: [{ check: unavailability, maxMs: 1 }]'));
    const r = kubethreads(['chaos', 'run', failing, '--sim', '--seed', '4', '--out', join(dir, 'out2'), '--json']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { verdict: string }).verdict, 'fail');
  });

  test('a bad scenario exits 2 naming the line and the field', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, TINY.replace('durationMs: 3000', 'durationMs: soon'));
    const r = kubethreads(['chaos', 'run', bad, '--sim']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yaml:6: durationMs: must be a number, got "soon"/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('kubethreads chaos study', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-study-cli-'));
  const scenario = join(dir, 'tiny.yaml');
  writeFileSync(scenario, TINY);
  const study = (out: string, ...more: string[]) => kubethreads(['chaos', 'study', scenario, '--vary', 'cluster.electionTicks=10,12', '--seeds', '3', '--figure', 'newLeaderMs', '--out', join(dir, out), ...more]);

  test('--workers 1 and --workers 2 print the same study.json and write the same study.json and study.html, byte for byte', () => {
    const serial = study('serial', '--workers', '1', '--json');
    const pooled = study('pooled', '--workers', '2', '--json');
    assert.equal(serial.status, 0, serial.stderr);
    assert.equal(pooled.status, 0, pooled.stderr);
    assert.equal(pooled.stdout, serial.stdout);
    for (const f of ['study.json', 'study.html']) assert.equal(readFileSync(join(dir, 'pooled', f), 'utf8'), readFileSync(join(dir, 'serial', f), 'utf8'), f);
    assert.match(serial.stderr, /one run at a time in this thread/);
    assert.match(pooled.stderr, /2 worker threads/);
    assert.match(pooled.stderr, /^\[6\/6\] cluster\.electionTicks=1[02] seed [123]$/m);
    assert.match(pooled.stderr, /^6 runs in [\d.]+ s wall on 2 worker threads/m);
  });

  test('a run that throws exits 1 naming its setting and seed, and how to run it alone', () => {
    const r = kubethreads(['chaos', 'study', scenario, '--vary', 'cluster.replicas=0', '--seeds', '2', '--workers', '2', '--out', join(dir, 'broken')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /the run of cluster\.replicas=0 with seed 1 failed; the study stopped/);
    assert.match(r.stderr, /odd number of replicas/);
    assert.match(r.stderr, /run it alone: set cluster\.replicas to 0 in .*tiny\.yaml, then npx kubethreads chaos run .*tiny\.yaml --seed 1 --sim/);
    rmSync(dir, { recursive: true, force: true });
  });
});
