/**
 * Round trip through the machine's real PostgreSQL (127.0.0.1:5432, user postgres): values
 * read in text format with the reader's session settings, decoded with decodeText, passed
 * through JSON (as an event would be) and written back with toPgParam must be identical.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonValue } from "../../events/index.js";
import { decodeText, sqlTypeFor, toPgParam, type ColumnType } from "./type-map.js";

const DB = `tm_${randomBytes(6).toString("hex")}`;
const connect = async (database: string): Promise<pg.Client> => {
  const c = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database });
  await c.connect();
  return c;
};
/** Every column as the server's output-function text, exactly what pgoutput sends. */
const RAW_TEXT = { getTypeParser: () => (v: string) => v };
const READER_SESSION =
  "SET DateStyle='ISO, MDY'; SET TimeZone='UTC'; SET extra_float_digits=3; SET IntervalStyle='postgres'; SET bytea_output='hex'";

const COLUMNS: Record<string, string> = {
  c_bool: "bool", c_int2: "int2", c_int4: "int4", c_int8: "int8", c_oid: "oid",
  c_float4: "float4", c_float8: "float8", c_numeric: "numeric", c_numeric_p: "numeric(30,9)",
  c_money: "money", c_tstz: "timestamptz", c_ts: "timestamp", c_date: "date", c_time: "time",
  c_timetz: "timetz", c_interval: "interval", c_json: "json", c_jsonb: "jsonb", c_bytea: "bytea",
  c_uuid: "uuid", c_text: "text", c_varchar: "varchar(20)", c_bpchar: "char(5)", c_name: "name",
  c_citext: "citext", c_inet: "inet", c_cidr: "cidr", c_macaddr: "macaddr", c_mood: "mood",
  c_xml: "xml", c_tsvector: "tsvector", c_bit: "bit(4)", c_varbit: "varbit",
  c_int4range: "int4range", c_domain: "big_domain", c_point: "point",
  a_int4: "int4[]", a_int4_2d: "int4[][]", a_int4_3d: "int4[]", a_int8: "int8[]", a_text: "text[]",
  a_numeric: "numeric[]", a_bytea: "bytea[]", a_jsonb: "jsonb[]", a_json: "json[]",
  a_tstz: "timestamptz[]", a_ts: "timestamp[]", a_date: "date[]", a_bool: "bool[]",
  a_float8: "float8[]", a_float4: "float4[]", a_uuid: "uuid[]", a_mood: "mood[]",
  a_varchar: "varchar[]", a_box: "box[]", a_interval: "interval[]",
};
/** Types without an `=` operator: compared by their text only. */
const NO_EQUALITY = new Set(["c_json", "c_xml", "c_point", "a_json", "a_box"]);

