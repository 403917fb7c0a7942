/**
 * MySQL/MariaDB type mapping, both directions: a column value as mysql2 (snapshot) or
 * zongji (binlog) hands it over -> exact JSON value for the reader (decodeValue), JSON
 * value -> mysql2 query parameter for the MySQL sink (toMysqlParam), and column types for
 * tables the sink creates (mysqlTypeFor, inferMysqlType). The representation of each type
 * is documented in docs/types.md ("MySQL / MariaDB"); keep the two in step.
 *
 * decodeValue expects the connection options of {@link VALUE_OPTIONS} (dates, big integers
 * and JSON as strings) and a session time zone of UTC, so that the snapshot and the binlog
 * give the same JSON for the same stored value.
 */
import type { JsonValue } from "../../events/index.js";

/** mysql2 / zongji options under which decodeValue sees the value shapes it expects. */
export const VALUE_OPTIONS = {
  dateStrings: true,
  supportBigNumbers: true,
  bigNumberStrings: true,
  decimalNumbers: false,
  jsonStrings: true,
  timezone: "Z",
} as const;

/** A column type split into its parts: `bigint(20) unsigned` -> base `bigint`, args `20`, unsigned. */
export interface ParsedType {
  base: string;
  args: string | undefined;
  unsigned: boolean;
}

/** Parses a COLUMN_TYPE text (`decimal(30,10)`, `bit(10)`, `enum('a','b')`, `int(11) unsigned zerofill`). */
export function parseColumnType(columnType: string): ParsedType {
  const t = columnType.trim().toLowerCase();
  const m = /^([a-z][a-z0-9 ]*?)\s*(?:\((.*)\))?((?:\s+(?:unsigned|signed|zerofill))*)\s*$/s.exec(t);
  if (!m) return { base: t, args: undefined, unsigned: false };
  return { base: (m[1] ?? t).trim(), args: m[2], unsigned: /unsigned/.test(m[3] ?? "") };
}

const INTEGER_TYPES = new Set(["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year", "bool", "boolean"]);
const FLOAT_TYPES = new Set(["float", "real"]);
const DOUBLE_TYPES = new Set(["double", "double precision"]);
const BINARY_TYPES = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]);
const INTEGER_TEXT = /^-?\d+$/;
const ZERO_DATE = /^0000-00-00/;

/**
 * The shortest decimal that reads back as the same single-precision float: the binlog
 * carries a FLOAT's 4 bytes (0.1f is 0.10000000149011612 as a double), the text protocol
 * prints 6 digits only, so both are reduced to the one number that identifies the float.
 */
export function float32Shortest(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return f === 0 ? 0 : f;
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}

/** Bits of a BIT(n) value, most significant first, as a string of exactly `width` 0/1 characters. */
export function bitsToString(buf: Buffer, width: number): string {
  let s = "";
  for (const b of buf) s += b.toString(2).padStart(8, "0");
  if (s.length > width) s = s.slice(s.length - width);
  return s.padStart(width, "0");
}

/** A string of 0/1 characters as big-endian bytes (what a BIT column takes). */
export function bitStringToBuffer(bits: string): Buffer {
  if (!/^[01]*$/.test(bits)) throw new TypeError(`not a bit string (0/1 characters): ${JSON.stringify(bits)}`);
  const padded = bits.padStart(Math.max(8, Math.ceil(bits.length / 8) * 8), "0");
  const out = Buffer.alloc(padded.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.slice(i * 8, i * 8 + 8), 2);
  return out;
}

function integerJson(text: string): JsonValue {
  const n = Number(text);
  // outside ±(2^53-1) a double is inexact: the decimal text is exact
  return Number.isSafeInteger(n) ? n : text;
}

/** `2024-02-29 23:59:59.123456` -> `2024-02-29T23:59:59.123456`; zero dates keep MySQL's text. */
function datetimeIso(text: string): string {
  return ZERO_DATE.test(text) ? text : text.replace(" ", "T");
}

function dateToText(d: Date, type: ParsedType): string {
  const iso = d.toISOString();
  if (type.base === "date") return iso.slice(0, 10);
  return type.base === "timestamp" ? iso : iso.replace(/Z$/, "");
}

/**
 * Converts one column value, as mysql2 or zongji decoded it under {@link VALUE_OPTIONS},
 * to its JSON representation (docs/types.md): integers as numbers (beyond ±(2^53-1) as
 * exact decimal strings), DECIMAL as its exact text, FLOAT as the shortest decimal of the
 * single-precision value, DATETIME as ISO-8601 without zone, TIMESTAMP as ISO-8601 UTC
 * with `Z`, DATE/TIME/YEAR-less text as printed, BIT(n) as a string of n 0/1 characters,
 * binary strings and BLOBs as base64, JSON as its text, ENUM/SET as their text, NULL as
 * `null`.
 * @param columnType the column's type text (COLUMN_TYPE, e.g. `bit(10)`, `bigint(20) unsigned`).
 */
