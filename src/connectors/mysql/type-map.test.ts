/**
 * The MySQL type mapping without a server: the value shapes mysql2 and zongji hand over
 * (strings under VALUE_OPTIONS, Buffers, numbers) become the JSON docs/types.md promises,
 * and JSON values become parameters a MySQL column takes exactly.
 */
import { describe, expect, it } from "vitest";
import { bitStringToBuffer, bitsToString, decodeValue, float32Shortest, inferMysqlType, isoToMysqlDatetime, keyColumnType, mysqlTypeFor, parseColumnType, snapshotExpr, toMysqlParam } from "./type-map.js";

describe("parseColumnType", () => {
  it("splits base, arguments and signedness", () => {
    expect(parseColumnType("bigint(20) unsigned")).toEqual({ base: "bigint", args: "20", unsigned: true });
    expect(parseColumnType("DECIMAL(30,10)")).toEqual({ base: "decimal", args: "30,10", unsigned: false });
    expect(parseColumnType("enum('a','b,c')")).toMatchObject({ base: "enum", args: "'a','b,c'" });
    expect(parseColumnType("double precision")).toMatchObject({ base: "double precision" });
    expect(parseColumnType("int(11) unsigned zerofill")).toMatchObject({ base: "int", unsigned: true });
  });
});

describe("decodeValue", () => {
  it("integers: numbers within ±(2^53-1), exact strings beyond (BIGINT UNSIGNED)", () => {
    expect(decodeValue(42, "int(11)")).toBe(42);
    expect(decodeValue("42", "bigint(20)")).toBe(42);
    expect(decodeValue("18446744073709551615", "bigint(20) unsigned")).toBe("18446744073709551615");
    expect(decodeValue("-9223372036854775808", "bigint")).toBe("-9223372036854775808");
    expect(decodeValue(9007199254740993n, "bigint unsigned")).toBe("9007199254740993");
    expect(decodeValue(2024, "year(4)")).toBe(2024);
  });

  it("DECIMAL keeps its exact text", () => {
    expect(decodeValue("-12345678901234567890.0123456789", "decimal(30,10)")).toBe("-12345678901234567890.0123456789");
    expect(decodeValue("1.5000000000", "decimal(30,10)")).toBe("1.5000000000");
  });

  it("FLOAT becomes the shortest decimal of its single-precision value, from the binlog or the snapshot text", () => {
    expect(decodeValue(0.10000000149011612, "float")).toBe(0.1); // binlog: the float widened to a double
    expect(decodeValue("0.10000000149011612", "float")).toBe(0.1); // snapshot: CAST(f + 0e0 AS CHAR)
    expect(decodeValue("123456.7890625", "float")).toBe(123456.79);
    expect(float32Shortest(3.4028234663852886e38)).toBe(3.4028235e38);
    expect(float32Shortest(0)).toBe(0);
  });

  it("DOUBLE is a number, exact from the server's text", () => {
    expect(decodeValue("93549.54236187041", "double")).toBe(93549.54236187041);
    expect(decodeValue(0.30000000000000004, "double")).toBe(0.30000000000000004);
    expect(decodeValue("1e300", "double")).toBe(1e300);
  });

  it("DATETIME is ISO-8601 without zone, TIMESTAMP ISO-8601 UTC; fractional digits as the column has them", () => {
    expect(decodeValue("2024-02-29 23:59:59.123456", "datetime(6)")).toBe("2024-02-29T23:59:59.123456");
    expect(decodeValue("2024-02-29 23:59:59", "datetime")).toBe("2024-02-29T23:59:59");
    expect(decodeValue("2024-03-01 01:02:03.456", "timestamp(3)")).toBe("2024-03-01T01:02:03.456Z");
    expect(decodeValue("0000-00-00 00:00:00", "datetime")).toBe("0000-00-00 00:00:00");
    expect(decodeValue("0000-00-00 00:00:00", "timestamp")).toBe("0000-00-00 00:00:00");
  });

  it("DATE, TIME, ENUM, SET, JSON and text keep the server's text", () => {
    expect(decodeValue("2024-02-29", "date")).toBe("2024-02-29");
    expect(decodeValue("-838:59:59", "time")).toBe("-838:59:59");
    expect(decodeValue("12:34:56.000001", "time(6)")).toBe("12:34:56.000001");
    expect(decodeValue("b", "enum('a','b')")).toBe("b");
    expect(decodeValue("x,z", "set('x','y','z')")).toBe("x,z");
    expect(decodeValue("", "set('x','y','z')")).toBe("");
    expect(decodeValue('{"a": 12345678901234567890.5}', "json")).toBe('{"a": 12345678901234567890.5}');
    expect(decodeValue("héllo 🎉", "varchar(50)")).toBe("héllo 🎉");
  });

  it("a parsed JSON document (MySQL's binary JSON without jsonStrings) goes back to JSON text", () => {
    expect(decodeValue({ a: [1, 2] }, "json")).toBe('{"a":[1,2]}');
  });

  it("BIT(n) is a string of n bits, binary strings and BLOBs base64", () => {
    expect(decodeValue(Buffer.from([0x02, 0xaa]), "bit(10)")).toBe("1010101010");
    expect(decodeValue(Buffer.from([0x01]), "bit(1)")).toBe("1");
    expect(decodeValue(Buffer.from([0x00, 0x05]), "bit(12)")).toBe("000000000101");
    expect(decodeValue(Buffer.from([0x00, 0xff, 0x0a]), "blob")).toBe("AP8K");
    expect(decodeValue(Buffer.from([1, 2, 0, 0]), "binary(4)")).toBe("AQIAAA==");
  });

  it("NULL is null", () => {
    expect(decodeValue(null, "int")).toBeNull();
    expect(decodeValue(undefined, "text")).toBeNull();
  });

  it("a Date (if a driver hands one over) becomes the same text as the string form", () => {
    expect(decodeValue(new Date("2024-03-01T01:02:03.456Z"), "timestamp(3)")).toBe("2024-03-01T01:02:03.456Z");
    expect(decodeValue(new Date("2024-03-01T00:00:00Z"), "date")).toBe("2024-03-01");
  });
});