/** Rows as SQL expressions per column; a missing column is NULL. */
const ROWS: Array<Record<string, string>> = [
  {
    c_bool: "true", c_int2: "-32768", c_int4: "2147483647", c_int8: "9223372036854775807",
    c_oid: "4294967295", c_float4: "'1.1'", c_float8: "0.1::float8 + 0.2::float8",
    c_numeric: "'12345678901234567890.123456789'", c_numeric_p: "'-0.000000001'",
    c_money: "'1234.56'", c_tstz: "'2024-03-01 12:34:56.123456+05:30'",
    c_ts: "'2024-03-01 12:34:56.123456'", c_date: "'2024-02-29'", c_time: "'23:59:59.999999'",
    c_timetz: "'12:34:56.789+05:30'", c_interval: "'1 year 2 mons -3 days 04:05:06.789'",
    c_json: `'{"n":  12345678901234567890.5, "dup": 1, "dup": 2}'`,
    c_jsonb: `'{"big": 123456789012345678901234567890.25, "s": "é🎉\\"", "z": [null, true]}'`,
    c_bytea: "'\\x00ff0a5c225c78'", c_uuid: "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    c_text: `E'h\\u00e9llo 🎉 "q" \\\\ \\n\\t,{}\\r'`, c_varchar: "'NULL'", c_bpchar: "'ab'",
    c_name: "'pg_class'", c_citext: "'MiXeD'", c_inet: "'192.168.0.1/24'", c_cidr: "'10.0.0.0/8'",
    c_macaddr: "'08:00:2b:01:02:03'", c_mood: "'happy'", c_xml: `'<a x="1">t &amp; u</a>'`,
    c_tsvector: "'a fat:2 cat'", c_bit: "B'1010'", c_varbit: "B'101'", c_int4range: "'[1,5)'",
    c_domain: "9007199254740993", c_point: "'(1.5,-2)'",
    a_int4: "'{1,NULL,3}'", a_int4_2d: "'{{1,2},{3,NULL}}'", a_int4_3d: "'{{{1},{2}},{{3},{4}}}'",
    a_int8: "'{9223372036854775807,-9223372036854775808,9007199254740993,1}'",
    a_text: `ARRAY['a,b', 'c"d', 'e\\f', NULL, 'NULL', '', '{}', ' sp ', '🎉', 'x\\"}y']`,
    a_numeric: "'{NaN,12345678901234567890.123456789,-0.5,Infinity}'",
    a_bytea: "ARRAY['\\x00ff'::bytea, NULL, '\\x'::bytea, '\\x5c22'::bytea]",
    a_jsonb: `ARRAY['{"a": 1}'::jsonb, NULL, '"x,y"'::jsonb, '[1, {"b": "\\\\"}]'::jsonb, 'null'::jsonb]`,
    a_json: `ARRAY['{"a":  1}'::json, '"NULL"'::json]`,
    a_tstz: "ARRAY['2024-03-01 12:34:56.5+00'::timestamptz, 'infinity', '0044-03-15 12:00:00+00 BC', NULL]",
    a_ts: "ARRAY['2024-03-01 12:34:56'::timestamp, '-infinity', '0044-03-15 12:00:00 BC']",
    a_date: "ARRAY['2024-03-01'::date, '-infinity', '0044-03-15 BC']", a_bool: "'{t,f,NULL}'",
    a_float8: "'{NaN,Infinity,-Infinity,1e-300,0.30000000000000004,5e-324,1.7976931348623157e308}'",
    a_float4: "'{1.1,3.4028235e38,1e-45,NaN}'", a_uuid: "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'",
    a_mood: "'{happy,sad,NULL}'", a_varchar: `'{"x y",NULL,"NULL"}'`,
    a_box: "'{(1,2),(0,0);(3,3),(1,1)}'", a_interval: `'{"1 day","-00:00:01.5"}'`,
  },
  {}, // every column NULL
  {
    c_bool: "false", c_int2: "0", c_int4: "-2147483648", c_int8: "-9223372036854775808", c_oid: "0",
    c_float4: "'NaN'", c_float8: "'-Infinity'", c_numeric: "'NaN'", c_numeric_p: "0",
    c_money: "'-0.01'", c_tstz: "'infinity'", c_ts: "'-infinity'", c_date: "'infinity'",
    c_time: "'24:00:00'", c_timetz: "'00:00:00-12'", c_interval: "'0'", c_json: "'[]'",
    c_jsonb: "'null'", c_bytea: "'\\x'", c_text: "''", c_varchar: "''", c_bpchar: "''",
    c_mood: "'sad'", c_tsvector: "''", c_int4range: "'empty'", c_domain: "-1",
    a_int4: "'{}'", a_text: `'{"NULL"}'`, a_bytea: "'{}'", a_jsonb: "'{}'", a_numeric: "'{}'",
    a_float8: "'{}'", a_int8: "'{}'",
  },
  {
    c_tstz: "'0044-03-15 12:00:00+00 BC'", c_ts: "'294276-12-31 23:59:59.999999'",
    c_date: "'5874897-12-31'", c_float8: "'1.7976931348623157e308'", c_float4: "'3.4028235e38'",
    c_int8: "9007199254740993", c_numeric: "'Infinity'", c_text: "repeat('🎉x', 50000)",
    c_interval: "'-178000000 years'", c_jsonb: `'{"deep": {"a": [1.0, 1e400, -0]}}'`,
  },
  { c_tstz: "'294276-12-31 23:59:59.999999+00'", c_ts: "'1900-01-01 00:00:00'", c_float8: "'Infinity'", c_int8: "9007199254740991" },
  { c_tstz: "'1900-01-01 00:00:00+00'", c_float4: "'-Infinity'", c_int8: "-9007199254740992", c_numeric: "'-Infinity'" },
];

