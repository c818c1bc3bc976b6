/**
 * Kubernetes resource quantities (`500m`, `2`, `128Mi`, `1G`, `1e3`) as
 * exact integers of milli-units, the unit quota arithmetic needs (cpu is
 * counted in millicores, memory in bytes × 1000). BigInt, so `1Ei` of
 * memory adds up without rounding. Pure.
 */

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;
/** Kubernetes caps quantities' exponents the same way: anything larger is not a resource amount. */
const EXPONENT_ABS_MAX = 30;

/** Milli-units of a quantity, rounded up as Kubernetes' MilliValue does; undefined when it is not a quantity. */
export function parseMilli(text: string): bigint | undefined {
  const m = QUANTITY.exec(text.trim());
  if (m === null) return undefined;
  const [, sign, number, suffix, exponentText] = m;
  const [whole, fraction = ''] = number!.split('.');
  let digits = BigInt(`${whole || '0'}${fraction}`);
  let exponent = -fraction.length + 3;
  if (suffix !== undefined && suffix in BINARY) digits *= BINARY[suffix]!;
  else if (suffix !== undefined) exponent += DECIMAL[suffix]!;
  else if (exponentText !== undefined) exponent += Number(exponentText);
  if (Math.abs(exponent) > EXPONENT_ABS_MAX) return undefined;
  let milli: bigint;
  if (exponent >= 0) milli = digits * 10n ** BigInt(exponent);
  else {
    const divisor = 10n ** BigInt(-exponent);
    milli = (digits + divisor - 1n) / divisor;
  }
  return sign === '-' ? -milli : milli;
}

/**
 * The canonical text of a milli-unit amount: `250m` when it is not whole;
 * for byte amounts (`binary`) a binary suffix when the number is a multiple
 * of 1024; otherwise the plain number.
 */
export function formatMilli(milli: bigint, binary = false): string {
  if (milli % 1000n !== 0n) return `${milli}m`;
  const whole = milli / 1000n;
  if (binary && whole !== 0n) {
    for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
      const unit = BINARY[suffix]!;
      if (whole % unit === 0n) return `${whole / unit}${suffix}`;
    }
  }
  return String(whole);
}
