/**
 * BSON value helpers for the fake MongoDB server.
 *
 * The fake keeps every stored value in its *exact* BSON form (Int32, Double, Long stay wrapper
 * objects) so a document read back has the same BSON types that were written. mingo cannot
 * compare wrapper objects with plain numbers, so filters and sorts run on a *promoted view*
 * (numbers as JS numbers) while results are always taken from the exact form.
 * All BSON classes come from the driver's own re-export so `instanceof` checks in tests and
 * mingo's constructor-based equality see one class per BSON type.
 */
import { BSON, Long, Timestamp } from "mongodb";

/** A BSON document as the fake handles it (exact types, see module header). */
export type Doc = Record<string, unknown>;

/** Deserialize options that keep every BSON type as it was on the wire. */
export const EXACT: BSON.DeserializeOptions = {
  promoteValues: false,
  promoteLongs: false,
  promoteBuffers: false,
  bsonRegExp: true,
};

/** BSON type tag of a driver value (`"Int32"`, `"ObjectId"` …), or undefined for plain JS values. */
export function bsonType(v: unknown): string | undefined {
  if (v === null || typeof v !== "object") return undefined;
  const t = (v as { _bsontype?: unknown })._bsontype;
  return typeof t === "string" ? t : undefined;
}

/** True for a plain document (not an array, Date, Buffer or BSON class instance). */
export function isPlainDoc(v: unknown): v is Doc {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Deep copy by a BSON round trip (never structuredClone: it strips BSON prototypes). */
export function cloneDoc(doc: Doc): Doc {
  return BSON.deserialize(BSON.serialize(doc), EXACT);
}

/** Deep copy of any value (wrapped in a document for the BSON round trip). */
export function cloneValue(v: unknown): unknown {
  return cloneDoc({ v }).v;
}

/** Decodes a BSON document from bytes, keeping exact types. */
export function decodeExact(bytes: Uint8Array): Doc {
  return BSON.deserialize(bytes, EXACT);
}

/** The numeric value of an Int32/Double/Long/number, or undefined for anything else. */
export function toNum(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  const t = bsonType(v);
  if (t === "Int32" || t === "Double") return (v as { value: number }).value;
  if (t === "Long") return (v as Long).toNumber();
  return undefined;
}

/** True if the value is one of the numeric BSON types (or a JS number). */
export function isNumeric(v: unknown): boolean {
  return typeof v === "number" || ["Int32", "Double", "Long", "Decimal128"].includes(bsonType(v) ?? "");
}

const JS_REGEX_FLAGS = new Set(["i", "m", "s", "u"]);

/**
 * The promoted view of a value: Int32/Double become numbers, Longs that fit 2^53 become numbers,
 * BSONRegExp becomes RegExp. Every other BSON value is shared, not copied.
 */
export function promote(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(promote);
  const t = bsonType(v);
  if (t === undefined) {
    if (!isPlainDoc(v)) return v;
    const out: Doc = {};
    for (const [k, x] of Object.entries(v)) out[k] = promote(x);
    return out;
  }
  if (t === "Int32" || t === "Double") return (v as { value: number }).value;
  if (t === "Long") {
    const l = v as Long;
    return l.lessThanOrEqual(Number.MAX_SAFE_INTEGER) && l.greaterThanOrEqual(Number.MIN_SAFE_INTEGER) ? l.toNumber() : l;
  }
  if (t === "BSONRegExp") {
    const r = v as BSON.BSONRegExp;
    return new RegExp(r.pattern, [...r.options].filter((f) => JS_REGEX_FLAGS.has(f)).join(""));
  }
  return v;
}

/** Promoted view of a document (see {@link promote}). */
export function promoteDoc(doc: Doc): Doc {
  return promote(doc) as Doc;
}

/** Type- and value-exact equality (same BSON bytes), as mongod's no-op detection uses. */
export function bsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return Buffer.from(BSON.serialize({ v: a })).equals(BSON.serialize({ v: b }));
}

/**
 * The `_id` index key of a value: numbers compare across Int32/Double/Long like mongod's index
 * (so `_id: 1` and `_id: 1.0` collide), everything else by its exact BSON bytes.
 */
export function keyOf(v: unknown): string {
  if (typeof v === "string") return `s:${v}`;
  const t = bsonType(v);
  if (t === "ObjectId") return `o:${(v as BSON.ObjectId).toHexString()}`;
  if (typeof v === "number" || t === "Int32" || t === "Double") {
    const n = toNum(v) ?? 0;
    return `n:${Object.is(n, -0) ? 0 : n}`;
  }
  if (t === "Long") {
    const l = v as Long;
    const safe = l.lessThanOrEqual(Number.MAX_SAFE_INTEGER) && l.greaterThanOrEqual(Number.MIN_SAFE_INTEGER);
    return `n:${safe ? l.toNumber() : l.toString()}`;
  }
  return `b:${Buffer.from(BSON.serialize({ v })).toString("hex")}`;
}

/** Compares two Timestamps (-1, 0, 1). */
export function compareTs(a: Timestamp, b: Timestamp): number {
  return a.compare(b);
}

/** A document with `_id` moved to the front, as mongod stores inserted documents. */
export function idFirst(doc: Doc): Doc {
  if (!("_id" in doc) || Object.keys(doc)[0] === "_id") return doc;
  const out: Doc = { _id: doc._id };
  for (const [k, v] of Object.entries(doc)) if (k !== "_id") out[k] = v;
  return out;
}

/** Reads a value at a dotted path of a document (array indexes allowed), undefined if absent. */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (Array.isArray(cur)) cur = /^\d+$/.test(part) ? cur[Number(part)] : undefined;
    else if (isPlainDoc(cur)) cur = Object.prototype.hasOwnProperty.call(cur, part) ? cur[part] : undefined;
    else return undefined;
  }
  return cur;
}
