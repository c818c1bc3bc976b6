/**
 * The JSONPath subset CustomResourceDefinitions use for printer columns and
 * scale paths: `.spec.replicas`, `.items[0].name`, `.items[*].name`,
 * `.status.conditions[?(@.type=="Ready")].status`. Pure.
 */
import { isObject } from '../patch.js';

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

/** Parsed paths, once per text: every table row of every list evaluates them. */
const parsed = new Map<string, Step[] | Error>();

/** The steps of a path, or an Error saying why it is not one. Braces (`{.spec.x}`) are accepted too. */
export function parseJsonPath(text: string): Step[] | Error {
  const cached = parsed.get(text);
  if (cached !== undefined) return cached;
  const result = parse(text);
  parsed.set(text, result);
  return result;
}

function parse(text: string): Step[] | Error {
  let rest = text.trim();
  if (rest.startsWith('{') && rest.endsWith('}')) rest = rest.slice(1, -1).trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  if (!rest.startsWith('.')) return new Error(`a JSONPath must start with ".": ${JSON.stringify(text)}`);
  const steps: Step[] = [];
  const token = /^\.([A-Za-z0-9_\-$]+)|^\[(\d+)\]|^\[\*\]|^\[\?\(@\.([A-Za-z0-9_.\-]+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]|^\['([^']+)'\]/;
  while (rest !== '') {
    const m = token.exec(rest);
    if (m === null) return new Error(`unsupported JSONPath at ${JSON.stringify(rest)} in ${JSON.stringify(text)}`);
    if (m[1] !== undefined) steps.push({ field: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ filter: { path: m[3].split('.'), value: m[4] ?? m[5] ?? '' } });
    else if (m[6] !== undefined) steps.push({ field: m[6] });
    else steps.push({ all: true });
    rest = rest.slice(m[0].length);
  }
  return steps;
}

/** Every value the path reaches in `object` (none when a step finds nothing). */
export function evaluateJsonPath(object: unknown, text: string): unknown[] {
  const steps = parseJsonPath(text);
  if (steps instanceof Error) return [];
  let current: unknown[] = [object];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (isObject(value) && value[step.field] !== undefined) next.push(value[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...value);
        else if (isObject(value)) next.push(...Object.values(value));
      } else if (Array.isArray(value)) {
        for (const item of value) {
          const found = step.filter.path.reduce<unknown>((c, p) => (isObject(c) ? c[p] : undefined), item);
          if (found !== undefined && String(found) === step.filter.value) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** Sets a value at a simple field path (`.spec.replicas`), creating objects on the way; false if the path is not fields only. */
export function setAtJsonPath(object: Record<string, unknown>, text: string, value: unknown): boolean {
  const steps = parseJsonPath(text);
  if (steps instanceof Error || steps.length === 0 || !steps.every((s) => 'field' in s)) return false;
  const fields = steps.map((s) => (s as { field: string }).field);
  let cursor: Record<string, unknown> = object;
  for (const field of fields.slice(0, -1)) {
    if (!isObject(cursor[field])) cursor[field] = {};
    cursor = cursor[field] as Record<string, unknown>;
  }
  cursor[fields[fields.length - 1]!] = value;
  return true;
}
