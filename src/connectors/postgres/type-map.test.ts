import { describe, it, expect } from "vitest";
import { decodeText, inferSqlType, sqlTypeFor, toPgParam, type ColumnType } from "./type-map.js";

const t = (name: string, oid = 0): ColumnType => ({ oid, name });
const dec = (text: string | null | undefined, name: string) => decodeText(text, t(name));

describe("decodeText: absent and NULL", () => {
  it("keeps unchanged TOAST (undefined) as undefined and NULL as null", () => {
    expect(dec(undefined, "text")).toBeUndefined();
    expect(dec(null, "text")).toBeNull();
    expect(dec(null, "_int4")).toBeNull();
  });
});

describe("decodeText: scalars", () => {
  it("bool", () => {
    expect(dec("t", "bool")).toBe(true);
    expect(dec("f", "bool")).toBe(false);
    expect(() => dec("x", "bool")).toThrow(TypeError);
  });

  it("int2, int4, oid", () => {
    expect(dec("-32768", "int2")).toBe(-32768);
    expect(dec("2147483647", "int4")).toBe(2147483647);
    expect(dec("4294967295", "oid")).toBe(4294967295);
    expect(() => dec("1.5", "int4")).toThrow(TypeError);
  });

  it("int8 is a number in the safe range, else the exact decimal string", () => {
    expect(dec("0", "int8")).toBe(0);
    expect(dec("9007199254740991", "int8")).toBe(9007199254740991);
    expect(dec("-9007199254740991", "int8")).toBe(-9007199254740991);
    expect(dec("9007199254740992", "int8")).toBe("9007199254740992");
    expect(dec("9007199254740993", "int8")).toBe("9007199254740993");
    expect(dec("9223372036854775807", "int8")).toBe("9223372036854775807");
    expect(dec("-9223372036854775808", "int8")).toBe("-9223372036854775808");
  });

  it("float4 and float8, with NaN and infinities as strings", () => {
    expect(dec("1.1", "float4")).toBe(1.1);
    expect(dec("0.30000000000000004", "float8")).toBe(0.1 + 0.2);
    expect(dec("1.7976931348623157e+308", "float8")).toBe(Number.MAX_VALUE);
    expect(dec("5e-324", "float8")).toBe(Number.MIN_VALUE);
    expect(dec("-1.5e-05", "float8")).toBe(-1.5e-5);
    expect(dec("NaN", "float8")).toBe("NaN");
    expect(dec("Infinity", "float4")).toBe("Infinity");
    expect(dec("-Infinity", "float8")).toBe("-Infinity");
    expect(() => dec("", "float8")).toThrow(TypeError);
  });

  it("numeric is the exact text", () => {
    expect(dec("12345678901234567890.123456789", "numeric")).toBe("12345678901234567890.123456789");
    expect(dec("NaN", "numeric")).toBe("NaN");
    expect(dec("-0.000000001", "numeric")).toBe("-0.000000001");
    expect(dec("Infinity", "numeric")).toBe("Infinity");
  });

  it("timestamptz -> ISO-8601 UTC with the source's fractional digits", () => {
    expect(dec("2024-03-01 12:34:56.123456+00", "timestamptz")).toBe("2024-03-01T12:34:56.123456Z");
    expect(dec("2024-03-01 12:34:56+00", "timestamptz")).toBe("2024-03-01T12:34:56Z");
    expect(dec("2024-03-01 12:34:56.1+05:30", "timestamptz")).toBe("2024-03-01T07:04:56.1Z");
    expect(dec("infinity", "timestamptz")).toBe("infinity");
    expect(dec("-infinity", "timestamptz")).toBe("-infinity");
    expect(dec("0044-03-15 12:00:00+00 BC", "timestamptz")).toBe("0044-03-15 12:00:00+00 BC");
  });

  it("timestamp -> ISO-8601 without zone; date, time, timetz, interval as text", () => {
    expect(dec("2024-03-01 12:34:56.123456", "timestamp")).toBe("2024-03-01T12:34:56.123456");
    expect(dec("0044-03-15 12:00:00 BC", "timestamp")).toBe("0044-03-15 12:00:00 BC");
    expect(dec("2024-03-01", "date")).toBe("2024-03-01");
    expect(dec("0044-03-15 BC", "date")).toBe("0044-03-15 BC");
    expect(dec("24:00:00", "time")).toBe("24:00:00");
    expect(dec("12:34:56.789+05:30", "timetz")).toBe("12:34:56.789+05:30");
    expect(dec("1 year 2 mons -3 days +04:05:06.789", "interval")).toBe("1 year 2 mons -3 days +04:05:06.789");
  });

  it("json and jsonb are the unchanged JSON text", () => {
    const big = '{"n": 12345678901234567890.5, "a": [1, "x"]}';
    expect(dec(big, "jsonb")).toBe(big);
    expect(dec(' [1, 2] ', "json")).toBe(" [1, 2] ");
    expect(dec("null", "jsonb")).toBe("null");
  });

  it("bytea hex -> base64, empty and binary", () => {
    expect(dec("\\x", "bytea")).toBe("");
    expect(dec("\\x00ff0a5c22", "bytea")).toBe(Buffer.from([0, 255, 10, 0x5c, 0x22]).toString("base64"));
    expect(dec("\\xDEADBEEF", "bytea")).toBe("3q2+7w==");
    expect(() => dec("\\x0", "bytea")).toThrow(TypeError);
  });

  it("bytea escape format is understood too", () => {
    expect(dec("a\\\\b\\000\\377", "bytea")).toBe(Buffer.from([0x61, 0x5c, 0x62, 0, 255]).toString("base64"));
  });

  it("text-like and other types are the text", () => {
    for (const [name, text] of [
      ["text", "héllo 🎉 \"q\" \\ \n\t"],
      ["text", ""],
      ["text", "NULL"],
      ["varchar", "abc"],
      ["bpchar", "ab   "],
      ["name", "pg_class"],
      ["citext", "MiXeD"],
      ["uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
      ["inet", "192.168.0.1/24"],
      ["cidr", "10.0.0.0/8"],
      ["macaddr", "08:00:2b:01:02:03"],
      ["mood", "happy"],
      ["xml", "<a>1</a>"],
      ["money", "$1,234.56"],
      ["tsvector", "'a' 'fat':2"],
      ["int4range", "[1,5)"],
    ] as const) {
      expect(dec(text, name), name).toBe(text);
    }
  });

  it("falls back to built-in oids when the name is unknown", () => {
    expect(decodeText("9223372036854775807", { oid: 20, name: "" })).toBe("9223372036854775807");
    expect(decodeText("{1,2}", { oid: 1007, name: "" })).toEqual([1, 2]);
  });
});

describe("decodeText: arrays", () => {
  it("converts each element by the element type, NULL -> null", () => {
    expect(dec("{1,NULL,3}", "_int4")).toEqual([1, null, 3]);
    expect(dec("{t,f,NULL}", "_bool")).toEqual([true, false, null]);
    expect(dec("{1,9223372036854775807}", "_int8")).toEqual([1, "9223372036854775807"]);
    expect(dec("{1.5,NaN,-Infinity}", "_float8")).toEqual([1.5, "NaN", "-Infinity"]);
    expect(dec("{12345678901234567890.123456789,NaN}", "_numeric")).toEqual(["12345678901234567890.123456789", "NaN"]);
    expect(dec("{}", "_text")).toEqual([]);
  });

  it("keeps quotes, backslashes, commas, braces and the string NULL in text arrays", () => {
    expect(dec('{"a,b","c\\"d","e\\\\f",NULL,"NULL","","{}",🎉}', "_text")).toEqual([
      "a,b", 'c"d', "e\\f", null, "NULL", "", "{}", "🎉",
    ]);
  });

  it("nests multi-dimensional arrays and drops explicit bounds", () => {
    expect(dec("{{1,2},{3,NULL}}", "_int4")).toEqual([[1, 2], [3, null]]);
    expect(dec("[0:1]={1,2}", "_int4")).toEqual([1, 2]);
  });

  it("converts bytea, jsonb and timestamptz elements", () => {
    expect(dec('{"\\\\x00ff",NULL,"\\\\x"}', "_bytea")).toEqual(["AP8=", null, ""]);
    expect(dec('{"{\\"a\\": 1}",NULL,"[1, 2]"}', "_jsonb")).toEqual(['{"a": 1}', null, "[1, 2]"]);
    expect(dec('{"2024-03-01 12:34:56.5+00",infinity}', "_timestamptz")).toEqual(["2024-03-01T12:34:56.5Z", "infinity"]);
  });

  it("uses elemName when given, and typcategory to tell arrays from other types", () => {
    expect(decodeText("{1}", { oid: 1, name: "_weird", elemName: "int4" })).toEqual([1]);
    expect(decodeText("{1}", { oid: 1, name: "_weird", elemOid: 23 })).toEqual([1]);
    expect(decodeText("{x}", { oid: 1, name: "_notarray", category: "U" })).toBe("{x}");
    expect(decodeText("1 2", { oid: 22, name: "int2vector", category: "A" })).toBe("1 2");
  });

  it("splits box arrays on ';'", () => {
    expect(dec("{(1,2),(0,0);(3,3),(1,1)}", "_box")).toEqual(["(1,2),(0,0)", "(3,3),(1,1)"]);
  });
});

describe("toPgParam", () => {
  it("passes null, numbers, strings and booleans as is", () => {
    expect(toPgParam(null, "int8")).toBeNull();
    expect(toPgParam(42, "int8")).toBe(42);
    expect(toPgParam("9223372036854775807", "int8")).toBe("9223372036854775807");
    expect(toPgParam("NaN", "float8")).toBe("NaN");
    expect(toPgParam(true, "bool")).toBe(true);
    expect(toPgParam("2024-03-01T12:34:56.123456Z", "timestamptz")).toBe("2024-03-01T12:34:56.123456Z");
  });

  it("bytea: base64 -> Buffer; rejects non-base64", () => {
    expect(toPgParam("", "bytea")).toEqual(Buffer.alloc(0));
    expect(toPgParam("3q2+7w==", "bytea")).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(() => toPgParam("not base64!", "bytea")).toThrow(TypeError);
    expect(() => toPgParam(5, "bytea")).toThrow(TypeError);
  });

  it("json/jsonb: strings are JSON text, other values are stringified", () => {
    expect(toPgParam('{"n": 1}', "jsonb")).toBe('{"n": 1}');
    expect(toPgParam({ a: [1, "x"] }, "jsonb")).toBe('{"a":[1,"x"]}');
    expect(toPgParam(5, "json")).toBe("5");
    expect(toPgParam(false, "jsonb")).toBe("false");
  });

  it("objects and arrays for other columns are stringified", () => {
    expect(toPgParam({ a: 1 }, "text")).toBe('{"a":1}');
    expect(toPgParam([1, 2], "text")).toBe("[1,2]");
  });

  it("arrays: a literal with every element quoted, NULL unquoted, nested", () => {
    expect(toPgParam([1, null, 3], "_int4")).toBe('{"1",NULL,"3"}');
    expect(toPgParam(["a,b", 'c"d', "e\\f", "NULL", null], "_text")).toBe('{"a,b","c\\"d","e\\\\f","NULL",NULL}');
    expect(toPgParam([[1, 2], [3, null]], "_int4")).toBe('{{"1","2"},{"3",NULL}}');
    expect(toPgParam([true, false], "_bool")).toBe('{"true","false"}');
    expect(toPgParam([], "_text")).toBe("{}");
    expect(toPgParam("{1,2}", "_int4")).toBe("{1,2}");
    expect(() => toPgParam(5, "_int4")).toThrow(TypeError);
  });

  it("arrays of bytea use \\x<hex> elements, jsonb elements stay JSON text", () => {
    expect(toPgParam(["AP8=", null, ""], "_bytea")).toBe('{"\\\\x00ff",NULL,"\\\\x"}');
    expect(toPgParam(['{"a": 1}', { b: 2 }], "_jsonb")).toBe('{"{\\"a\\": 1}","{\\"b\\":2}"}');
  });

  it("inverts decodeText for arrays", () => {
    const text = '{{"a,b","c\\"d"},{NULL,"NULL"}}';
    const decoded = dec(text, "_text");
    expect(decodeText(toPgParam(decoded ?? null, "_text") as string, t("_text"))).toEqual(decoded);
  });
});

describe("sqlTypeFor", () => {
  it("maps source typnames to CREATE TABLE types", () => {
    expect(sqlTypeFor("int8")).toBe("bigint");
    expect(sqlTypeFor("int4")).toBe("integer");
    expect(sqlTypeFor("float8")).toBe("double precision");
    expect(sqlTypeFor("numeric")).toBe("numeric");
    expect(sqlTypeFor("bpchar")).toBe("text");
    expect(sqlTypeFor("varchar")).toBe("text");
    expect(sqlTypeFor("timestamptz")).toBe("timestamptz");
    expect(sqlTypeFor("jsonb")).toBe("jsonb");
    expect(sqlTypeFor("bit")).toBe("varbit");
    expect(sqlTypeFor("_text")).toBe("text[]");
    expect(sqlTypeFor("_float8")).toBe("double precision[]");
    expect(sqlTypeFor("mood")).toBe("text");
    expect(sqlTypeFor("_mood")).toBe("text[]");
    expect(sqlTypeFor("citext")).toBe("text");
  });
});

describe("inferSqlType", () => {
  it("infers a column type from a value", () => {
    expect(inferSqlType(42)).toBe("bigint");
    expect(inferSqlType(1.5)).toBe("double precision");
    expect(inferSqlType(1e300)).toBe("double precision");
    expect(inferSqlType(true)).toBe("boolean");
    expect(inferSqlType("x")).toBe("text");
    expect(inferSqlType([1])).toBe("jsonb");
    expect(inferSqlType({ a: 1 })).toBe("jsonb");
    expect(inferSqlType(null)).toBe("text");
  });
});
