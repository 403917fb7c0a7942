/**
 * PostgreSQL type mapping, both directions: pgoutput column TEXT -> exact JSON value for the
 * reader (decodeText), JSON value -> `pg` query parameter for the PostgreSQL sink
 * (toPgParam), and column types for tables the sink creates (sqlTypeFor, inferSqlType).
 * The representation of each type is documented in docs/types.md; keep the two in step.
 *
 * decodeText expects the session settings the reader uses: DateStyle=ISO, TimeZone=UTC,
 * extra_float_digits=3, IntervalStyle=postgres, bytea_output=hex.
 */
import type { JsonValue } from "../../events/index.js";
import { buildPgArray, parsePgArray, type PgArray, type PgArrayInput } from "./pg-array.js";
import { timestamptzToIso, timestampToIso } from "./pg-datetime.js";

/**
 * A column's type as the reader knows it from pgoutput and pg_type. `name` (typname, e.g.
 * `int8`, `_text`) decides the mapping; when it is empty a built-in `oid` is used instead.
 * Domains should be passed as their base type (pg_type.typbasetype), else they map as text.
 */
export interface ColumnType {
  oid: number;
  name: string;
  /** Element type oid, for arrays (pg_type.typelem). */
  elemOid?: number;
  /** Element typname, for arrays; defaults to `name` without its leading `_`. */
  elemName?: string;
  /** pg_type.typcategory (`A` for arrays); when given, a type is an array only if `A`. */
  category?: string;
}

/** typnames of built-in types by oid, for callers that only know the oid. */
const BUILTIN_OIDS: Readonly<Record<number, string>> = {
  16: "bool", 17: "bytea", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text",
  26: "oid", 114: "json", 199: "_json", 700: "float4", 701: "float8", 1000: "_bool",
  1001: "_bytea", 1005: "_int2", 1007: "_int4", 1009: "_text", 1014: "_bpchar",
  1015: "_varchar", 1016: "_int8", 1021: "_float4", 1022: "_float8", 1028: "_oid",
  1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp",
  1115: "_timestamp", 1182: "_date", 1184: "timestamptz", 1185: "_timestamptz",
  1186: "interval", 1231: "_numeric", 1266: "timetz", 1700: "numeric", 2950: "uuid",
  2951: "_uuid", 3802: "jsonb", 3807: "_jsonb",
};

/**
 * Converts one column value from pgoutput TEXT format to its JSON representation
 * (docs/types.md). `null` (SQL NULL) gives `null`; `undefined` (unchanged TOAST, not sent)
 * gives `undefined`, which the caller turns into an absent key. Arrays become JSON arrays
 * (nested per dimension, explicit bounds dropped) with each element converted by its
 * element type. Unknown types (enums, extensions, geometry, ranges...) give the text.
 * @throws TypeError / SyntaxError when the text does not have the shape the type prints.
 */
export function decodeText(text: string | null | undefined, type: ColumnType): JsonValue | undefined {
  if (text === undefined) return undefined;
  if (text === null) return null;
  return textDecoderFor(type)(text);
}

/**
 * The conversion decodeText applies to a non-NULL value of `type`, resolved once (the
 * reader keeps one per column of a relation instead of resolving the type per value).
 */
export function textDecoderFor(type: ColumnType): (text: string) => JsonValue {
  const name = type.name !== "" ? type.name : (BUILTIN_OIDS[type.oid] ?? "");
  if (isArrayName(name) && (type.category === undefined || type.category === "A")) {
    const elem =
      type.elemName ?? (type.elemOid !== undefined ? BUILTIN_OIDS[type.elemOid] : undefined) ?? name.slice(1);
    const convert = (vs: PgArray): JsonValue[] =>
      vs.map((v) => (v === null ? null : typeof v === "string" ? decodeScalar(v, elem) : convert(v)));
    const delimiter = delimiterOf(elem);
    return (text) => convert(parsePgArray(text, delimiter));
  }
  switch (name) {
    case "bool": case "int2": case "int4": case "oid": case "int8": case "float4": case "float8":
    case "timestamptz": case "timestamp": case "bytea":
      return (text) => decodeScalar(text, name);
    default:
      return (text) => text; // numeric, json, date, uuid, text types, enums ... (see decodeScalar)
  }
}

