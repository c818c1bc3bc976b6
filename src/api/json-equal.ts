/**
 * Whether two values have the same JSON text, without writing either text.
 *
 * `sameJson(a, b)` answers exactly what `JSON.stringify(a) === JSON.stringify(b)`
 * answers, key order included and keys holding `undefined` (or a function or a
 * symbol) absent, as the API server and the controllers used to compare objects.
 * Those comparisons ran on every status write (generation: spec against spec),
 * every pod event a kubelet saw and every Service sync of the endpoints
 * controller, each writing two texts of whole objects (often spread copies,
 * off V8's fast serialization path) to throw them away: about 4 % of the
 * 20-node simulated run's allocation (docs/performance.md, 2026-12-06 night).
 *
 * Walked field by field for plain data (plain objects, arrays, strings,
 * booleans, null, finite numbers); anything else (a `toJSON`, a class
 * instance, a non-finite number, a bigint) is left to JSON.stringify itself,
 * so the answer is the stringify comparison's in every case.
 */

type Plain = Record<string, unknown>;

export function sameJson(a: unknown, b: unknown): boolean {
  const answer = compare(a, b);
  return answer === UNKNOWN ? byText(a, b) : answer === SAME;
}

/**
 * `sameJson` of two plain objects with the keys in `dropped` left out of both (as
 * `JSON.stringify({ ...o, [key]: undefined })` leaves them out) and the values
 * of the keys in `compareWith` compared by the function given (the key itself
 * still counts for the order of keys).
 */
export function sameJsonExcept(a: Plain, b: Plain, dropped: ReadonlySet<string>, compareWith: Readonly<Record<string, (x: unknown, y: unknown) => boolean>> = NO_OVERRIDES): boolean {
  if (!isPlainObject(a) || !isPlainObject(b)) throw new Error('sameJsonExcept compares plain objects (JSON data)');
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < keysA.length && (skipped(a[keysA[i]!]) || dropped.has(keysA[i]!))) i++;
    while (j < keysB.length && (skipped(b[keysB[j]!]) || dropped.has(keysB[j]!))) j++;
    if (i === keysA.length || j === keysB.length) return i === keysA.length && j === keysB.length;
    const key = keysA[i]!;
    if (key !== keysB[j]) return false;
    const override = Object.hasOwn(compareWith, key) ? compareWith[key] : undefined;
    if (override !== undefined ? !override(a[key], b[key]) : !sameJson(a[key], b[key])) return false;
    i++;
    j++;
  }
}

/** The keys of the objects being compared, a frame per nesting level (see compare). */
const scratch: string[] = [];

const NO_OVERRIDES: Readonly<Record<string, (x: unknown, y: unknown) => boolean>> = Object.freeze({});
const SAME = 1;
const DIFFERENT = 2;
/** Not plain data: JSON.stringify decides. */
const UNKNOWN = 3;
type Answer = typeof SAME | typeof DIFFERENT | typeof UNKNOWN;

function byText(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A plain object (JSON data): what `sameJsonExcept` compares. */
export function isPlainObject(value: unknown): value is Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (value as Plain).toJSON !== 'function';
}

/** Left out of an object's JSON: JSON.stringify skips these values (in an array they are written as null). */
function skipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/** As an array element: what JSON.stringify writes as null. */
function inArray(value: unknown): unknown {
  return skipped(value) ? null : value;
}

/** `base`: where this call's keys go in `scratch` (its callers' keys sit below). */
function compare(a: unknown, b: unknown, base = 0): Answer {
  if (a === b) {
    // 0 and -0 are both "0"; NaN never equals itself, so no number here is non-finite but ±Infinity, both "null" as b is.
    return SAME;
  }
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' || tb === 'string' || ta === 'boolean' || tb === 'boolean') {
    // A string or a boolean is its own text; the other side, if it is not the same, writes some other text (or none).
    if ((ta === 'object' && a !== null) || (tb === 'object' && b !== null)) return UNKNOWN; // a toJSON could write anything
    return DIFFERENT;
  }
  if (ta === 'number' || tb === 'number') {
    if ((ta === 'number' && !Number.isFinite(a as number)) || (tb === 'number' && !Number.isFinite(b as number))) return UNKNOWN; // written as null
    if ((ta === 'object' && a !== null) || (tb === 'object' && b !== null)) return UNKNOWN;
    return DIFFERENT;
  }
  if (ta === 'bigint' || tb === 'bigint') return UNKNOWN;
  if (skipped(a) || skipped(b)) {
    // No text on one side (undefined: JSON.stringify answers undefined); both without text were caught above only if identical.
    if (skipped(a) && skipped(b)) return SAME;
    if ((ta === 'object' && a !== null) || (tb === 'object' && b !== null)) return UNKNOWN;
    return DIFFERENT;
  }
  // Both objects or null, not the same reference.
  if (a === null || b === null) {
    const other = a === null ? b : a;
    return isPlainObject(other) || Array.isArray(other) ? DIFFERENT : UNKNOWN;
  }
  const arrayA = Array.isArray(a);
  const arrayB = Array.isArray(b);
  if (arrayA && arrayB) {
    const xs = a as unknown[];
    const ys = b as unknown[];
    if (xs.length !== ys.length) return DIFFERENT;
    for (let i = 0; i < xs.length; i++) {
      const answer = compare(inArray(xs[i]), inArray(ys[i]), base);
      if (answer !== SAME) return answer;
    }
    return SAME;
  }
  const plainA = isPlainObject(a);
  const plainB = isPlainObject(b);
  if (!(plainA || arrayA) || !(plainB || arrayB)) return UNKNOWN;
  if (arrayA !== arrayB) return DIFFERENT; // "[...]" against "{...}"
  // The keys JSON.stringify writes, in its order: x's kept in `scratch` from `base` (no array per object compared:
  // this runs on every write), then y's walked against them.
  const x = a as Plain;
  const y = b as Plain;
  let n = 0;
  for (const key in x) {
    if (!Object.hasOwn(x, key) || skipped(x[key])) continue;
    scratch[base + n++] = key;
  }
  let j = 0;
  for (const key in y) {
    if (!Object.hasOwn(y, key) || skipped(y[key])) continue;
    // Another key here is another text whatever the values write: a JSON value's text never runs into the next key.
    if (j >= n || scratch[base + j] !== key) return DIFFERENT;
    const answer = compare(x[key], y[key], base + n);
    if (answer !== SAME) return answer;
    j++;
  }
  return j === n ? SAME : DIFFERENT;
}