export function decodeValue(raw: unknown, columnType: string): JsonValue {
  if (raw === null || raw === undefined) return null;
  const type = parseColumnType(columnType);
  if (Buffer.isBuffer(raw)) {
    if (type.base === "bit") return bitsToString(raw, Number(type.args ?? 1));
    return raw.toString("base64");
  }
  if (typeof raw === "bigint") return integerJson(raw.toString());
  if (typeof raw === "number") {
    if (FLOAT_TYPES.has(type.base)) return float32Shortest(raw);
    return Number.isFinite(raw) ? raw : String(raw);
  }
  if (typeof raw === "boolean") return raw;
  if (raw instanceof Date) return dateToText(raw, type);
  if (typeof raw === "string") {
    if (INTEGER_TYPES.has(type.base)) return INTEGER_TEXT.test(raw) ? integerJson(raw) : raw;
    if (FLOAT_TYPES.has(type.base)) return float32Shortest(Number(raw));
    if (DOUBLE_TYPES.has(type.base)) return Number(raw);
    if (type.base === "datetime") return datetimeIso(raw);
    if (type.base === "timestamp") return ZERO_DATE.test(raw) ? raw : `${datetimeIso(raw)}Z`;
    return raw;
  }
  if (typeof raw === "object") return JSON.stringify(raw); // a parsed JSON document: back to JSON text
  return String(raw);
}

/**
 * The snapshot SELECT expression for a column. FLOAT and DOUBLE are read as text the
 * server prints exactly (mysql2's own parsing of a DOUBLE in the text protocol can lose
 * the last digit, e.g. 93549.54236187041 -> 93549.5423618704); FLOAT is widened to DOUBLE
 * first, since its own text has only 6 significant digits.
 */
export function snapshotExpr(quotedName: string, columnType: string): string {
  const base = parseColumnType(columnType).base;
  if (FLOAT_TYPES.has(base)) return `CAST(${quotedName} + 0e0 AS CHAR)`;
  if (DOUBLE_TYPES.has(base)) return `CAST(${quotedName} AS CHAR)`;
  return quotedName;
}

const ISO_TS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * An ISO-8601 timestamp as MySQL DATETIME/TIMESTAMP literal text in UTC
 * (`2024-03-01T12:34:56.123456+02:00` -> `2024-03-01 10:34:56.123456`), keeping every
 * fractional digit. Text that is not ISO-8601 (zero dates, `infinity`) is returned as is
 * for the server to accept or refuse.
 */
export function isoToMysqlDatetime(text: string): string {
  const m = ISO_TS.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  let stamp = `${y}-${mo}-${d} ${h}:${mi}:${s}`;
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
    if (offsetMin !== 0) {
      const local = new Date(0);
      local.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // not Date.UTC: it maps years 0-99 to 1900-1999
      local.setUTCHours(Number(h), Number(mi), Number(s), 0);
      const dt = new Date(local.getTime() - offsetMin * 60_000);
      stamp = dt.toISOString().slice(0, 19).replace("T", " ");
    }
  }
  return stamp + frac;
}

/** The target column as the MySQL sink knows it. */
export interface MysqlColumnType {
  /** information_schema DATA_TYPE, e.g. `bigint`, `varbinary`, `json`. */
  dataType: string;
  /** information_schema COLUMN_TYPE, e.g. `bit(12)`, `enum('a','b')`. */
  columnType: string;
}

/**
 * Converts a JSON value from an event into a mysql2 parameter for a column so it lands
 * exactly: base64 -> Buffer for binary/BLOB columns; a 0/1 string -> bytes for BIT;
 * ISO-8601 timestamps -> UTC `YYYY-MM-DD HH:MM:SS.ffffff` for DATETIME/TIMESTAMP; an array
 * for SET -> comma-joined; JSON strings pass as JSON text, other values for a JSON column
 * are JSON.stringify-ed; booleans -> 1/0; objects and arrays for other columns ->
 * JSON.stringify-ed; strings and numbers as is; `null` -> NULL.
 * @throws TypeError for a value the column cannot take (invalid base64 for a BLOB, a
 * non-bit string for BIT).
 */
