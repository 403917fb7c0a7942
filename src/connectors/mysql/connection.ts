/**
 * The MySQL/MariaDB connection edge shared by the source and the sink: `mysql://` URLs to
 * mysql2 options (with the value options the type map expects and a UTC session), and the
 * translation of mysql2 errors into retryable or not. Messages show URLs through the one
 * `redactUrl` (src/base).
 */
import type { ConnectionOptions } from "mysql2";
import { TributaryError, redactUrl, type ErrorCode } from "../../base/index.js";
import { VALUE_OPTIONS } from "./type-map.js";

/** The database named in the URL's path ('' when none). */
export function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  } catch {
    return "";
  }
}

/**
 * mysql2 options for a `mysql://user:pass@host:port/db` (or `mariadb://`) URL: values as
 * the type map expects them (VALUE_OPTIONS), utf8mb4, multiple statements off.
 * Query parameters `ssl=true` and `connectTimeout=<ms>` are honoured.
 * @throws TributaryError CONFIG_INVALID when the URL cannot be parsed.
 */
export function connectionOptions(url: string, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TributaryError("CONFIG_INVALID", `not a valid mysql:// URL: ${redactUrl(url)}`);
  }
  const opts: ConnectionOptions = {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || "root",
    password: decodeURIComponent(u.password),
    charset: "utf8mb4_general_ci",
    connectTimeout: Number(u.searchParams.get("connectTimeout") ?? 10_000),
    ...VALUE_OPTIONS,
    ...extra,
  };
  const db = databaseOf(url);
  if (db) opts.database = db;
  if (u.searchParams.get("ssl") === "true") opts.ssl = {};
  return opts;
}

/** What mysql2 errors carry. */
interface MysqlErrorShape {
  message?: string;
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
}

/** Server error numbers that will not go away by retrying as is (privileges, missing objects, purged binlog). */
const NOT_RETRYABLE_ERRNO = new Set([
  1044, // access denied to database
  1045, // access denied (credentials)
  1049, // unknown database
  1142, // command denied on table
  1146, // table does not exist
  1227, // needs a privilege (REPLICATION SLAVE/CLIENT, RELOAD, SUPER)
  1236, // fatal error reading the binlog (purged, GTID not in the binlog)
  1698, // access denied (auth plugin)
  1945, // GTID position ahead of the binlog (MariaDB)
  1955, // GTID position in another domain's future (MariaDB)
]);

/** Whether a mysql2 error (or one from the socket under it) is worth retrying as is. */
function isRetryableMysqlError(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retryable;
  const e = (err ?? {}) as MysqlErrorShape;
  if (typeof e.errno === "number" && NOT_RETRYABLE_ERRNO.has(e.errno)) return false;
  if (typeof e.sqlState === "string" && /^(28|42)/.test(e.sqlState)) return false;
  return true;
}

/** The binlog the reader needs is gone (error 1236 and MariaDB's GTID variants). */
export function isBinlogGone(err: unknown): boolean {
  const e = (err ?? {}) as MysqlErrorShape;
  return e.errno === 1236 || e.errno === 1945 || e.errno === 1955 || /could not find first log file|not in the master's binlog|purged/i.test(e.message ?? "");
}

/** Maps an error met by the reader to SOURCE_INVALID / SOURCE_UNAVAILABLE naming the (redacted) database URL. */
export function sourceError(err: unknown, url: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = (err ?? {}) as MysqlErrorShape;
  const detail = [e.code, e.sqlState ? `SQLSTATE ${e.sqlState}` : undefined].filter(Boolean).join(", ");
  const msg = `MySQL source ${redactUrl(url)}: ${e.message ?? String(err)}${detail ? ` [${detail}]` : ""}`;
  const code: ErrorCode = isRetryableMysqlError(err) ? "SOURCE_UNAVAILABLE" : "SOURCE_INVALID";
  return new TributaryError(code, msg, { cause: err });
}
