// A V8 .cpuprofile (`node --cpu-prof`) read for the profile scripts: its nodes by id, each node's parent, and a
// node's label (function and file:line, paths shortened to dist/ or node_modules/).
import { readFileSync } from 'node:fs';

export function loadCpuProfile(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return { profile, byId, parent };
}

export function frameLabel(n) {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
}
