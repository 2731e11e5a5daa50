/**
 * Business refusals are values, not exceptions: every edge (HTTP, MQTT, the
 * allocator) explains a refusal from the same `code`. Exceptions are kept for
 * bugs and infrastructure failures.
 */
import type { ErrorCode } from './errors.js';

export interface DomainError {
  readonly code: ErrorCode;
  /** Tells a user what happened and what to do next. */
  readonly message: string;
  /** The offending input field, when one is to blame (e.g. `start`). */
  readonly field?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type Result<T, E = DomainError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = (
  code: ErrorCode,
  message: string,
  extra: { field?: string; details?: Record<string, unknown> } = {},
): { ok: false; error: DomainError } => ({ ok: false, error: { code, message, ...extra } });

export const isDomainError = (x: unknown): x is DomainError =>
  typeof x === 'object' && x !== null && typeof (x as { code?: unknown }).code === 'string' &&
  typeof (x as { message?: unknown }).message === 'string';
