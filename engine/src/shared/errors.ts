/**
 * Stable error codes. A code, once published, keeps its meaning: channels
 * switch on it, and the HTTP edge maps each to a problem+json `type`
 * (https://vuoro.dev/problems/<code-in-kebab-case>) and a status.
 */
export const ERROR_CODES = {
  // calendar / time input
  NONEXISTENT_LOCAL_TIME: 422,
  AMBIGUOUS_LOCAL_TIME: 422,
  INVALID_TIME: 422,
  // reservation rules
  SLOT_CONFLICT: 409,
  OUTSIDE_OPENING_HOURS: 422,
  BAD_START_INTERVAL: 422,
  DURATION_OUT_OF_RANGE: 422,
  END_BEFORE_START: 422,
  BOOKING_WINDOW: 422,
  TOO_MANY_ACTIVE: 409,
  CANCELLATION_DEADLINE_PASSED: 409,
  CUSTOMER_GROUP_NOT_ALLOWED: 403,
  NO_PRICE: 422,
  PAYMENT_AMOUNT_MISMATCH: 422,
  INVALID_STATE: 409,
  NOT_YET_EXPIRED: 409,
  TOO_EARLY: 409,
  FORBIDDEN: 403,
  // catalogue
  UNKNOWN_SITE: 404,
  UNKNOWN_SPACE: 404,
  UNKNOWN_UNIT: 404,
  UNKNOWN_RESOURCE: 404,
  UNKNOWN_CUSTOMER_GROUP: 404,
  UNKNOWN_CUSTOMER: 404,
  UNKNOWN_RESERVATION: 404,
  UNKNOWN_SERIES: 404,
  EMPTY_SERIES: 422,
  ALREADY_EXISTS: 409,
  INVALID_HIERARCHY: 422,
  INVALID_RULES: 422,
  WRONG_PARTITION: 422,
  // infrastructure seen by a caller
  VALIDATION_FAILED: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  CONCURRENCY_CONFLICT: 409,
  /** The caller acted on a stale view (an HTTP `If-Match` that no longer holds). */
  PRECONDITION_FAILED: 412,
  STORE_UNAVAILABLE: 503,
  PARTITION_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const httpStatusOf = (code: ErrorCode): number => ERROR_CODES[code];
