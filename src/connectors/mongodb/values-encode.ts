/**
 * BSON values → event JSON (docs/adr/0009, docs/types.md "MongoDB"). Every top-level field
 * of a document becomes one row column plus a `types` entry (the BSON `$type` alias), so a
 * MongoDB sink can rebuild the exact BSON and a SQL sink can pick a column type. Documents
 * must be read with `promoteValues: false, promoteLongs: false, promoteBuffers: false,
 * bsonRegExp: true` (EXACT_VALUES in change-stream.ts): a promoted value has already lost
 * whether it was an Int32 or a Double, or the digits of a Long beyond 2^53.
 */
import { BSON } from "mongodb";
import type { JsonValue, Row } from "../../events/index.js";

const { EJSON } = BSON;

/** One encoded value: its JSON and its `types` alias. */
export interface Encoded {
  value: JsonValue;
  type: string;
}

/** A document as a row: columns and their BSON types. */
export interface EncodedDoc {
  row: Row;
  types: Record<string, string>;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The `_bsontype` of a BSON value object (e.g. "ObjectId", "Int32"), or undefined. */
function bsonTypeOf(v: unknown): string | undefined {
  const t = (v as { _bsontype?: unknown } | null)?._bsontype;
  return typeof t === "string" ? t : undefined;
}

/** A double as JSON: NaN and the infinities as strings, -0 as "-0". */
function doubleJson(d: number): JsonValue {
  if (Number.isNaN(d)) return "NaN";
  if (d === Infinity) return "Infinity";
  if (d === -Infinity) return "-Infinity";
  if (Object.is(d, -0)) return "-0";
  return d;
}

/**
 * A Date as ISO-8601 UTC with milliseconds (years beyond 9999 in the extended +YYYYYY form).
 * The driver turns a BSON date outside JavaScript's range (±8.64e15 ms) into an Invalid
 * Date, its value gone before it reaches us: such a date is null (docs/types.md).
 */
function dateJson(d: Date): JsonValue {
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** BSON bytes of `{v}`: what "the same value" means for nested documents and arrays. */
function bytesOf(v: unknown): Buffer {
  return Buffer.from(BSON.serialize({ v }));
}

/**
 * A nested document or array: relaxed Extended JSON when reading it back canonically gives
 * the same BSON bytes, canonical Extended JSON otherwise (a Double 1.0 or an Int64 would
 * come back as an Int32 from relaxed JSON).
 */
function nestedJson(v: object): JsonValue {
  const relaxed = EJSON.serialize(v, { relaxed: true }) as JsonValue;
  try {
    if (bytesOf(EJSON.deserialize(relaxed as never, { relaxed: false })).equals(bytesOf(v))) return relaxed;
  } catch {
    // bson refuses to read back some values it wrote (a subtype-4 Binary that is not 16 bytes): canonical
  }
  return EJSON.serialize(v, { relaxed: false }) as JsonValue;
}

/** Encodes one top-level field value (see the module comment and docs/types.md). */
export function encodeValue(v: unknown): Encoded {
  if (v === null) return { value: null, type: "null" };
  if (v === undefined) return { value: null, type: "undefined" };
  if (typeof v === "string") return { value: v, type: "string" };
  if (typeof v === "boolean") return { value: v, type: "bool" };
  // only reachable when read with promoted values: a whole number is taken as an int, others as a double
  if (typeof v === "number") return Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) <= 2147483647 ? { value: v, type: "int" } : { value: doubleJson(v), type: "double" };
  if (typeof v === "bigint") return v >= -MAX_SAFE && v <= MAX_SAFE ? { value: Number(v), type: "long" } : { value: v.toString(), type: "long" };
  if (v instanceof Date) return { value: dateJson(v), type: "date" };
  if (Array.isArray(v)) return { value: nestedJson(v), type: "array" };
  switch (bsonTypeOf(v)) {
    case "ObjectId":
      return { value: (v as BSON.ObjectId).toHexString(), type: "objectId" };
    case "Int32":
      return { value: (v as BSON.Int32).value, type: "int" };
    case "Double":
      return { value: doubleJson((v as BSON.Double).value), type: "double" };
    case "Long": {
      const big = (v as BSON.Long).toBigInt();
      return { value: big >= -MAX_SAFE && big <= MAX_SAFE ? Number(big) : big.toString(), type: "long" };
    }
    case "Decimal128":
      return { value: (v as BSON.Decimal128).toString(), type: "decimal" };
    case "Timestamp": {
      const ts = v as BSON.Timestamp;
      return { value: { t: ts.t, i: ts.i }, type: "timestamp" };
    }
    case "Binary": {
      const b = v as BSON.Binary;
      return { value: b.toString("base64"), type: b.sub_type === 0 ? "binData" : `binData:${b.sub_type}` };
    }
    case "BSONRegExp":
      return { value: EJSON.serialize(v, { relaxed: false }) as JsonValue, type: "regex" };
    case "Code":
      return { value: EJSON.serialize(v, { relaxed: false }) as JsonValue, type: "javascript" };
    case "BSONSymbol":
      return { value: EJSON.serialize(v, { relaxed: false }) as JsonValue, type: "symbol" };
    case "MinKey":
      return { value: { $minKey: 1 }, type: "minKey" };
    case "MaxKey":
      return { value: { $maxKey: 1 }, type: "maxKey" };
    case "DBRef":
      return { value: nestedJson(v as object), type: "object" };
    case undefined:
      break;
    default:
      return { value: EJSON.serialize(v, { relaxed: false }) as JsonValue, type: String(bsonTypeOf(v)) };
  }
  if (v instanceof RegExp) return { value: EJSON.serialize(new BSON.BSONRegExp(v.source, v.flags), { relaxed: false }) as JsonValue, type: "regex" };
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { value: Buffer.from(v).toString("base64"), type: "binData" };
  return { value: nestedJson(v as object), type: "object" };
}

/** Encodes a document's top-level fields as row columns with their types. */
export function encodeDoc(doc: Record<string, unknown>): EncodedDoc {
  const row: Row = {};
  const types: Record<string, string> = {};
  for (const k of Object.keys(doc)) {
    const e = encodeValue(doc[k]);
    row[k] = e.value;
    types[k] = e.type;
  }
  return { row, types };
}

/** Encodes a document's fields without their types (an update description's values, a key). */
export function encodeFields(doc: Record<string, unknown>): Row {
  return encodeDoc(doc).row;
}
