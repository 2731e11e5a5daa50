/**
 * Refusals of access control are values with stable codes, like the engine's
 * (`@vuoro/engine` shared/result.ts): the HTTP edge maps each code to a
 * problem+json type and status, the MQTT edge to a reason in the response.
 * The engine's `ErrorCode` is a closed list of booking codes, so access
 * control keeps its own list and its own error type of the same shape.
 */
export const ACCESS_ERROR_CODES = {
  VALIDATION_FAILED: 400,
  FORBIDDEN: 403,
  UNKNOWN_SITE: 404,
  UNKNOWN_SPACE: 404,
  UNKNOWN_DOOR: 404,
  UNKNOWN_DEVICE: 404,
  UNKNOWN_CREDENTIAL: 404,
  UNKNOWN_KEY: 404,
  UNKNOWN_LOAN: 404,
  UNKNOWN_RESERVATION: 404,
  ALREADY_EXISTS: 409,
  INVALID_STATE: 409,
  /** The code is already valid at one of the doors at an overlapping time; draw another. */
  CODE_COLLISION: 409,
  /** Someone else published a newer allow-list for the door meanwhile. */
  ALLOWLIST_VERSION_CONFLICT: 409,
  SITE_NOT_INITIALIZED: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  CONCURRENCY_CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  STORE_UNAVAILABLE: 503,
  PARTITION_UNAVAILABLE: 503,
} as const;

export type AccessErrorCode = keyof typeof ACCESS_ERROR_CODES;

export interface AccessError {
  readonly code: AccessErrorCode;
  /** Says what happened and what to do next. */
  readonly message: string;
  readonly field?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type AccessResult<T> = { ok: true; value: T } | { ok: false; error: AccessError };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export const refuse = (
  code: AccessErrorCode,
  message: string,
  extra: { field?: string; details?: Record<string, unknown> } = {},
): { ok: false; error: AccessError } => ({ ok: false, error: { code, message, ...extra } });

export const httpStatusOfAccessError = (code: string): number =>
  (ACCESS_ERROR_CODES as Record<string, number>)[code] ?? 500;
