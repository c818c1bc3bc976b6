#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's test runner.
// Arguments filter by substring of the path: `npm test -- raft` runs the raft tests only.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
// Tests crash actors on purpose; their error logs would bury the report. LOG_LEVEL=info shows them.
const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'fatal' };
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
