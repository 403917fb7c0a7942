/**
 * Event values → BSON for the MongoDB sink (the reverse of values-encode.ts; the table is
 * in docs/types.md "MongoDB"). Decoding is driven by the event's `types` and by the
 * connector that produced it, because type names differ between sources (`date` is a
 * BSON Date for MongoDB, a calendar date for PostgreSQL):
 * - MongoDB events: each `types` alias gives back the exact BSON value (ObjectId, Int32,
 *   Long, Double, Decimal128, Date, Timestamp, Binary with its subtype, nested documents
 *   and arrays through Extended JSON);
 * - PostgreSQL and MySQL events: by the SQL type (integers → Int32/Long, numeric/decimal →
 *   Decimal128 when it fits 34 digits, floats → Double, timestamptz → Date when no sub-ms
 *   digits, json → the parsed document, bytea/BLOB → Binary, the rest → string);
 * - anything else (no type, an unknown type, a transformer's field, other sources):
 *   plain JSON (integers → Int32 or Long, other numbers → Double, objects and arrays
 *   recursively).
 * A value its type cannot take throws {@link ValueError} naming the field and the type.
 */
import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId, Timestamp, type Document } from "mongodb";
import type { JsonValue, Row } from "../../events/index.js";

/** A value that cannot be decoded as its declared type (the event is refused for its data). */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INTEGER_TEXT = /^-?\d+$/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Decodes a row (an event's `after`, `before` or `key`) into a document.
 * @param types the event's `types` (absent: plain JSON)
 * @param connector the event's `source.connector`
 * @throws ValueError naming the field whose value its type cannot take
 */
export function decodeRow(row: Row, types: Readonly<Record<string, string>> | undefined, connector: string): Document {
  const doc: Document = {};
  for (const field of Object.keys(row)) {
    const v = row[field] as JsonValue;
    try {
      doc[field] = decodeValue(v, types?.[field], connector);
    } catch (err) {
      throw new ValueError(`field ${JSON.stringify(field)}${types?.[field] ? ` (type ${types[field]})` : ""}: ${(err as Error).message}`);
    }
  }
  return doc;
}

/**
 * Decodes one top-level value by its source type (see the module comment).
 * @throws Error when the value does not have the shape its type gives
 */
export function decodeValue(v: JsonValue, type: string | undefined, connector: string): unknown {
  if (v === null) return null;
  if (type === undefined) return plain(v);
  switch (connector) {
    case "mongodb":
      return fromMongo(v, type);
    case "postgres":
      return fromPostgres(v, type);
    case "mysql":
      return fromMysql(v, type);
    default:
      return plain(v);
  }
}

/**
 * Plain JSON → BSON: strings stay strings, integers within int32 → Int32, other integers →
 * Long when they fit int64 (else Double), other numbers → Double, objects and arrays
 * recursively (their keys as they are).
 */
export function plain(v: JsonValue): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (Number.isInteger(v)) {
      if (v >= INT32_MIN && v <= INT32_MAX) return new Int32(v);
      if (Math.abs(v) < 2 ** 63) return Long.fromNumber(v);
    }
    return new Double(v);
  }
  if (Array.isArray(v)) return v.map(plain);
  const out: Document = {};
  for (const k of Object.keys(v)) out[k] = plain(v[k] as JsonValue);
  return out;
}

function fail(v: JsonValue, what: string): never {
  const shown = JSON.stringify(v);
  throw new Error(`${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown} is not ${what}`);
}

/** An integer (number or decimal text) as a Long; throws beyond int64. */
function toLong(v: JsonValue): Long {
  if (typeof v === "number" && Number.isSafeInteger(v)) return Long.fromNumber(v);
  if (typeof v === "string" && INTEGER_TEXT.test(v)) {
    const b = BigInt(v);
    if (b >= INT64_MIN && b <= INT64_MAX) return Long.fromBigInt(b);
    fail(v, "within the 64-bit integer range");
  }
  return fail(v, "an integer (a number, or a decimal string beyond 2^53)");
}

