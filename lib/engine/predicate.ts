/** The status-code predicate of SPEC §4: does a failure fail over to the next target? */
import type { ErrorClass } from '../providers/types.js';
import type { AttemptFailure } from './plan.js';

/** True when `status` is in `codes`, where a code may be a number or a class like `"5xx"`. */
export function matchesStatus(status: number, codes: ReadonlyArray<number | string>): boolean {
  return codes.some((code) =>
    typeof code === 'number' ? code === status : String(Math.floor(status / 100)) === code[0] && /^[1-5]xx$/i.test(code),
  );
}

/**
 * The built-in predicate. With neither list set: any failure fails over. With either set: only
 * the listed statuses and error classes do (the two lists are a union).
 */
export function defaultShouldFallback(
  failure: AttemptFailure,
  onStatusCodes: ReadonlyArray<number | string> | undefined,
  onErrors: readonly ErrorClass[] | undefined,
): boolean {
  if (onStatusCodes === undefined && onErrors === undefined) return true;
  if (onStatusCodes !== undefined && matchesStatus(failure.status, onStatusCodes)) return true;
  return onErrors !== undefined && onErrors.includes(failure.errorClass);
}