const INTEGER = /^-?\d+$/;
const FLOAT = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function decodeScalar(text: string, name: string): JsonValue {
  switch (name) {
    case "bool":
      if (text === "t") return true;
      if (text === "f") return false;
      return bad(text, name);
    case "int2":
    case "int4":
    case "oid":
      return INTEGER.test(text) ? Number(text) : bad(text, name);
    case "int8": {
      if (!INTEGER.test(text)) return bad(text, name);
      const n = Number(text);
      // Outside the safe range Number() is inexact; the decimal text is exact.
      return Number.isSafeInteger(n) ? n : text;
    }
    case "float4":
    case "float8":
      if (text === "NaN" || text === "Infinity" || text === "-Infinity") return text;
      return FLOAT.test(text) ? Number(text) : bad(text, name);
    case "timestamptz":
      return timestamptzToIso(text);
    case "timestamp":
      return timestampToIso(text);
    case "bytea":
      return byteaToBuffer(text).toString("base64");
    default:
      // numeric, money, json/jsonb (JSON text), date, time, timetz, interval, uuid, text
      // types, network types, enums, xml, tsvector, geometry, ranges, bit strings...
      return text;
  }
}

function bad(text: string, name: string): never {
  throw new TypeError(`not a valid ${name} text value: ${JSON.stringify(text)}`);
}

/** Decodes bytea text in hex (`\x0a0b`) or, defensively, escape format (`a\\b\012`). */
function byteaToBuffer(text: string): Buffer {
  if (text.startsWith("\\x")) {
    const hex = text.slice(2);
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) bad(text, "bytea");
    return Buffer.from(hex, "hex");
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] !== "\\") {
      bytes.push(...Buffer.from(text[i++] ?? "", "latin1"));
    } else if (text[i + 1] === "\\") {
      bytes.push(0x5c);
      i += 2;
    } else if (/^[0-3][0-7]{2}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 4;
    } else return bad(text, "bytea");
  }
  return Buffer.from(bytes);
}

function isArrayName(name: string): boolean {
  return name.startsWith("_") && name.length > 1;
}

function delimiterOf(elemName: string): string {
  return elemName === "box" ? ";" : ",";
}

/**
 * Converts a JSON value from an event into a `pg` query parameter for a column of type
 * `targetType` (typname, e.g. `int8`, `bytea`, `_int4`, `jsonb`) so it lands exactly:
 * bytea base64 -> Buffer; arrays -> an array literal with every element quoted (bytea
 * elements as `\x<hex>`); json/jsonb strings pass as JSON text, other values are
 * JSON.stringify-ed; strings, numbers and booleans pass as is; objects and arrays for a
 * non-array, non-JSON column are JSON.stringify-ed; `null` -> `null`.
 * @throws TypeError for a value the target type cannot take (invalid base64 for bytea,
 * a number or object for an array column).
 */
export function toPgParam(value: JsonValue, targetType: string): unknown {
  if (value === null) return null;
  if (isArrayName(targetType)) {
    const elem = targetType.slice(1);
    if (typeof value === "string") return value; // already an array literal
    if (!Array.isArray(value)) throw new TypeError(`cannot write ${JSON.stringify(value)} to a ${targetType} column`);
    const convert = (vs: readonly JsonValue[]): PgArrayInput =>
      vs.map((v) => (v === null ? null : Array.isArray(v) ? convert(v) : elementText(v, elem)));
    return buildPgArray(convert(value), delimiterOf(elem));
  }
  switch (targetType) {
    case "bytea":
      return base64ToBuffer(value);
    case "json":
    case "jsonb":
      return typeof value === "string" ? value : JSON.stringify(value);
    default:
      return typeof value === "object" ? JSON.stringify(value) : value;
  }
}

