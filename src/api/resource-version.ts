/**
 * resourceVersion as a client sends it in a get, list or watch: empty, or
 * a revision written as Go's strconv.ParseUint reads it. Kubernetes words
 * the refusal as a field error on `resourceVersion` (its storage layer's
 * ParseResourceVersion); we answer it as a 400, the code upstream's fix of
 * kubernetes/kubernetes#139485 gives, rather than 1.32's 500.
 */
import { apiErrors } from './errors.js';

const UINT64_MAX = 2n ** 64n - 1n;

/** The revision `value` names, 0 for ''/'0'/undefined ("any"); throws a 400 Status for anything that is not a uint64. */
export function parseResourceVersion(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  let why: string | undefined;
  if (!/^[0-9]+$/.test(value)) why = 'invalid syntax';
  else if (BigInt(value) > UINT64_MAX) why = 'value out of range';
  if (why !== undefined) {
    throw apiErrors.badRequest(`resourceVersion: Invalid value: ${JSON.stringify(value)}: strconv.ParseUint: parsing ${JSON.stringify(value)}: ${why}`);
  }
  return Number(value);
}
