/**
 * The MySQL sink's error edge: every failure leaves the writer as a SinkWriteError naming
 * the sink and the target table, with a `retryable` verdict, and — for errors caused by one
 * row's data — an SQLSTATE of class 22/23, which the sink worker answers by dead-lettering
 * that row alone (MySQL reports some data errors, e.g. 1366 "incorrect value", as HY000).
 */
import { TributaryError, type ErrorCode } from "../../base/index.js";

/** A MySQL sink failure. `retryable`: the same batch may succeed later (connection, deadlock…). */
export class SinkWriteError extends TributaryError {
  /** The sink's identity, e.g. `orders.my_main`. */
  readonly sinkId: string;
  /** The quoted target table the failure concerns, when there is one. */
  readonly table: string | undefined;
  /** SQLSTATE of the cause (22xxx/23xxx for data and constraint errors). */
  readonly sqlState: string | undefined;
  /** MySQL error number of the cause, when the server reported one. */
  readonly errno: number | undefined;

  constructor(code: ErrorCode, sinkId: string, table: string | undefined, message: string, opts?: { cause?: unknown; retryable?: boolean; sqlState?: string; errno?: number }) {
    super(code, `mysql sink ${sinkId}${table ? `, table ${table}` : ""}: ${message}`, opts);
    this.name = "SinkWriteError";
    this.sinkId = sinkId;
    this.table = table;
    this.sqlState = opts?.sqlState;
    this.errno = opts?.errno;
  }
}

/** Server errors worth retrying as is: the batch was fine, the moment was not. */
const RETRYABLE_ERRNO = new Set([
  1040, // too many connections
  1053, // server shutdown in progress
  1205, // lock wait timeout
  1213, // deadlock
  1927, // connection killed
  2002, 2003, 2006, 2013, // cannot connect, server gone away, lost connection
]);

/** Server errors caused by one row's values, whatever SQLSTATE the server gives them. */
const ROW_ERRNO = new Set([1048, 1062, 1264, 1265, 1292, 1366, 1406, 1411, 1452, 3140, 4025]);

const RETRYABLE_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "PROTOCOL_CONNECTION_LOST", "PROTOCOL_SEQUENCE_TIMEOUT"]);
const CONNECTION_MESSAGE = /connection|closed state|socket|timeout/i;

interface MysqlErrorShape {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
}

/** Whether an error thrown by mysql2 (or the socket under it) is worth retrying as is. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retryable;
  if (err instanceof TypeError || err instanceof RangeError) return false;
  const e = (err ?? {}) as MysqlErrorShape;
  if (typeof e.errno === "number" && typeof e.sqlState === "string") {
    return RETRYABLE_ERRNO.has(e.errno) || /^(08|40)/.test(e.sqlState);
  }
  if (typeof e.code === "string" && RETRYABLE_NODE_CODES.has(e.code)) return true;
  return typeof e.message === "string" && CONNECTION_MESSAGE.test(e.message);
}

/**
 * Wraps anything thrown while writing into a SinkWriteError naming the sink and table (a
 * SinkWriteError passes through). Data and constraint errors (and values the column
 * cannot take) get an SQLSTATE of class 22/23 and are not retryable; schema errors are
 * not retryable; connection trouble, deadlocks and lock timeouts are.
 */
export function toSinkError(sinkId: string, table: string | undefined, err: unknown): SinkWriteError {
  if (err instanceof SinkWriteError) return err;
  const retryable = isRetryable(err);
  const e = (err ?? {}) as MysqlErrorShape;
  const errno = typeof e.errno === "number" ? e.errno : undefined;
  let sqlState = typeof e.sqlState === "string" ? e.sqlState : undefined;
  if (errno !== undefined && ROW_ERRNO.has(errno) && !/^(22|23)/.test(sqlState ?? "")) sqlState = "22000";
  if (err instanceof TypeError) sqlState = "22000"; // a value the column cannot take (toMysqlParam)
  let message = typeof e.message === "string" ? e.message : String(err);
  if (errno !== undefined) message += ` [errno ${errno}${sqlState ? `, SQLSTATE ${sqlState}` : ""}]`;
  return new SinkWriteError(retryable ? "SINK_UNAVAILABLE" : "SINK_INVALID", sinkId, table, message, { cause: err, retryable, sqlState, errno });
}
