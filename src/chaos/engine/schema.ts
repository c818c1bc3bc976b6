/**
 * Validates a YAML document against a JSON Schema, naming the line and the
 * field of every error. Only the subset our scenario schema uses: type,
 * properties, required, additionalProperties: false, enum, const, minimum,
 * maximum, exclusiveMinimum, minItems, items, oneOf (object branches are told
 * apart by a property with a `const`, such as `fault: kill`).
 *
 * Pure: text in, errors out.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { JsonSchema } from './types.js';

export interface SchemaError {
  /** 1-based line of the offending node (or of its parent for a missing field). */
  line: number;
  /** Dotted path to the field: `nemesis[2].durationMs`; '' for the whole document. */
  path: string;
  message: string;
}

/** Errors reported per document at most. Why: one wrong indentation can cascade; the first few are what a person fixes. */
export const SCHEMA_ERRORS_MAX = 20;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly file: string,
    readonly errors: SchemaError[],
  ) {
    super(errors.map((e) => `${file}:${e.line}: ${e.path === '' ? '' : `${e.path}: `}${e.message}`).join('\n'));
  }
}

type Kind = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

interface Walk {
  lines: LineCounter;
  errors: SchemaError[];
}

/** Parses `text` as YAML and validates it; returns the plain value or throws `ScenarioError`. */
export function parseYamlWithSchema(text: string, file: string, schema: JsonSchema): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: SchemaError[] = [];
  for (const error of doc.errors) {
    errors.push({ line: error.linePos?.[0]?.line ?? 1, path: '', message: `YAML: ${error.message.split('\n')[0]}` });
  }
  if (errors.length > 0) throw new ScenarioError(file, errors);
  validateDocument(doc, lines, schema, errors);
  if (errors.length > 0) throw new ScenarioError(file, errors.slice(0, SCHEMA_ERRORS_MAX));
  return doc.toJS({ maxAliasCount: 100 });
}

function validateDocument(doc: Document, lines: LineCounter, schema: JsonSchema, errors: SchemaError[]): void {
  const root = doc.contents as Node | null;
  if (root === null) {
    errors.push({ line: 1, path: '', message: 'the file is empty; a scenario is a YAML mapping (see scenarios/scenario.schema.json)' });
    return;
  }
  validate(root, schema, '', { lines, errors });
}

function lineOf(walk: Walk, node: Node | null | undefined, fallback: number): number {
  const offset = node?.range?.[0];
  return offset === undefined ? fallback : walk.lines.linePos(offset).line;
}

function kindOf(node: Node): Kind {
  if (isMap(node)) return 'object';
  if (isSeq(node)) return 'array';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
    if (typeof v === 'boolean') return 'boolean';
    return 'string';
  }
  return 'null';
}

function typeMatches(kind: Kind, type: unknown): boolean {
  const types = Array.isArray(type) ? (type as string[]) : typeof type === 'string' ? [type] : undefined;
  if (types === undefined) return true;
  return types.some((t) => t === kind || (t === 'number' && kind === 'integer'));
}

