/**
 * Errors at the HTTP edge as RFC 9457 problem details. Every problem has a
 * stable `code`: the engine's codes (`ERROR_CODES`, business refusals) and a
 * few of the edge's own (authentication, malformed requests, rate limits).
 * `type` is `https://vuoro.dev/problems/<code-in-kebab-case>`, so a channel
 * can switch on either.
 */
import { ERROR_CODES, type DomainError, type ErrorCode } from '@vuoro/engine';
import { z } from 'zod';

/** Codes only the HTTP edge produces, with their statuses. */
export const EDGE_CODES = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  INVALID_SIGNATURE: 401,
  INSUFFICIENT_SCOPE: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SHUTTING_DOWN: 503,
} as const;

export type EdgeCode = keyof typeof EDGE_CODES;
export type ProblemCode = ErrorCode | EdgeCode;

const STATUS: Record<ProblemCode, number> = { ...ERROR_CODES, ...EDGE_CODES };

/** Short, stable summaries; `detail` carries the specifics and what to do. Codes without one get a title from their name. */
const TITLES: Partial<Record<ProblemCode, string>> = {
  NONEXISTENT_LOCAL_TIME: 'That local time does not exist in Helsinki',
  AMBIGUOUS_LOCAL_TIME: 'That local time happens twice in Helsinki',
  INVALID_TIME: 'Not a valid time',
  SLOT_CONFLICT: 'The slot is already taken',
  OUTSIDE_OPENING_HOURS: 'Outside opening hours',
  BAD_START_INTERVAL: 'Not an allowed start time',
  DURATION_OUT_OF_RANGE: 'Duration not allowed',
  END_BEFORE_START: 'The end is not after the start',
  BOOKING_WINDOW: 'Outside the booking window',
  TOO_MANY_ACTIVE: 'Too many active reservations',
  CANCELLATION_DEADLINE_PASSED: 'The cancellation deadline has passed',
  CUSTOMER_GROUP_NOT_ALLOWED: 'Customer group not allowed',
  NO_PRICE: 'No price for this customer group',
  PAYMENT_AMOUNT_MISMATCH: 'Payment amount does not match',
  INVALID_STATE: 'Not possible in the reservation’s current state',
  NOT_YET_EXPIRED: 'Not expired yet',
  TOO_EARLY: 'Too early',
  FORBIDDEN: 'Not allowed',
  UNKNOWN_SITE: 'Unknown site',
  UNKNOWN_SPACE: 'Unknown space',
  UNKNOWN_UNIT: 'Unknown reservation unit',
  UNKNOWN_RESOURCE: 'Unknown resource',
  UNKNOWN_CUSTOMER_GROUP: 'Unknown customer group',
  UNKNOWN_CUSTOMER: 'Unknown customer',
  UNKNOWN_RESERVATION: 'Unknown reservation',
  ALREADY_EXISTS: 'Already exists',
  INVALID_HIERARCHY: 'Invalid space hierarchy',
  INVALID_RULES: 'Invalid rules',
  WRONG_PARTITION: 'Cannot tell which site this is for',
  VALIDATION_FAILED: 'The request is not valid',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused with a different request',
  CONCURRENCY_CONFLICT: 'Concurrent change',
  PRECONDITION_FAILED: 'The resource has changed',
  STORE_UNAVAILABLE: 'Storage unavailable',
  PARTITION_UNAVAILABLE: 'Temporarily unavailable',
  BAD_REQUEST: 'Bad request',
  MALFORMED_JSON: 'The body is not valid JSON',
  UNAUTHORIZED: 'Authentication required',
  INVALID_SIGNATURE: 'Invalid signature',
  INSUFFICIENT_SCOPE: 'The API key lacks a required scope',
  NOT_FOUND: 'Not found',
  PAYLOAD_TOO_LARGE: 'Request body too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  RATE_LIMITED: 'Too many requests',
  INTERNAL_ERROR: 'Internal error',
  SHUTTING_DOWN: 'The service is restarting',
};

export const titleOf = (code: ProblemCode): string => {
  const title = TITLES[code];
  if (title !== undefined) return title;
  const words = code.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

export const PROBLEM_BASE = 'https://vuoro.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export const problemTypeOf = (code: string): string => PROBLEM_BASE + code.toLowerCase().replaceAll('_', '-');
export const statusOf = (code: ProblemCode): number => STATUS[code];
export const isProblemCode = (code: string): code is ProblemCode => Object.hasOwn(STATUS, code);

export const fieldErrorSchema = z.object({
  field: z.string().describe('Where the problem is, e.g. `start`, `customer.customerGroupId`, or a header name'),
  in: z.enum(['body', 'query', 'path', 'header']).optional(),
  message: z.string(),
});
export type FieldError = z.infer<typeof fieldErrorSchema>;

export const problemSchema = z
  .object({
    type: z.string().describe('https://vuoro.dev/problems/<code-in-kebab-case>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What happened and what to do next'),
    code: z.string().describe('Stable error code, e.g. SLOT_CONFLICT'),
    instance: z.string().optional().describe('The request path'),
    requestId: z.string().optional(),
    field: z.string().optional(),
    errors: z.array(fieldErrorSchema).optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof problemSchema>;

/** An error the edge answers with a problem; thrown from hooks and handlers, turned into a response by the error handler. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    message: string,
    readonly extra: { field?: string; errors?: FieldError[]; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = statusOf(code);
  }

  static fromDomain(error: DomainError): ApiError {
    return new ApiError(error.code, error.message, {
      ...(error.field === undefined ? {} : { field: error.field, errors: [{ field: error.field, in: 'body' as const, message: error.message }] }),
      ...(error.details === undefined ? {} : { details: { ...error.details } }),
    });
  }

  toProblem(instance?: string, requestId?: string): Problem {
    return {
      type: problemTypeOf(this.code),
      title: titleOf(this.code),
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(instance === undefined ? {} : { instance }),
      ...(requestId === undefined ? {} : { requestId }),
      ...(this.extra.field === undefined ? {} : { field: this.extra.field }),
      ...(this.extra.errors === undefined ? {} : { errors: this.extra.errors }),
      ...(this.extra.details === undefined ? {} : { details: this.extra.details }),
    };
  }
}

/** The problem responses a route may give, for its OpenAPI description. */
export const problemResponses = (...statuses: number[]): Record<number, typeof problemSchema> =>
  Object.fromEntries(statuses.map((s) => [s, problemSchema.describe(describeStatus(s))]));

function describeStatus(status: number): string {
  const codes = Object.entries(STATUS)
    .filter(([, s]) => s === status)
    .map(([c]) => c);
  return `Problem (${codes.join(', ')})`;
}
