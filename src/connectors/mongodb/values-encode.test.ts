/**
 * BSON → event JSON (docs/adr/0009): every BSON type, its `types` alias, and nested values
 * in relaxed Extended JSON only when that reads back to the same BSON bytes.
 */
import { describe, expect, it } from "vitest";
import { BSON, Binary, BSONRegExp, BSONSymbol, Code, DBRef, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, UUID } from "mongodb";
import { encodeDoc, encodeValue } from "./values-encode.js";

/** The BSON bytes of `{v}`, for "comes back exactly". */
const bytes = (v: unknown) => Buffer.from(BSON.serialize({ v }));
/** What a sink does with a nested value of type object/array (the contract): canonical EJSON parse. */
const back = (json: unknown) => BSON.EJSON.deserialize(json as BSON.Document, { relaxed: false });

describe("encodeValue", () => {
  it("scalars: ObjectId, string, Int32, Double, Boolean, null, Date", () => {
    const oid = new ObjectId("65a1b2c3d4e5f60718293a4b");
    expect(encodeValue(oid)).toEqual({ value: "65a1b2c3d4e5f60718293a4b", type: "objectId" });
    expect(encodeValue("héllo")).toEqual({ value: "héllo", type: "string" });
    expect(encodeValue(new Int32(-7))).toEqual({ value: -7, type: "int" });
    expect(encodeValue(new Double(1))).toEqual({ value: 1, type: "double" });
    expect(encodeValue(new Double(0.1))).toEqual({ value: 0.1, type: "double" });
    expect(encodeValue(true)).toEqual({ value: true, type: "bool" });
    expect(encodeValue(null)).toEqual({ value: null, type: "null" });
    expect(encodeValue(new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 7)))).toEqual({ value: "2024-02-29T23:59:59.007Z", type: "date" });
    expect(encodeValue(new Date(-62198755200000))).toEqual({ value: "-000001-01-01T00:00:00.000Z", type: "date" });
    expect(encodeValue(new Date(Number.NaN))).toEqual({ value: null, type: "date" });
  });

  it("doubles that JSON cannot carry: NaN, ±Infinity, -0 as strings", () => {
    expect([Number.NaN, Infinity, -Infinity, -0].map((d) => encodeValue(new Double(d)).value)).toEqual(["NaN", "Infinity", "-Infinity", "-0"]);
  });

  it("Int64: a number within ±(2^53-1), the exact decimal string beyond", () => {
    expect(encodeValue(Long.fromString("9007199254740991"))).toEqual({ value: 9007199254740991, type: "long" });
    expect(encodeValue(Long.fromString("-9007199254740991"))).toEqual({ value: -9007199254740991, type: "long" });
    expect(encodeValue(Long.fromString("9007199254740993"))).toEqual({ value: "9007199254740993", type: "long" });
    expect(encodeValue(Long.fromString("-9223372036854775808"))).toEqual({ value: "-9223372036854775808", type: "long" });
    expect(encodeValue(Long.fromString("9223372036854775807"))).toEqual({ value: "9223372036854775807", type: "long" });
  });

  it("Decimal128: all 34 digits, the exponent and the special values as printed", () => {
    expect(encodeValue(Decimal128.fromString("1234567890123456789012345678901234"))).toEqual({ value: "1234567890123456789012345678901234", type: "decimal" });
    expect(encodeValue(Decimal128.fromString("0.1234567890123456789012345678901234")).value).toBe("0.1234567890123456789012345678901234");
    expect(encodeValue(Decimal128.fromString("1.50E+300")).value).toBe("1.50E+300");
    expect(encodeValue(Decimal128.fromString("-0.00")).value).toBe("-0.00");
    expect(["NaN", "Infinity", "-Infinity"].map((s) => encodeValue(Decimal128.fromString(s)).value)).toEqual(["NaN", "Infinity", "-Infinity"]);
    const d = Decimal128.fromString("9.999999999999999999999999999999999E+6144");
    expect(Decimal128.fromString(encodeValue(d).value as string).bytes).toEqual(d.bytes);
  });

  it("Timestamp as {t, i}; Binary as base64 with its subtype in the type", () => {
    expect(encodeValue(new Timestamp({ t: 1700000000, i: 42 }))).toEqual({ value: { t: 1700000000, i: 42 }, type: "timestamp" });
    expect(encodeValue(new Binary(Buffer.from([0, 1, 254, 255])))).toEqual({ value: "AAH+/w==", type: "binData" });
    const uuid = new UUID("0e1a6d3c-8f5b-4b3e-9c2d-7a1b2c3d4e5f");
    expect(encodeValue(uuid.toBinary())).toEqual({ value: Buffer.from(uuid.buffer).toString("base64"), type: "binData:4" });
    expect(encodeValue(new Binary(Buffer.from("md5-ish-sixteen!"), 5))).toEqual({ value: Buffer.from("md5-ish-sixteen!").toString("base64"), type: "binData:5" });
    expect(encodeValue(new Binary(Buffer.from("x"), 0x80)).type).toBe("binData:128");
  });

  it("the rest as canonical Extended JSON with their alias: regex, javascript, symbol, minKey, maxKey", () => {
    expect(encodeValue(new BSONRegExp("^a.c$", "im"))).toEqual({ value: { $regularExpression: { pattern: "^a.c$", options: "im" } }, type: "regex" });
    expect(encodeValue(new Code("function () { return 1; }"))).toEqual({ value: { $code: "function () { return 1; }" }, type: "javascript" });
    expect(encodeValue(new BSONSymbol("sym"))).toEqual({ value: { $symbol: "sym" }, type: "symbol" });
    expect(encodeValue(new MinKey())).toEqual({ value: { $minKey: 1 }, type: "minKey" });
    expect(encodeValue(new MaxKey())).toEqual({ value: { $maxKey: 1 }, type: "maxKey" });
  });

  it("nested documents and arrays: relaxed when it reads back byte-identical, canonical otherwise", () => {
    const plain = { name: "a", n: new Int32(3), tags: ["x", true, null], at: new Date(Date.UTC(2024, 0, 1)), oid: new ObjectId("65a1b2c3d4e5f60718293a4b") };
    const e = encodeValue(plain);
    expect(e).toEqual({ value: { name: "a", n: 3, tags: ["x", true, null], at: { $date: "2024-01-01T00:00:00Z" }, oid: { $oid: "65a1b2c3d4e5f60718293a4b" } }, type: "object" });
    expect(bytes(back(e.value)).equals(bytes(plain))).toBe(true);

    // a Double 1.0 and an Int64 would come back as Int32 from relaxed JSON: canonical keeps them
    const typed = { d: new Double(1), l: Long.fromNumber(5), dec: Decimal128.fromString("1.10"), inner: { big: Long.fromString("9223372036854775807") } };
    const t = encodeValue(typed);
    expect(t.value).toEqual({ d: { $numberDouble: "1.0" }, l: { $numberLong: "5" }, dec: { $numberDecimal: "1.10" }, inner: { big: { $numberLong: "9223372036854775807" } } });
    expect(bytes(back(t.value)).equals(bytes(typed))).toBe(true);

    const arr = [new Int32(1), new Double(2.5), "s", { a: [new Int32(1)] }];
    expect(encodeValue(arr)).toEqual({ value: [1, 2.5, "s", { a: [1] }], type: "array" });
    const arrTyped = [new Double(2), new Binary(Buffer.alloc(16, 7), 4), new Timestamp({ t: 1, i: 2 })];
    const at = encodeValue(arrTyped);
    expect(at.type).toBe("array");
    expect(bytes(back(at.value)).equals(bytes(arrTyped))).toBe(true);
    // bson cannot read back a subtype-4 Binary that is not 16 bytes: it is written canonically, without failing
    expect(encodeValue([new Binary(Buffer.from("hi"), 4)]).value).toEqual([{ $binary: { base64: "aGk=", subType: "04" } }]);
    expect(encodeValue(new DBRef("c", new ObjectId("65a1b2c3d4e5f60718293a4b"))).type).toBe("object");
  });
});

describe("encodeDoc", () => {
  it("one column and one types entry per top-level field", () => {
    const doc = { _id: new ObjectId("65a1b2c3d4e5f60718293a4b"), qty: new Int32(2), price: Decimal128.fromString("9.99"), meta: { a: new Int32(1) }, gone: null };
    expect(encodeDoc(doc)).toEqual({
      row: { _id: "65a1b2c3d4e5f60718293a4b", qty: 2, price: "9.99", meta: { a: 1 }, gone: null },
      types: { _id: "objectId", qty: "int", price: "decimal", meta: "object", gone: "null" },
    });
  });
});