function toInt32(v: JsonValue): Int32 {
  if (typeof v === "number" && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return new Int32(v);
  return fail(v, "a 32-bit integer");
}

/** A double: a number, or "NaN" / "Infinity" / "-Infinity" / "-0". */
function toDouble(v: JsonValue): Double {
  if (typeof v === "number") return new Double(v);
  if (v === "NaN") return new Double(NaN);
  if (v === "Infinity") return new Double(Infinity);
  if (v === "-Infinity") return new Double(-Infinity);
  if (v === "-0") return new Double(-0);
  return fail(v, "a double (a number, or \"NaN\", \"Infinity\", \"-Infinity\", \"-0\")");
}

function toBinary(v: JsonValue, subtype: number): Binary {
  if (typeof v !== "string" || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) return fail(v, "base64");
  return new Binary(Buffer.from(v, "base64"), subtype);
}

/** Extended JSON (canonical or relaxed) → BSON; numbers keep their Int32/Long/Double kinds. */
function fromEjson(v: JsonValue): unknown {
  return BSON.EJSON.deserialize(v as Document, { relaxed: false });
}

/** The BSON value of a MongoDB source's encoded value of alias `type` (docs/adr/0009). */
function fromMongo(v: JsonValue, type: string): unknown {
  switch (type) {
    case "objectId":
      if (typeof v === "string" && /^[0-9a-f]{24}$/i.test(v)) return ObjectId.createFromHexString(v);
      return fail(v, "an ObjectId (24 hex digits)");
    case "string":
      if (typeof v === "string") return v;
      return fail(v, "a string");
    case "int":
      return toInt32(v);
    case "long":
      return toLong(v);
    case "double":
      return toDouble(v);
    case "decimal":
      if (typeof v !== "string") return fail(v, "a Decimal128 string");
      return Decimal128.fromString(v);
    case "bool":
      if (typeof v === "boolean") return v;
      return fail(v, "a boolean");
    case "date": {
      const ms = typeof v === "string" && INTEGER_TEXT.test(v) ? Number(v) : typeof v === "string" ? Date.parse(v) : NaN;
      const d = new Date(ms);
      if (Number.isNaN(d.getTime())) return fail(v, "a date the driver can write (ISO-8601, or milliseconds within ±8.64e15)");
      return d;
    }
    case "timestamp": {
      const o = v as { t?: unknown; i?: unknown };
      if (typeof o === "object" && !Array.isArray(o) && typeof o.t === "number" && typeof o.i === "number") return new Timestamp({ t: o.t, i: o.i });
      return fail(v, "a timestamp {\"t\": seconds, \"i\": increment}");
    }
    case "null":
      return null;
    case "object":
    case "array":
    case "regex":
    case "javascript":
    case "javascriptWithScope":
    case "symbol":
    case "minKey":
    case "maxKey":
    case "undefined":
    case "dbPointer":
      return fromEjson(v);
    default:
      if (type === "binData" || type.startsWith("binData:")) {
        const subtype = type === "binData" ? 0 : Number(type.slice("binData:".length));
        if (!Number.isInteger(subtype) || subtype < 0 || subtype > 255) return fail(v, `binary data of a known subtype (${type})`);
        return toBinary(v, subtype);
      }
      return plain(v);
  }
}

/** A numeric/decimal text as Decimal128 when it fits (34 significant digits), else the text. */
function toDecimal(v: JsonValue): unknown {
  if (typeof v === "number") return Decimal128.fromString(String(v));
  if (typeof v !== "string") return fail(v, "a decimal string");
  try {
    return Decimal128.fromString(v);
  } catch {
    return v; // beyond Decimal128: kept exact as text
  }
}

/** An ISO-8601 UTC instant as a Date when it has no sub-millisecond digits, else the text. */
function toInstant(v: JsonValue): unknown {
  if (typeof v !== "string") return plain(v);
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d+))?(?:Z|[+-]\d{2}:?\d{2})$/.exec(v);
  if (!m || (m[1] !== undefined && m[1].length > 3 && !/^0+$/.test(m[1].slice(3)))) return v;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? v : new Date(ms);
}

/** JSON text (json/jsonb) as the document (or value) it holds; text that is not JSON stays text. */
function parsedJson(v: JsonValue): unknown {
  if (typeof v !== "string") return plain(v);
  try {
    return plain(JSON.parse(v) as JsonValue);
  } catch {
    return v;
  }
}

/** A PostgreSQL source's value of typname `type` (docs/types.md "PostgreSQL"). */
function fromPostgres(v: JsonValue, type: string): unknown {
  if (type.startsWith("_") && type.length > 1) {
    if (!Array.isArray(v)) return plain(v);
    const elem = type.slice(1);
    const each = (xs: JsonValue[]): unknown[] => xs.map((x) => (x === null ? null : Array.isArray(x) ? each(x) : fromPostgres(x, elem)));
    return each(v);
  }
  switch (type) {
    case "int2":
    case "int4":
      return toInt32(v);
    case "int8":
    case "oid":
      return toLong(v);
    case "float4":
    case "float8":
      return toDouble(v);
    case "numeric":
      return toDecimal(v);
    case "bool":
      if (typeof v === "boolean") return v;
      return fail(v, "a boolean");
    case "timestamptz":
      return toInstant(v);
    case "json":
    case "jsonb":
      return parsedJson(v);
    case "bytea":
      return toBinary(v, 0);
    default:
      return typeof v === "string" ? v : plain(v);
  }
}

/** A MySQL/MariaDB source's value of COLUMN_TYPE `type` (docs/types.md "MySQL / MariaDB"). */
function fromMysql(v: JsonValue, type: string): unknown {
  const m = /^([a-z]+)/.exec(type.trim().toLowerCase());
  const base = m?.[1] ?? "";
  const unsigned = /unsigned/i.test(type);
  switch (base) {
    case "tinyint":
    case "smallint":
    case "mediumint":
    case "year":
      return toInt32(v);
    case "int":
    case "integer":
      return unsigned ? toLong(v) : toInt32(v);
    case "bigint":
      if (unsigned && typeof v === "string" && INTEGER_TEXT.test(v) && BigInt(v) > INT64_MAX) return toDecimal(v);
      return toLong(v);
    case "decimal":
    case "numeric":
      return toDecimal(v);
    case "float":
    case "double":
    case "real":
      return toDouble(v);
    case "timestamp":
      return toInstant(v);
    case "json":
      return parsedJson(v);
    case "binary":
    case "varbinary":
    case "tinyblob":
    case "blob":
    case "mediumblob":
    case "longblob":
      return toBinary(v, 0);
    default:
      return typeof v === "string" ? v : plain(v);
  }
}