export function toMysqlParam(value: JsonValue, col: MysqlColumnType): unknown {
  if (value === null) return null;
  const base = col.dataType.toLowerCase();
  if (base === "bit") {
    if (typeof value === "string") return bitStringToBuffer(value);
    if (typeof value === "boolean") return value ? 1 : 0;
    if (typeof value === "number") return value;
    throw new TypeError(`cannot write ${JSON.stringify(value)} to a BIT column`);
  }
  if (BINARY_TYPES.has(base)) {
    if (typeof value !== "string" || !BASE64.test(value)) throw new TypeError(`${base} value is not base64: ${JSON.stringify(value).slice(0, 80)}`);
    return Buffer.from(value, "base64");
  }
  if (base === "json" || isJsonColumn(col)) return typeof value === "string" ? value : JSON.stringify(value);
  if (base === "datetime" || base === "timestamp") return typeof value === "string" ? isoToMysqlDatetime(value) : typeof value === "number" ? isoToMysqlDatetime(new Date(value).toISOString()) : value;
  if (base === "set" && Array.isArray(value)) return value.map(String).join(",");
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object") return JSON.stringify(value);
  return value;
}

/** MariaDB's JSON is LONGTEXT with a json_valid() check; the sink describes it as `json`. */
function isJsonColumn(col: MysqlColumnType): boolean {
  return col.columnType.toLowerCase() === "json";
}

/** Column types for PostgreSQL typnames (events from a PostgreSQL source). */
const FROM_POSTGRES: Readonly<Record<string, string>> = {
  bool: "tinyint(1)", int2: "smallint", int4: "int", int8: "bigint", oid: "int unsigned",
  float4: "float", float8: "double", numeric: "decimal(65,30)", money: "varchar(64)",
  text: "longtext", varchar: "longtext", bpchar: "longtext", name: "varchar(64)", citext: "longtext",
  bytea: "longblob", uuid: "char(36)", json: "json", jsonb: "json", xml: "longtext",
  date: "date", time: "time(6)", timetz: "varchar(32)", timestamp: "datetime(6)", timestamptz: "datetime(6)",
  interval: "varchar(255)", inet: "varchar(64)", cidr: "varchar(64)", macaddr: "varchar(32)",
  bit: "varchar(255)", varbit: "varchar(255)",
};

/**
 * Column types for a MongoDB source's BSON type aliases (docs/types.md "MongoDB"): `binData`
 * with any subtype is `longblob`, an alias not listed here `json` (its value is Extended JSON).
 */
const FROM_MONGODB: Readonly<Record<string, string>> = {
  objectId: "varchar(24)", string: "longtext", int: "int", long: "bigint", double: "double",
  decimal: "decimal(65,30)", bool: "tinyint(1)", date: "datetime(3)", timestamp: "json", object: "json",
  array: "json", null: "longtext",
};

/**
 * A column type usable in CREATE TABLE for an event's source type: a MySQL source's own
 * COLUMN_TYPE as is (MariaDB's JSON appears as `json`); a PostgreSQL typname mapped
 * (`int8` -> `bigint`, `numeric` -> `decimal(65,30)`, `bytea` -> `longblob`, `jsonb` ->
 * `json`, `timestamptz` -> `datetime(6)` in UTC, arrays -> `json`, other types -> `longtext`);
 * a MongoDB source's aliases by {@link FROM_MONGODB} (`objectId` -> `varchar(24)`, `date` ->
 * `datetime(3)`, `decimal` -> `decimal(65,30)`, `object`/`array`/`timestamp` -> `json`, `binData` -> `longblob`).
 * @param connector the event's `source.connector` (`mysql`, `postgres`, …)
 */
export function mysqlTypeFor(sourceType: string, connector: string): string {
  if (connector === "mysql") return sourceType;
  if (connector === "mongodb") return FROM_MONGODB[sourceType] ?? (sourceType === "binData" || sourceType.startsWith("binData:") ? "longblob" : "json");
  if (sourceType.startsWith("_")) return "json";
  return FROM_POSTGRES[sourceType] ?? "longtext";
}

/**
 * A column type for a value whose source type is unknown (e.g. a field a transformer
 * added): safe integer -> `bigint`, other number -> `double`, boolean -> `tinyint(1)`,
 * string -> `longtext`, array or object -> `json`, null -> `longtext`.
 */
export function inferMysqlType(value: JsonValue): string {
  if (typeof value === "number") return Number.isSafeInteger(value) ? "bigint" : "double";
  if (typeof value === "boolean") return "tinyint(1)";
  if (typeof value === "object" && value !== null) return "json";
  return "longtext";
}

/**
 * A key column cannot be an unbounded TEXT/BLOB in MySQL: such a type becomes
 * `varchar(255)` / `varbinary(255)` when it is part of the primary key.
 */
export function keyColumnType(type: string): string {
  const base = parseColumnType(type).base;
  if (/^(tiny|medium|long)?text$/.test(base) || base === "json") return "varchar(255)";
  if (/^(tiny|medium|long)?blob$/.test(base)) return "varbinary(255)";
  return type;
}
