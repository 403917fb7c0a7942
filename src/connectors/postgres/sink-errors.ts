/**
 * The PostgreSQL sink's error edge: every failure leaves the writer as a SinkWriteError
 * naming the sink and the target table, with a `retryable` verdict the sink machine
 * branches on (retry the batch as is, or stop / dead-letter it).
 */
import pg from "pg";
import { TributaryError, type ErrorCode } from "../../base/index.js";

/** A PostgreSQL sink failure. `retryable`: the same batch may succeed later (connection, deadlock…). */
export class SinkWriteError extends TributaryError {
  /** The sink's identity, e.g. `orders.pg_main`. */
  readonly sinkId: string;
  /** The quoted target table the failure concerns, when there is one. */
  readonly table: string | undefined;
  /** PostgreSQL SQLSTATE of the cause, when the server reported one. */
  readonly sqlState: string | undefined;

  constructor(code: ErrorCode, sinkId: string, table: string | undefined, message: string, opts?: { cause?: unknown; retryable?: boolean; sqlState?: string }) {
    super(code, `postgres sink ${sinkId}${table ? `, table ${table}` : ""}: ${message}`, opts);
    this.name = "SinkWriteError";
    this.sinkId = sinkId;
    this.table = table;
    this.sqlState = opts?.sqlState;
  }
}

/** SQLSTATEs worth retrying as is: the batch was fine, the moment was not. */
function retryableSqlState(code: string): boolean {
  const cls = code.slice(0, 2);
  // 08 connection, 40 transaction rollback (serialization, deadlock), 53 insufficient
  // resources, 57 operator intervention (shutdown, cancel), 58 system (I/O) errors.
  if (["08", "40", "53", "57", "58"].includes(cls)) return true;
  return code === "55P03" || code === "55006"; // lock not available, object in use
}

const RETRYABLE_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
const CONNECTION_MESSAGE = /connection terminated|client was closed|connection error|not queryable|timeout expired|socket/i;

/** Whether an error thrown by `pg` (or by the socket under it) is worth retrying as is. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retryable;
  if (err instanceof pg.DatabaseError) return err.code !== undefined && retryableSqlState(err.code);
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === "string" && RETRYABLE_NODE_CODES.has(e.code)) return true;
  return typeof e?.message === "string" && CONNECTION_MESSAGE.test(e.message);
}

/**
 * Wraps anything thrown while writing into a SinkWriteError naming the sink and table
 * (a SinkWriteError passes through). Data, constraint and schema errors (SQLSTATE 22, 23,
 * 42) and bad event values are not retryable; connection trouble, serialization failures
 * and deadlocks are.
 */
export function toSinkError(sinkId: string, table: string | undefined, err: unknown): SinkWriteError {
  if (err instanceof SinkWriteError) return err;
  const retryable = isRetryable(err);
  const sqlState = err instanceof pg.DatabaseError ? err.code : undefined;
  const e = err as { message?: unknown; detail?: unknown } | null;
  let message = typeof e?.message === "string" ? e.message : String(err);
  if (sqlState) message += ` [SQLSTATE ${sqlState}]`;
  if (typeof e?.detail === "string") message += ` (${e.detail})`;
  return new SinkWriteError(retryable ? "SINK_UNAVAILABLE" : "SINK_INVALID", sinkId, table, message, { cause: err, retryable, sqlState });
}
