/**
 * Access control's refusals as problem+json: the same shape and `type`
 * scheme as the engine's (http/problems.ts), with access control's own codes
 * (UNKNOWN_DOOR, CODE_COLLISION, ...) and statuses (access-control errors.ts).
 */
import { httpStatusOfAccessError, type AccessError } from '@vuoro/access-control';
import { ApiError, isProblemCode, type ProblemCode } from '../http/problems.js';

export function accessProblem(error: AccessError): ApiError {
  const extra = {
    ...(error.field === undefined ? {} : { field: error.field, errors: [{ field: error.field, in: 'body' as const, message: error.message }] }),
    ...(error.details === undefined ? {} : { details: { ...error.details } }),
  };
  if (isProblemCode(error.code)) return new ApiError(error.code, error.message, extra);
  const problem = new ApiError('BAD_REQUEST', error.message, extra);
  // An access-control code the edge's table does not list: keep its code and status.
  Object.defineProperty(problem, 'code', { value: error.code as ProblemCode });
  Object.defineProperty(problem, 'status', { value: httpStatusOfAccessError(error.code) });
  return problem;
}
