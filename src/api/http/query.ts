/**
 * Boolean query parameters (watch, allowWatchBookmarks, sendInitialEvents,
 * force, follow, previous) read as Go's strconv.ParseBool does, and anything
 * else is a 400 rather than a silent `false`: a `?watch=True` that answered
 * a plain LIST is how the Python client lost its watches.
 *
 * kube-apiserver itself (apimachinery's Convert_Slice_string_To_bool) is
 * laxer: "0" and any case of "false" are false, every other value true.
 * The spellings clients send (true, True, 1, false, False, 0) mean the
 * same in both; we refuse the rest instead of guessing, and read "f"/"F" as false.
 */
import { apiErrors } from '../errors.js';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** `value` as strconv.ParseBool reads it; throws a 400 naming the parameter otherwise. */
export function parseBool(name: string, value: string): boolean {
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw apiErrors.badRequest(`${name}: Invalid value: ${JSON.stringify(value)}: must be a boolean (true or false)`);
}

/** The boolean query parameter `name` (its first value, as Kubernetes reads it); undefined when absent. */
export function boolParam(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  return value === null ? undefined : parseBool(name, value);
}
