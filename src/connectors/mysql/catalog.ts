/**
 * What the MySQL/MariaDB reader asks the server before it reads: is the binary log usable
 * for change capture (ROW format, full row images), which flavour and GTID mode is it, do
 * the captured tables exist with a primary key, which binlog files does it still hold.
 * Every refusal names the server (password redacted), the table or the setting, and the fix.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";
import { TributaryError, redactUrl } from "../../base/index.js";

/** Quotes an identifier with backticks (names may hold spaces, dots, backticks). */
export const qi = (s: string): string => `\`${s.replace(/`/g, "``")}\``;

/** The server facts the reader depends on. */
export interface ServerInfo {
  version: string;
  mariadb: boolean;
  /** the server's own server_id (a reader must not use it) */
  serverId: number;
  /** GTID positions usable for resuming (always on MariaDB; MySQL needs gtid_mode=ON) */
  gtid: boolean;
  /** binlog_row_metadata=FULL: row events name their columns (schema changes decode safely) */
  fullMetadata: boolean;
}

/** The variables {@link checkBinlogSettings} reads, as `SHOW GLOBAL VARIABLES` returns them. */
const BINLOG_VARIABLES = ["version", "log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "server_id", "gtid_mode"] as const;

const on = (v: string | undefined) => v !== undefined && /^(on|1|true)$/i.test(v);

/**
 * The problems that make a server unusable as a change source, from its variables
 * (`SHOW GLOBAL VARIABLES` rows as name -> value): the binary log off, a format other
 * than ROW, row images other than FULL. Each problem names the setting and the fix.
 */
export function checkBinlogSettings(vars: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  if (!on(vars.log_bin)) {
    problems.push("the binary log is disabled (log_bin is OFF): enable it in the server config (log_bin = <basename>, server_id = <n>) and restart the server");
    return problems; // the other settings do not matter without a binlog
  }
  const format = (vars.binlog_format ?? "").toUpperCase();
  if (format !== "ROW") problems.push(`binlog_format is ${format || "unset"}, change capture needs ROW: SET GLOBAL binlog_format = 'ROW' (and in the server config)`);
  const image = (vars.binlog_row_image ?? "FULL").toUpperCase();
  if (image !== "FULL") problems.push(`binlog_row_image is ${image}, change capture needs FULL (complete before and after images): SET GLOBAL binlog_row_image = 'FULL' (and in the server config)`);
  if (vars.server_id !== undefined && Number(vars.server_id) === 0) problems.push("server_id is 0: a server with binary logging needs a non-zero server_id in its config");
  return problems;
}

/** Reads the server's binlog settings; throws SOURCE_INVALID listing every problem. */
export async function inspectServer(c: Connection, url: string): Promise<ServerInfo> {
  const [rows] = await c.query<RowDataPacket[]>(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${BINLOG_VARIABLES.map((v) => `'${v}'`).join(", ")})`);
  const vars: Record<string, string> = {};
  for (const r of rows) vars[String(r.Variable_name).toLowerCase()] = String(r.Value);
  const problems = checkBinlogSettings(vars);
  if (problems.length) {
    throw new TributaryError("SOURCE_INVALID", `MySQL source ${redactUrl(url)} cannot be captured: ${problems.join("; ")}`);
  }
  const version = vars.version ?? "";
  const mariadb = /mariadb/i.test(version);
  return {
    version,
    mariadb,
    serverId: Number(vars.server_id ?? 0),
    gtid: mariadb || (vars.gtid_mode ?? "").toUpperCase() === "ON",
    fullMetadata: (vars.binlog_row_metadata ?? "").toUpperCase() === "FULL",
  };
}

/** A captured table as information_schema describes it. */
export interface TableInfo {
  /** database */
  schema: string;
  table: string;
  /** columns in ordinal order; `type` is COLUMN_TYPE (`json` for MariaDB JSON columns) */
  columns: Array<{ name: string; type: string }>;
  keyColumns: string[];
  engine: string;
  /** no primary key (only accepted by a stream with keylessTables: insert-only) */
  keyless: boolean;
}

/**
 * Loads a table's columns and primary key, refusing a missing table. A table without a
 * primary key comes back `keyless` (the source decides: refused, or insert-only).
 */
export async function describeTable(c: Connection, qualified: string, url: string): Promise<TableInfo> {
  const dot = qualified.indexOf(".");
  const schema = qualified.slice(0, dot);
  const table = qualified.slice(dot + 1);
  const [t] = await c.query<RowDataPacket[]>(`SELECT TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, [schema, table]);
  const info = t[0];
  if (!info || String(info.TABLE_TYPE) !== "BASE TABLE") {
    throw new TributaryError("SOURCE_INVALID", `table ${qualified} does not exist (or is not a base table, or the user cannot see it) in MySQL source ${redactUrl(url)}`);
  }
  const [cols] = await c.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS dataType FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const [pk] = await c.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const keyColumns = pk.map((r) => String(r.name));
  const json = await jsonColumns(c, schema, table);
  return {
    schema,
    table,
    engine: String(info.ENGINE ?? ""),
    keyColumns,
    keyless: keyColumns.length === 0,
    columns: cols.map((r) => ({ name: String(r.name), type: json.has(String(r.name)) ? "json" : String(r.type).toLowerCase() })),
  };
}

/** MariaDB's JSON type is LONGTEXT with a json_valid() check named after the column. */
async function jsonColumns(c: Connection, schema: string, table: string): Promise<Set<string>> {
  try {
    const [rows] = await c.query<RowDataPacket[]>(
      `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`,
      [schema, table],
    );
    const out = new Set<string>();
    for (const r of rows) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(r.clause).trim());
      if (m?.[1]) out.add(m[1].replace(/``/g, "`"));
    }
    return out;
  } catch {
    return new Set(); // MySQL before 8.0.16 has no CHECK_CONSTRAINTS (and a real JSON type)
  }
}

/** The binlog files the server still holds, oldest first. */
export async function binaryLogs(c: Connection): Promise<string[]> {
  const [rows] = await c.query<RowDataPacket[]>("SHOW BINARY LOGS");
  return rows.map((r) => String(r.Log_name));
}
