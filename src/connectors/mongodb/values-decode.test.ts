/** Event values → BSON: every MongoDB alias, the plain-JSON rules, and the PostgreSQL / MySQL type tables (docs/types.md "MongoDB"). */
import { describe, expect, it } from "vitest";
import { Binary, BSON, BSONRegExp, Code, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from "mongodb";
import { decodeRow, decodeValue, plain, ValueError } from "./values-decode.js";

const m = (v: Parameters<typeof decodeValue>[0], type: string) => decodeValue(v, type, "mongodb");
const pg = (v: Parameters<typeof decodeValue>[0], type: string) => decodeValue(v, type, "postgres");
const my = (v: Parameters<typeof decodeValue>[0], type: string) => decodeValue(v, type, "mysql");
/** The exact BSON bytes of a value (so Int32 vs Double vs Long differences show). */
const bytes = (v: unknown) => Buffer.from(BSON.serialize({ v })).toString("hex");

describe("MongoDB aliases", () => {
  it("give back the exact BSON value of each type", () => {
    const cases: Array<[Parameters<typeof decodeValue>[0], string, unknown]> = [
      ["65a1b2c3d4e5f60718293a4b", "objectId", new ObjectId("65a1b2c3d4e5f60718293a4b")],
      ["x", "string", "x"],
      [-5, "int", new Int32(-5)],
      [5, "long", Long.fromNumber(5)],
      ["-9223372036854775808", "long", Long.fromString("-9223372036854775808")],
      [1, "double", new Double(1)],
      [0.1, "double", new Double(0.1)],
      ["NaN", "double", new Double(NaN)],
      ["Infinity", "double", new Double(Infinity)],
      ["-Infinity", "double", new Double(-Infinity)],
      ["-0", "double", new Double(-0)],
      ["1234567890123456789012345678901234", "decimal", Decimal128.fromString("1234567890123456789012345678901234")],
      ["-1.50E-6143", "decimal", Decimal128.fromString("-1.50E-6143")],
      ["NaN", "decimal", Decimal128.fromString("NaN")],
      [true, "bool", true],
      ["2024-03-01T12:34:56.789Z", "date", new Date("2024-03-01T12:34:56.789Z")],
      ["-62198755200000", "date", new Date(-62198755200000)],
      [{ t: 4294967295, i: 4294967295 }, "timestamp", new Timestamp({ t: 4294967295, i: 4294967295 })],
      ["AP8K", "binData", new Binary(Buffer.from([0, 255, 10]), 0)],
      ["", "binData:5", new Binary(Buffer.alloc(0), 5)],
      [null, "null", null],
      [{ a: 1, b: { $numberDouble: "1.0" }, c: { $numberLong: "9007199254740993" }, d: [{ $date: { $numberLong: "0" } }] }, "object", { a: new Int32(1), b: new Double(1), c: Long.fromString("9007199254740993"), d: [new Date(0)] }],
      [[1, 2.5, { $numberDecimal: "1.0" }], "array", [new Int32(1), new Double(2.5), Decimal128.fromString("1.0")]],
      [{ $regularExpression: { pattern: "^a", options: "i" } }, "regex", new BSONRegExp("^a", "i")],
      [{ $code: "x()" }, "javascript", new Code("x()")],
      [{ $minKey: 1 }, "minKey", new MinKey()],
      [{ $maxKey: 1 }, "maxKey", new MaxKey()],
    ];
    for (const [v, type, want] of cases) expect(bytes(m(v, type)), `${type} ${JSON.stringify(v)}`).toBe(bytes(want));
  });

  it("refuse a value its alias cannot take, naming it", () => {
    expect(() => m("65a1", "objectId")).toThrow('"65a1" is not an ObjectId (24 hex digits)');
    expect(() => m(2147483648, "int")).toThrow("2147483648 is not a 32-bit integer");
    expect(() => m("9223372036854775808", "long")).toThrow('"9223372036854775808" is not within the 64-bit integer range');
    expect(() => m(1.5, "long")).toThrow("1.5 is not an integer");
    expect(() => m("x", "double")).toThrow('"x" is not a double');
    expect(() => m("nope", "date")).toThrow('"nope" is not a date the driver can write');
    expect(() => m("99999999999999999", "date")).toThrow("is not a date the driver can write");
    expect(() => m({ t: 1 }, "timestamp")).toThrow("is not a timestamp");
    expect(() => m("***", "binData")).toThrow('"***" is not base64');
    expect(() => decodeRow({ _id: 1, x: "q" }, { x: "bool" }, "mongodb")).toThrow(new ValueError('field "x" (type bool): "q" is not a boolean'));
  });
});

describe("plain JSON (no type, unknown types, other sources)", () => {
  it("integers → Int32 or Long, other numbers → Double, objects and arrays recursively", () => {
    expect(bytes(plain(7))).toBe(bytes(new Int32(7)));
    expect(bytes(plain(2 ** 40))).toBe(bytes(Long.fromNumber(2 ** 40)));
    expect(bytes(plain(2 ** 70))).toBe(bytes(new Double(2 ** 70)));
    expect(bytes(plain(1.5))).toBe(bytes(new Double(1.5)));
    expect(bytes(plain({ a: [1, "x", null, true, { b: 2.5 }], $k: 1 }))).toBe(bytes({ a: [new Int32(1), "x", null, true, { b: new Double(2.5) }], $k: new Int32(1) }));
    expect(decodeValue("65a1b2c3d4e5f60718293a4b", undefined, "mongodb")).toBe("65a1b2c3d4e5f60718293a4b");
    expect(bytes(decodeValue(3, "mystery", "mongodb"))).toBe(bytes(new Int32(3)));
    expect(bytes(decodeValue(3, "int8", "generator"))).toBe(bytes(new Int32(3)));
    expect(decodeRow({ a: "1", b: 2 }, undefined, "cosmosdb")).toEqual({ a: "1", b: new Int32(2) });
  });
});

describe("PostgreSQL types", () => {
  it("map as the contract's table says", () => {
    const cases: Array<[Parameters<typeof decodeValue>[0], string, unknown]> = [
      [1, "int2", new Int32(1)],
      [2147483647, "int4", new Int32(2147483647)],
      [5, "int8", Long.fromNumber(5)],
      ["9223372036854775807", "int8", Long.fromString("9223372036854775807")],
      [4294967295, "oid", Long.fromNumber(4294967295)],
      ["12345678901234567890.123456789", "numeric", Decimal128.fromString("12345678901234567890.123456789")],
      ["123456789012345678901234567890.123456789", "numeric", "123456789012345678901234567890.123456789"], // 39 digits: kept as text
      ["NaN", "numeric", Decimal128.fromString("NaN")],
      [1, "float8", new Double(1)],
      ["-Infinity", "float4", new Double(-Infinity)],
      [false, "bool", false],
      ["2024-03-01T12:34:56.123Z", "timestamptz", new Date("2024-03-01T12:34:56.123Z")],
      ["2024-03-01T12:34:56.123000Z", "timestamptz", new Date("2024-03-01T12:34:56.123Z")],
      ["2024-03-01T12:34:56Z", "timestamptz", new Date("2024-03-01T12:34:56Z")],
      ["2024-03-01T12:34:56.123456Z", "timestamptz", "2024-03-01T12:34:56.123456Z"], // sub-ms digits: text
      ["infinity", "timestamptz", "infinity"],
      ["2024-03-01T12:34:56.5", "timestamp", "2024-03-01T12:34:56.5"],
      ["2024-02-29", "date", "2024-02-29"],
      ['{"a": [1, 2.5, "x"], "n": null}', "jsonb", { a: [new Int32(1), new Double(2.5), "x"], n: null }],
      ["[1]", "json", [new Int32(1)]],
      ["3q2+7w==", "bytea", new Binary(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0)],
      ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
      ["1 day", "interval", "1 day"],
      [[[1, null], [3, 4]], "_int8", [[Long.fromNumber(1), null], [Long.fromNumber(3), Long.fromNumber(4)]]],
      [["1.5", "2"], "_numeric", [Decimal128.fromString("1.5"), Decimal128.fromString("2")]],
      [["a", "b"], "_text", ["a", "b"]],
    ];
    for (const [v, type, want] of cases) expect(bytes(pg(v, type)), `${type} ${JSON.stringify(v)}`).toBe(bytes(want));
  });
});

describe("MySQL types", () => {
  it("map as the contract's table says", () => {
    const cases: Array<[Parameters<typeof decodeValue>[0], string, unknown]> = [
      [1, "tinyint(1)", new Int32(1)],
      [-8388608, "mediumint(9)", new Int32(-8388608)],
      [2147483647, "int(11)", new Int32(2147483647)],
      [4294967295, "int(10) unsigned", Long.fromNumber(4294967295)],
      ["9223372036854775807", "bigint(20)", Long.fromString("9223372036854775807")],
      ["18446744073709551615", "bigint(20) unsigned", Decimal128.fromString("18446744073709551615")],
      ["-12345678901234567890.0123456789", "decimal(30,10)", Decimal128.fromString("-12345678901234567890.0123456789")],
      [0.1, "float", new Double(0.1)],
      [1e300, "double", new Double(1e300)],
      ["2024-03-01T01:02:03.456Z", "timestamp(3)", new Date("2024-03-01T01:02:03.456Z")],
      ["2024-02-29T23:59:59.123456", "datetime(6)", "2024-02-29T23:59:59.123456"],
      ['{"n": 1}', "json", { n: new Int32(1) }],
      ["AP8K", "varbinary(16)", new Binary(Buffer.from([0, 255, 10]), 0)],
      ["101", "bit(3)", "101"],
      ["a,c", "set('a','b','c')", "a,c"],
    ];
    for (const [v, type, want] of cases) expect(bytes(my(v, type)), `${type} ${JSON.stringify(v)}`).toBe(bytes(want));
  });
});