describe("snapshotExpr", () => {
  it("reads FLOAT and DOUBLE as exact text, others as they are", () => {
    expect(snapshotExpr("`f`", "float")).toBe("CAST(`f` + 0e0 AS CHAR)");
    expect(snapshotExpr("`d`", "double")).toBe("CAST(`d` AS CHAR)");
    expect(snapshotExpr("`i`", "int(11)")).toBe("`i`");
  });
});

describe("bits", () => {
  it("round-trips a bit string through bytes", () => {
    expect(bitStringToBuffer("1010101010")).toEqual(Buffer.from([0x02, 0xaa]));
    expect(bitStringToBuffer("1")).toEqual(Buffer.from([0x01]));
    expect(bitsToString(bitStringToBuffer("000000000101"), 12)).toBe("000000000101");
    expect(() => bitStringToBuffer("10x")).toThrow(/not a bit string/);
  });
});

describe("isoToMysqlDatetime", () => {
  it("turns ISO-8601 into UTC MySQL text, keeping every fractional digit", () => {
    expect(isoToMysqlDatetime("2024-03-01T12:34:56.123456")).toBe("2024-03-01 12:34:56.123456");
    expect(isoToMysqlDatetime("2024-03-01T12:34:56.123456Z")).toBe("2024-03-01 12:34:56.123456");
    expect(isoToMysqlDatetime("2024-03-01T01:34:56.5+02:00")).toBe("2024-02-29 23:34:56.5");
    expect(isoToMysqlDatetime("2024-03-01 12:00:00-0530")).toBe("2024-03-01 17:30:00");
    expect(isoToMysqlDatetime("0044-03-15T12:00:00+01:00")).toBe("0044-03-15 11:00:00");
  });

  it("passes text that is not ISO-8601 through for the server to judge", () => {
    expect(isoToMysqlDatetime("infinity")).toBe("infinity");
    expect(isoToMysqlDatetime("0000-00-00 00:00:00")).toBe("0000-00-00 00:00:00");
  });
});

