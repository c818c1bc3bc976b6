/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `128974848`, `1.5`, `1e3`,
 * `12Mi`), parsed exactly with bigints and rounded up as `Quantity.Value()`
 * and `Quantity.MilliValue()` round: a request of 0.5m cpu is 1 millicore.
 */

const BINARY_SUFFIX: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL_EXPONENT: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Kubernetes' quantity grammar: sign, digits with an optional fraction, then a suffix or an exponent. */
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The exact value as numerator / denominator (both positive except the sign on the numerator). */
interface Exact {
  numerator: bigint;
  denominator: bigint;
}

function parseExact(text: string): Exact {
  const m = QUANTITY.exec(text.trim());
  if (m === null) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${JSON.stringify(text)}`);
  const [, sign, digits, suffix = ''] = m;
  const [whole = '', fraction = ''] = digits!.split('.');
  let numerator = BigInt((whole || '0') + fraction);
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix in BINARY_SUFFIX) {
    numerator *= BINARY_SUFFIX[suffix]!;
  } else {
    const exponent = suffix.startsWith('e') || suffix.startsWith('E') ? Number(suffix.slice(1)) : DECIMAL_EXPONENT[suffix]!;
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  if (sign === '-') numerator = -numerator;
  return { numerator, denominator };
}

function ceilDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d !== 0n && n > 0n ? q + 1n : q;
}

function toSafeNumber(value: bigint, text: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`quantity ${JSON.stringify(text)} is too large to count exactly`);
  return n;
}

/**
 * Parsed values by text. A cluster uses a handful of distinct quantities
 * (`100m`, `64Mi`, `110`) in every pod and node, and every informer event
 * brings them as fresh strings; parsing them with bigints each time was a
 * tenth of the scheduler's per-pod work. Bounded: cleared when full.
 */
const VALUES = new Map<string, number>();
const MILLI_VALUES = new Map<string, number>();
/** Distinct quantities remembered per kind before the memo starts over. */
export const QUANTITY_MEMO_ENTRIES_MAX = 4_096;

function memoized(memo: Map<string, number>, text: string, compute: (text: string) => number): number {
  const known = memo.get(text);
  if (known !== undefined) return known;
  const value = compute(text);
  if (memo.size >= QUANTITY_MEMO_ENTRIES_MAX) memo.clear();
  memo.set(text, value);
  return value;
}

/** The value in whole units, rounded up (memory in bytes, pods in pods). */
export function quantityValue(text: string | number): number {
  return memoized(VALUES, String(text), (t) => {
    const q = parseExact(t);
    return toSafeNumber(ceilDiv(q.numerator, q.denominator), t);
  });
}

/** The value in thousandths, rounded up (cpu in millicores). */
export function quantityMilliValue(text: string | number): number {
  return memoized(MILLI_VALUES, String(text), (t) => {
    const q = parseExact(t);
    return toSafeNumber(ceilDiv(q.numerator * 1000n, q.denominator), t);
  });
}

export function isValidQuantity(text: string): boolean {
  return QUANTITY.test(text.trim());
}