const names = Object.keys(COLUMNS);
let admin: pg.Client;
let db: pg.Client;
let types: Record<string, ColumnType>;

beforeAll(async () => {
  admin = await connect("postgres");
  await admin.query(`CREATE DATABASE ${DB}`);
  db = await connect(DB);
  await db.query("CREATE EXTENSION citext");
  await db.query("CREATE TYPE mood AS ENUM ('happy', 'sad')");
  await db.query("CREATE DOMAIN big_domain AS int8");
  const cols = names.map((n) => `${n} ${COLUMNS[n]}`).join(", ");
  await db.query(`CREATE TABLE src (id int PRIMARY KEY, ${cols})`);
  await db.query(`CREATE TABLE dst (id int PRIMARY KEY, ${cols})`);
  for (const [i, row] of ROWS.entries()) {
    const exprs = names.map((n) => row[n] ?? "NULL");
    await db.query(`INSERT INTO src (id, ${names.join(", ")}) VALUES (${i}, ${exprs.join(", ")})`);
  }
  // What the reader learns from pgoutput's relation message plus pg_type (domains resolved).
  const meta = await db.query<{ attname: string; oid: number; typname: string; typcategory: string; elemoid: number; elemname: string | null }>(`
    SELECT a.attname, coalesce(bt.oid, t.oid)::int AS oid, coalesce(bt.typname, t.typname) AS typname,
           coalesce(bt.typcategory, t.typcategory) AS typcategory, t.typelem::int AS elemoid, e.typname AS elemname
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_type bt ON bt.oid = nullif(t.typbasetype, 0)
      LEFT JOIN pg_type e ON e.oid = nullif(t.typelem, 0)
     WHERE a.attrelid = 'src'::regclass AND a.attnum > 0 AND NOT a.attisdropped`);
  types = Object.fromEntries(
    meta.rows.map((r) => {
      const t: ColumnType = { oid: r.oid, name: r.typname, category: r.typcategory };
      if (r.typcategory === "A" && r.elemname !== null) Object.assign(t, { elemOid: r.elemoid, elemName: r.elemname });
      return [r.attname, t];
    }),
  );
});

afterAll(async () => {
  await db?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin?.end();
});

/** Reads every row of src as text under the given time zone and decodes it. */
async function readDecoded(timeZone = "UTC"): Promise<Map<number, Record<string, JsonValue | undefined>>> {
  await db.query(READER_SESSION);
  await db.query(`SET TimeZone='${timeZone}'`);
  const res = await db.query<Record<string, string | null>>({
    text: `SELECT id, ${names.join(", ")} FROM src ORDER BY id`,
    types: RAW_TEXT,
  });
  await db.query("RESET TimeZone");
  const out = new Map<number, Record<string, JsonValue | undefined>>();
  for (const row of res.rows) {
    const decoded: Record<string, JsonValue | undefined> = {};
    for (const n of names) decoded[n] = decodeText(row[n], types[n] ?? { oid: 0, name: "text" });
    out.set(Number(row.id), decoded);
  }
  return out;
}