describe("toMysqlParam", () => {
  const col = (dataType: string, columnType = dataType) => ({ dataType, columnType });
  it("decodes base64 for binary columns and refuses what is not base64", () => {
    expect(toMysqlParam("AP8K", col("blob"))).toEqual(Buffer.from([0x00, 0xff, 0x0a]));
    expect(toMysqlParam("AQIAAA==", col("binary", "binary(4)"))).toEqual(Buffer.from([1, 2, 0, 0]));
    expect(() => toMysqlParam("not base64!", col("varbinary"))).toThrow(TypeError);
  });
  it("writes BIT from a bit string, a number or a boolean", () => {
    expect(toMysqlParam("1010101010", col("bit", "bit(10)"))).toEqual(Buffer.from([0x02, 0xaa]));
    expect(toMysqlParam(5, col("bit"))).toBe(5);
    expect(toMysqlParam(true, col("bit", "bit(1)"))).toBe(1);
  });
  it("converts ISO timestamps for DATETIME/TIMESTAMP", () => {
    expect(toMysqlParam("2024-03-01T12:34:56.123456Z", col("timestamp", "timestamp(6)"))).toBe("2024-03-01 12:34:56.123456");
    expect(toMysqlParam("2024-03-01T12:34:56", col("datetime"))).toBe("2024-03-01 12:34:56");
  });
  it("passes JSON text as is and serialises other JSON values", () => {
    expect(toMysqlParam('{"n": 1.50}', col("json"))).toBe('{"n": 1.50}');
    expect(toMysqlParam({ a: 1 }, col("longtext", "json"))).toBe('{"a":1}');
    expect(toMysqlParam([1, "x"], col("json"))).toBe('[1,"x"]');
  });
  it("joins an array for SET, maps booleans to 1/0, stringifies objects elsewhere", () => {
    expect(toMysqlParam(["a", "c"], col("set", "set('a','b','c')"))).toBe("a,c");
    expect(toMysqlParam(true, col("tinyint", "tinyint(1)"))).toBe(1);
    expect(toMysqlParam({ a: 1 }, col("text"))).toBe('{"a":1}');
    expect(toMysqlParam("18446744073709551615", col("bigint", "bigint(20) unsigned"))).toBe("18446744073709551615");
    expect(toMysqlParam(null, col("int"))).toBeNull();
  });
});

describe("column types for autoCreate", () => {
  it("keeps a MySQL source's own type and maps PostgreSQL typnames", () => {
    expect(mysqlTypeFor("decimal(30,10)", "mysql")).toBe("decimal(30,10)");
    expect(mysqlTypeFor("int8", "postgres")).toBe("bigint");
    expect(mysqlTypeFor("jsonb", "postgres")).toBe("json");
    expect(mysqlTypeFor("_text", "postgres")).toBe("json");
    expect(mysqlTypeFor("timestamptz", "postgres")).toBe("datetime(6)");
    expect(mysqlTypeFor("tsvector", "postgres")).toBe("longtext");
  });
  it("infers a type from a value and bounds key columns", () => {
    expect(inferMysqlType(1)).toBe("bigint");
    expect(inferMysqlType(1.5)).toBe("double");
    expect(inferMysqlType(true)).toBe("tinyint(1)");
    expect(inferMysqlType({})).toBe("json");
    expect(inferMysqlType("x")).toBe("longtext");
    expect(keyColumnType("longtext")).toBe("varchar(255)");
    expect(keyColumnType("blob")).toBe("varbinary(255)");
    expect(keyColumnType("int(11)")).toBe("int(11)");
  });
});