function elementText(value: Exclude<JsonValue, null>, elem: string): string {
  if (elem === "bytea") return "\\x" + base64ToBuffer(value).toString("hex");
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64ToBuffer(value: JsonValue): Buffer {
  if (typeof value !== "string" || !BASE64.test(value)) {
    throw new TypeError(`bytea value is not base64: ${JSON.stringify(value)}`);
  }
  return Buffer.from(value, "base64");
}

/** CREATE TABLE types for source typnames whose own name would not do. */
const SQL_TYPES: Readonly<Record<string, string>> = {
  bool: "boolean", int2: "smallint", int4: "integer", int8: "bigint", oid: "oid",
  float4: "real", float8: "double precision", numeric: "numeric", money: "money",
  text: "text", varchar: "text", bpchar: "text", name: "text", char: "text", citext: "text",
  bytea: "bytea", uuid: "uuid", json: "json", jsonb: "jsonb", xml: "xml",
  date: "date", time: "time", timetz: "timetz", timestamp: "timestamp",
  timestamptz: "timestamptz", interval: "interval",
  inet: "inet", cidr: "cidr", macaddr: "macaddr", macaddr8: "macaddr8",
  bit: "varbit", varbit: "varbit", tsvector: "tsvector", tsquery: "tsquery", pg_lsn: "pg_lsn",
  point: "point", line: "line", lseg: "lseg", box: "box", path: "path", polygon: "polygon",
  circle: "circle", int4range: "int4range", int8range: "int8range", numrange: "numrange",
  tsrange: "tsrange", tstzrange: "tstzrange", daterange: "daterange",
};

/**
 * CREATE TABLE types for a MongoDB source's BSON type aliases (docs/types.md "MongoDB");
 * `binData` with any subtype (`binData:4`) is `bytea`, an alias not listed here `jsonb`
 * (its value is Extended JSON).
 */
const FROM_MONGODB: Readonly<Record<string, string>> = {
  objectId: "text", string: "text", int: "integer", long: "bigint", double: "double precision",
  decimal: "numeric", bool: "boolean", date: "timestamptz", timestamp: "jsonb", object: "jsonb",
  array: "jsonb", null: "text",
};

/**
 * A column type usable in CREATE TABLE for a source typname: `int8` -> `bigint`,
 * `_text` -> `text[]`, `bpchar`/`varchar` -> `text` (length unknown), `bit` -> `varbit`.
 * Types the target may lack (enums, citext, other extension or user types) -> `text`.
 * A MongoDB source's aliases map by {@link FROM_MONGODB} (`long` -> `bigint`, `date` ->
 * `timestamptz`, `decimal` -> `numeric`, `object`/`array`/`timestamp` -> `jsonb`, `binData` -> `bytea`).
 * @param connector the event's `source.connector`; type names mean different things per source (`date`)
 */
export function sqlTypeFor(typeName: string, connector = "postgres"): string {
  if (connector === "mongodb") return FROM_MONGODB[typeName] ?? (typeName === "binData" || typeName.startsWith("binData:") ? "bytea" : "jsonb");
  if (isArrayName(typeName)) return `${sqlTypeFor(typeName.slice(1))}[]`;
  return SQL_TYPES[typeName] ?? "text";
}

/**
 * A column type for a value whose source type is unknown (e.g. a field a transformer
 * added): safe integer -> `bigint`, other number -> `double precision`, boolean ->
 * `boolean`, string -> `text`, array or object -> `jsonb`, null -> `text`.
 */
export function inferSqlType(value: JsonValue): string {
  if (typeof value === "number") return Number.isSafeInteger(value) ? "bigint" : "double precision";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "object" && value !== null) return "jsonb";
  return "text";
}