describe("type map round trip against PostgreSQL", () => {
  it("decodes every value to JSON and writes it back identically", async () => {
    const decoded = await readDecoded();
    expect(decoded.size).toBe(ROWS.length);
    for (const [id, row] of decoded) {
      const event = JSON.parse(JSON.stringify(row)) as Record<string, JsonValue>; // as carried in an event
      expect(Object.keys(event).sort()).toEqual([...names].sort());
      const params = names.map((n) => toPgParam(event[n] ?? null, types[n]?.name ?? "text"));
      const placeholders = names.map((_, i) => `$${i + 2}`).join(", ");
      await db.query(`INSERT INTO dst (id, ${names.join(", ")}) VALUES ($1, ${placeholders})`, [id, ...params]);
    }
    const checks = names
      .map((n) =>
        NO_EQUALITY.has(n)
          ? `(s.${n}::text IS NOT DISTINCT FROM d.${n}::text) AS ${n}`
          : `(s.${n} IS NOT DISTINCT FROM d.${n} AND s.${n}::text IS NOT DISTINCT FROM d.${n}::text) AS ${n}`,
      )
      .join(", ");
    const res = await db.query<Record<string, boolean | number>>(
      `SELECT s.id, ${checks} FROM src s LEFT JOIN dst d USING (id) ORDER BY s.id`,
    );
    expect(res.rows).toHaveLength(ROWS.length);
    const mismatches = res.rows.flatMap((r) => names.filter((n) => r[n] !== true).map((n) => `row ${r.id}: ${n}`));
    expect(mismatches).toEqual([]);
  });

  it("decodes to the documented representation", async () => {
    const row = (await readDecoded()).get(0) ?? {};
    expect(row.c_int8).toBe("9223372036854775807");
    expect(row.c_domain).toBe("9007199254740993");
    expect(row.c_float8).toBe(0.1 + 0.2);
    expect(row.c_tstz).toBe("2024-03-01T07:04:56.123456Z");
    expect(row.c_ts).toBe("2024-03-01T12:34:56.123456");
    expect(row.c_bpchar).toBe("ab   ");
    expect(row.c_bytea).toBe(Buffer.from("00ff0a5c225c78", "hex").toString("base64"));
    expect(row.c_json).toBe('{"n":  12345678901234567890.5, "dup": 1, "dup": 2}');
    expect(row.a_text).toEqual(["a,b", 'c"d', "e\\f", null, "NULL", "", "{}", " sp ", "🎉", 'x\\"}y']);
    expect(row.a_int4_2d).toEqual([[1, 2], [3, null]]);
    expect(row.a_bytea).toEqual(["AP8=", null, "", "XCI="]);
    expect(row.a_tstz).toEqual(["2024-03-01T12:34:56.5Z", "infinity", "0044-03-15 12:00:00+00 BC", null]);
    expect(row.a_float8).toEqual(["NaN", "Infinity", "-Infinity", 1e-300, 0.1 + 0.2, 5e-324, Number.MAX_VALUE]);
  });

  it("gives the same timestamptz under other session time zones (offsets with minutes and seconds)", async () => {
    const utc = await readDecoded();
    for (const zone of ["Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam"]) {
      const other = await readDecoded(zone);
      for (const [id, row] of utc) {
        for (const n of ["c_tstz", "a_tstz"]) {
          if (JSON.stringify(row[n]).includes(" BC")) continue; // BC stays PostgreSQL text
          expect(other.get(id)?.[n], `${zone} row ${id} ${n}`).toEqual(row[n]);
        }
      }
    }
  });

  it("drops explicit array bounds (the only loss: the lower bound)", async () => {
    await db.query(READER_SESSION);
    const res = await db.query<{ v: string }>({ text: "SELECT '[0:1]={1,2}'::int4[] AS v", types: RAW_TEXT });
    expect(res.rows[0]?.v).toBe("[0:1]={1,2}");
    expect(decodeText(res.rows[0]?.v, { oid: 1007, name: "_int4" })).toEqual([1, 2]);
  });

  it("sqlTypeFor gives types PostgreSQL accepts in CREATE TABLE", async () => {
    const cols = names.map((n) => `${n} ${sqlTypeFor(types[n]?.name ?? "text")}`).join(", ");
    await db.query(`CREATE TABLE created (${cols})`);
    const res = await db.query<{ n: string }>("SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'created'::regclass AND attnum > 0");
    expect(Number(res.rows[0]?.n)).toBe(names.length);
  });
});