function describeType(type: unknown): string {
  const types = Array.isArray(type) ? (type as string[]) : [String(type)];
  const words: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', null: 'null' };
  return types.map((t) => words[t] ?? t).join(' or ');
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

function push(walk: Walk, node: Node | null | undefined, path: string, message: string, fallbackLine = 1): void {
  if (walk.errors.length >= SCHEMA_ERRORS_MAX) return;
  walk.errors.push({ line: lineOf(walk, node, fallbackLine), path, message });
}

function scalarText(node: Node): string {
  return isScalar(node) ? JSON.stringify(node.value) : kindOf(node);
}

function validate(node: Node, schema: JsonSchema, path: string, walk: Walk): void {
  if (Array.isArray(schema.oneOf)) {
    validateOneOf(node, schema.oneOf as JsonSchema[], path, walk);
    return;
  }
  const kind = kindOf(node);
  if (schema.type !== undefined && !typeMatches(kind, schema.type)) {
    push(walk, node, path, `must be ${describeType(schema.type)}, got ${scalarText(node)}`);
    return;
  }
  if (isScalar(node)) {
    const value = node.value;
    if (schema.const !== undefined && value !== schema.const) push(walk, node, path, `must be ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
      push(walk, node, path, `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(value)}`);
    }
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum) push(walk, node, path, `must be >= ${schema.minimum}, got ${value}`);
      if (typeof schema.maximum === 'number' && value > schema.maximum) push(walk, node, path, `must be <= ${schema.maximum}, got ${value}`);
      if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) push(walk, node, path, `must be > ${schema.exclusiveMinimum}, got ${value}`);
    }
    if (typeof value === 'string' && typeof schema.minLength === 'number' && value.length < schema.minLength) push(walk, node, path, `must not be empty`);
    return;
  }
  if (isSeq(node)) {
    if (typeof schema.minItems === 'number' && node.items.length < schema.minItems) push(walk, node, path, `needs at least ${schema.minItems} item(s)`);
    const items = schema.items as JsonSchema | undefined;
    if (items !== undefined) node.items.forEach((item, i) => validate(item as Node, items, join(path, i), walk));
    return;
  }
  if (isMap(node)) validateMap(node, schema, path, walk);
}

function validateMap(node: Node, schema: JsonSchema, path: string, walk: Walk): void {
  if (!isMap(node)) return;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const present = new Set<string>();
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    present.add(key);
    const fieldPath = join(path, key);
    const propertySchema = properties[key] ?? (typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as JsonSchema) : undefined);
    if (propertySchema === undefined) {
      if (schema.additionalProperties === false) {
        const allowed = Object.keys(properties);
        push(walk, keyNode, fieldPath, `unknown field${allowed.length > 0 ? `; expected one of ${allowed.join(', ')}` : ''}`);
      }
      continue;
    }
    const value = pair.value as Node | null;
    if (value === null) {
      push(walk, keyNode, fieldPath, 'has no value');
      continue;
    }
    validate(value, propertySchema, fieldPath, walk);
  }
  for (const field of (schema.required ?? []) as string[]) {
    if (!present.has(field)) push(walk, node, join(path, field), `is required${describeField(properties[field])}`);
  }
}

function describeField(schema: JsonSchema | undefined): string {
  return typeof schema?.description === 'string' ? ` (${schema.description})` : '';
}

/** The property a branch is recognised by, and its value: `fault: kill`. */
function discriminatorOf(branch: JsonSchema): [string, unknown] | undefined {
  const properties = (branch.properties ?? {}) as Record<string, JsonSchema>;
  for (const [key, property] of Object.entries(properties)) if (property.const !== undefined) return [key, property.const];
  return undefined;
}

function validateOneOf(node: Node, branches: JsonSchema[], path: string, walk: Walk): void {
  const kind = kindOf(node);
  const candidates = branches.filter((b) => typeMatches(kind, b.type));
  if (candidates.length === 0) {
    push(walk, node, path, `must be ${describeType([...new Set(branches.flatMap((b) => (Array.isArray(b.type) ? b.type : [b.type])))])}, got ${scalarText(node)}`);
    return;
  }
  if (candidates.length === 1) {
    validate(node, candidates[0]!, path, walk);
    return;
  }
  if (isMap(node)) {
    // Tell the branches apart by their discriminating property (e.g. `fault: kill`), or by a required key only one has.
    const tagged = candidates.map((b) => ({ branch: b, tag: discriminatorOf(b) }));
    const tagKeys = [...new Set(tagged.map((t) => t.tag?.[0]).filter((k): k is string => k !== undefined))];
    for (const key of tagKeys) {
      const value = node.get(key);
      if (value === undefined) continue;
      const match = tagged.find((t) => t.tag?.[0] === key && t.tag[1] === value);
      if (match !== undefined) {
        validate(node, match.branch, path, walk);
        return;
      }
      const allowed = tagged.filter((t) => t.tag?.[0] === key).map((t) => JSON.stringify(t.tag![1]));
      push(walk, node.get(key, true) as Node, join(path, key), `must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
      return;
    }
    const byRequired = candidates.filter((b) => ((b.required ?? []) as string[]).every((r) => node.has(r)));
    if (byRequired.length === 1) {
      validate(node, byRequired[0]!, path, walk);
      return;
    }
    const hints = candidates.map((b) => ((b.required ?? []) as string[]).join(' + ') || JSON.stringify(discriminatorOf(b) ?? '')).join('; or ');
    push(walk, node, path, `does not match any allowed form: needs ${hints}`);
    return;
  }
  // Scalars with several candidate branches: the first that raises no error wins.
  for (const branch of candidates) {
    const trial: Walk = { lines: walk.lines, errors: [] };
    validate(node, branch, path, trial);
    if (trial.errors.length === 0) return;
  }
  validate(node, candidates[0]!, path, walk);
}
