/**
 * One error model for the whole system: every error that crosses a module boundary is a
 * TributaryError with a code and a `retryable` verdict. Machines branch on `retryable`;
 * the admin API maps codes to HTTP statuses in one place (`ErrorCodes[code].http`, used by
 * src/admin/server.ts).
 */

/** Error codes and whether an operation failing with them may be retried as is. */
export const ErrorCodes = {
  CONFIG_INVALID: { retryable: false, http: 400 },
  NOT_FOUND: { retryable: false, http: 404 },
  CONFLICT: { retryable: false, http: 409 },
  UNAUTHORIZED: { retryable: false, http: 401 },
  FORBIDDEN: { retryable: false, http: 403 },
  LEASE_LOST: { retryable: false, http: 409 },
  LEASE_HELD: { retryable: true, http: 409 },
  FENCED: { retryable: false, http: 409 },
  SOURCE_UNAVAILABLE: { retryable: true, http: 503 },
  SOURCE_INVALID: { retryable: false, http: 422 },
  SINK_UNAVAILABLE: { retryable: true, http: 503 },
  SINK_INVALID: { retryable: false, http: 422 },
  NATS_UNAVAILABLE: { retryable: true, http: 503 },
  PUBLISH_FAILED: { retryable: true, http: 503 },
  TRANSFORM_FAILED: { retryable: true, http: 500 },
  INTERNAL: { retryable: true, http: 500 },
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

/** The project's error: a code, a message naming the problem, and whether to retry. */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts?: { cause?: unknown; retryable?: boolean }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "TributaryError";
    this.code = code;
    this.retryable = opts?.retryable ?? ErrorCodes[code].retryable;
  }
}

/**
 * Translates anything thrown into a TributaryError: a TributaryError passes through; a
 * foreign error becomes `fallback` (INTERNAL, retryable, unless it carries its own
 * `retryable` verdict), its message prefixed with `context` when given.
 */
export function toTributaryError(err: unknown, fallback: ErrorCode = "INTERNAL", context?: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { message?: string; retryable?: boolean };
  const msg = e?.message ?? String(err);
  return new TributaryError(fallback, context ? `${context}: ${msg}` : msg, {
    cause: err,
    retryable: typeof e?.retryable === "boolean" ? e.retryable : undefined,
  });
}
