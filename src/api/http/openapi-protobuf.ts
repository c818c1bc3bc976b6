/**
 * The protobuf form of the OpenAPI v2 document: gnostic's `openapi.v2.Document`
 * (github.com/google/gnostic-models, OpenAPIv2.proto), which is the only form
 * client-go's `OpenAPISchema()` accepts (`Accept: application/com.github.
 * proto-openapi.spec.v2@v1.0+protobuf`). kubectl reads it to validate the
 * items of a `kind: List` on the client (its OpenAPI v3 path refuses Lists),
 * so without it `kubectl apply -f list.yaml` fails before sending anything.
 *
 * Pure: JSON document in, bytes out. Only the shapes openapi.ts produces are
 * encoded; any other key throws, so a schema change that this encoder would
 * silently drop fails loudly in the tests instead.
 */
import { stringify as stringifyYaml } from 'yaml';

/**
 * The media type of the protobuf document, as kube-openapi answers it. Clients ask with the older
 * `…spec.v2@v1.0+protobuf` spelling (client-go does), which Go's mime parser cannot read back in a
 * Content-Type, so the answer always carries this one.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** Both spellings a client may send in Accept. */
export const OPENAPI_V2_PROTOBUF_ACCEPT = [OPENAPI_V2_PROTOBUF_CONTENT_TYPE, 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'];

/** Which form of /openapi/v2 an Accept header asks for: the first acceptable media type listed, or undefined for none. */
export function openApiV2Form(accept: string): 'json' | 'protobuf' | undefined {
  if (accept.trim() === '') return 'json';
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (OPENAPI_V2_PROTOBUF_ACCEPT.includes(type)) return 'protobuf';
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'json';
  }
  return undefined;
}

/** Nesting bound for schemas: ours are at most 4 deep; deeper means a cycle or a generator bug. */
const SCHEMA_DEPTH_MAX = 16;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A protobuf message under construction: fields appended in the order written. */
class Message {
  private readonly parts: Buffer[] = [];

  string(no: number, value: string): this {
    return this.bytes(no, Buffer.from(value, 'utf8'));
  }

  strings(no: number, values: readonly string[]): this {
    for (const v of values) this.string(no, v);
    return this;
  }

  bool(no: number, value: boolean): this {
    if (!value) return this; // proto3: false is the default and is not written
    this.parts.push(varint((no << 3) | 0), varint(1));
    return this;
  }

  message(no: number, m: Message): this {
    return this.bytes(no, m.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }

  private bytes(no: number, value: Buffer): this {
    this.parts.push(varint((no << 3) | 2), varint(value.length), value);
    return this;
  }
}

function varint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint out of range: ${n}`);
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(v: Json | undefined, where: string): JsonObject {
  if (!isObject(v)) throw new Error(`${where}: expected an object`);
  return v;
}

function str(v: Json | undefined, where: string): string {
  if (typeof v !== 'string') throw new Error(`${where}: expected a string`);
  return v;
}

function bool(v: Json | undefined, where: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${where}: expected a boolean`);
  return v;
}

function strArray(v: Json | undefined, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${where}: expected an array of strings`);
  return v as string[];
}

/** `Any`: gnostic keeps arbitrary JSON values as YAML text (field 2), which kube-openapi parses back. */
function any(value: Json): Message {
  return new Message().string(2, stringifyYaml(value));
}

/** Vendor extensions (`x-…` keys) as repeated `NamedAny` in field `no`. */
function extensions(m: Message, no: number, o: JsonObject): void {
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('x-')) m.message(no, new Message().string(1, k).message(2, any(v)));
  }
}

/** Every key of `o` must be handled (or be a vendor extension): an unknown key would be dropped silently. */
function known(o: JsonObject, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!k.startsWith('x-') && !keys.includes(k)) throw new Error(`${where}: key "${k}" has no protobuf encoding here`);
  }
}

const SCHEMA_KEYS = ['$ref', 'format', 'title', 'description', 'default', 'uniqueItems', 'required', 'enum', 'additionalProperties', 'type', 'items', 'allOf', 'properties', 'readOnly'];

/** openapi.v2.Schema. */
function encodeSchema(s: JsonObject, where: string, depth = 0): Message {
  if (depth > SCHEMA_DEPTH_MAX) throw new Error(`${where}: schema nested deeper than ${SCHEMA_DEPTH_MAX}`);
  known(s, SCHEMA_KEYS, where);
  const m = new Message();
  if (s.$ref !== undefined) m.string(1, str(s.$ref, `${where}.$ref`));
  if (s.format !== undefined) m.string(2, str(s.format, `${where}.format`));
  if (s.title !== undefined) m.string(3, str(s.title, `${where}.title`));
  if (s.description !== undefined) m.string(4, str(s.description, `${where}.description`));
  if (s.default !== undefined) m.message(5, any(s.default));
  if (s.uniqueItems !== undefined) m.bool(16, bool(s.uniqueItems, `${where}.uniqueItems`));
  if (s.required !== undefined) m.strings(19, strArray(s.required, `${where}.required`));
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum)) throw new Error(`${where}.enum: expected an array`);
    for (const v of s.enum) m.message(20, any(v));
  }
  if (s.additionalProperties !== undefined) {
    const ap = s.additionalProperties;
    // AdditionalPropertiesItem: oneof { Schema schema = 1; bool boolean = 2; }
    const item = typeof ap === 'boolean'
      ? new Message().bool(2, ap)
      : new Message().message(1, encodeSchema(object(ap, `${where}.additionalProperties`), `${where}.additionalProperties`, depth + 1));
    m.message(21, item);
  }
  if (s.type !== undefined) {
    const types = typeof s.type === 'string' ? [s.type] : strArray(s.type, `${where}.type`);
    m.message(22, new Message().strings(1, types));
  }
  if (s.items !== undefined) {
    const items = Array.isArray(s.items) ? s.items : [s.items];
    const item = new Message();
    items.forEach((x, i) => item.message(1, encodeSchema(object(x, `${where}.items[${i}]`), `${where}.items[${i}]`, depth + 1)));
    m.message(23, item);
  }
  if (s.allOf !== undefined) {
    if (!Array.isArray(s.allOf)) throw new Error(`${where}.allOf: expected an array`);
    s.allOf.forEach((x, i) => m.message(24, encodeSchema(object(x, `${where}.allOf[${i}]`), `${where}.allOf[${i}]`, depth + 1)));
  }
  if (s.properties !== undefined) {
    const props = new Message();
    for (const [name, p] of Object.entries(object(s.properties, `${where}.properties`))) {
      props.message(1, new Message().string(1, name).message(2, encodeSchema(object(p, `${where}.${name}`), `${where}.${name}`, depth + 1)));
    }
    m.message(25, props);
  }
  if (s.readOnly !== undefined) m.bool(27, bool(s.readOnly, `${where}.readOnly`));
  extensions(m, 31, s);
  return m;
}

/** ParametersItem → Parameter → BodyParameter or NonBodyParameter (query / path sub-schemas). */
function encodeParameter(p: JsonObject, where: string): Message {
  const location = str(p.in, `${where}.in`);
  let parameter: Message;
  if (location === 'body') {
    known(p, ['name', 'in', 'required', 'description', 'schema'], where);
    const body = new Message();
    if (p.description !== undefined) body.string(1, str(p.description, `${where}.description`));
    body.string(2, str(p.name, `${where}.name`)).string(3, location);
    if (p.required !== undefined) body.bool(4, bool(p.required, `${where}.required`));
    if (p.schema !== undefined) body.message(5, encodeSchema(object(p.schema, `${where}.schema`), `${where}.schema`));
    extensions(body, 6, p);
    parameter = new Message().message(1, body);
  } else if (location === 'query' || location === 'path') {
    known(p, ['name', 'in', 'required', 'description', 'type', 'uniqueItems'], where);
    // QueryParameterSubSchema has allow_empty_value at 5, so its later fields sit one number higher than PathParameterSubSchema's.
    const shift = location === 'query' ? 1 : 0;
    const sub = new Message();
    if (p.required !== undefined) sub.bool(1, bool(p.required, `${where}.required`));
    sub.string(2, location);
    if (p.description !== undefined) sub.string(3, str(p.description, `${where}.description`));
    sub.string(4, str(p.name, `${where}.name`));
    if (p.type !== undefined) sub.string(5 + shift, str(p.type, `${where}.type`));
    if (p.uniqueItems !== undefined) sub.bool(19 + shift, bool(p.uniqueItems, `${where}.uniqueItems`));
    extensions(sub, 22 + shift, p);
    parameter = new Message().message(2, new Message().message(location === 'query' ? 3 : 4, sub));
  } else {
    throw new Error(`${where}: parameters in "${location}" have no protobuf encoding here`);
  }
  return new Message().message(1, parameter);
}

function encodeParameters(m: Message, no: number, v: Json | undefined, where: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new Error(`${where}: expected an array`);
  v.forEach((p, i) => m.message(no, encodeParameter(object(p, `${where}[${i}]`), `${where}[${i}]`)));
}

/** openapi.v2.Operation. */
function encodeOperation(op: JsonObject, where: string): Message {
  known(op, ['tags', 'summary', 'description', 'operationId', 'produces', 'consumes', 'parameters', 'responses', 'schemes', 'deprecated'], where);
  const m = new Message();
  if (op.tags !== undefined) m.strings(1, strArray(op.tags, `${where}.tags`));
  if (op.summary !== undefined) m.string(2, str(op.summary, `${where}.summary`));
  if (op.description !== undefined) m.string(3, str(op.description, `${where}.description`));
  if (op.operationId !== undefined) m.string(5, str(op.operationId, `${where}.operationId`));
  if (op.produces !== undefined) m.strings(6, strArray(op.produces, `${where}.produces`));
  if (op.consumes !== undefined) m.strings(7, strArray(op.consumes, `${where}.consumes`));
  encodeParameters(m, 8, op.parameters, `${where}.parameters`);
  if (op.responses !== undefined) {
    const responses = new Message();
    for (const [code, r] of Object.entries(object(op.responses, `${where}.responses`))) {
      const rw = `${where}.responses.${code}`;
      const ro = object(r, rw);
      known(ro, ['description', 'schema'], rw);
      const response = new Message().string(1, str(ro.description, `${rw}.description`));
      // SchemaItem: oneof { Schema schema = 1; FileSchema file_schema = 2; }
      if (ro.schema !== undefined) response.message(2, new Message().message(1, encodeSchema(object(ro.schema, `${rw}.schema`), `${rw}.schema`)));
      extensions(response, 5, ro);
      // NamedResponseValue { name = 1; ResponseValue value = 2 } where ResponseValue is oneof { Response response = 1; ... }
      responses.message(1, new Message().string(1, code).message(2, new Message().message(1, response)));
    }
    m.message(9, responses);
  }
  if (op.schemes !== undefined) m.strings(10, strArray(op.schemes, `${where}.schemes`));
  if (op.deprecated !== undefined) m.bool(11, bool(op.deprecated, `${where}.deprecated`));
  extensions(m, 13, op);
  return m;
}

const OPERATION_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** openapi.v2.PathItem. */
function encodePathItem(item: JsonObject, where: string): Message {
  known(item, [...Object.keys(OPERATION_FIELDS), 'parameters'], where);
  const m = new Message();
  for (const [verb, no] of Object.entries(OPERATION_FIELDS)) {
    if (item[verb] !== undefined) m.message(no, encodeOperation(object(item[verb], `${where}.${verb}`), `${where}.${verb}`));
  }
  encodeParameters(m, 9, item.parameters, `${where}.parameters`);
  extensions(m, 10, item);
  return m;
}

/** The whole Swagger 2.0 document as an `openapi.v2.Document`. */
export function encodeOpenApiV2(doc: unknown): Buffer {
  const d = object(doc as Json, 'document');
  known(d, ['swagger', 'info', 'paths', 'definitions'], 'document');
  const m = new Message().string(1, str(d.swagger, 'swagger'));
  if (d.info !== undefined) {
    const info = object(d.info, 'info');
    known(info, ['title', 'version', 'description'], 'info');
    const im = new Message().string(1, str(info.title, 'info.title')).string(2, str(info.version, 'info.version'));
    if (info.description !== undefined) im.string(3, str(info.description, 'info.description'));
    extensions(im, 7, info);
    m.message(2, im);
  }
  if (d.paths !== undefined) {
    const paths = new Message();
    for (const [path, item] of Object.entries(object(d.paths, 'paths'))) {
      if (path.startsWith('x-')) continue;
      paths.message(2, new Message().string(1, path).message(2, encodePathItem(object(item, path), path)));
    }
    extensions(paths, 1, object(d.paths, 'paths'));
    m.message(8, paths);
  }
  if (d.definitions !== undefined) {
    const defs = new Message();
    for (const [name, s] of Object.entries(object(d.definitions, 'definitions'))) {
      defs.message(1, new Message().string(1, name).message(2, encodeSchema(object(s, name), name)));
    }
    m.message(9, defs);
  }
  extensions(m, 16, d);
  return m.finish();
}
