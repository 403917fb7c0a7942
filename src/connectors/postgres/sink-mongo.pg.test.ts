/**
 * MongoDB-origin events into the real PostgreSQL (127.0.0.1:5432) through the PostgreSQL
 * sink with autoCreate: the column types made from the BSON type aliases (sqlTypeFor with
 * connector "mongodb") and the exact values written (docs/types.md "MongoDB").
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Row } from "../../events/index.js";
import { sinkBatch, type SinkRecord } from "../../core/index.js";
import { PostgresSinkWriter } from "./sink-writer.js";
import { sqlTypeFor } from "./type-map.js";

const DB = `smg_${randomBytes(6).toString("hex")}`;
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
let admin: pg.Client;
let db: pg.Client;

const types = {
  _id: "objectId", s: "string", i: "int", l: "long", big: "long", d: "double", nan: "double", dec: "decimal", b: "bool", at: "date",
  ts: "timestamp", bin: "binData", uuid: "binData:4", n: "null", nested: "object", arr: "array", re: "regex",
};
const after: Row = {
  _id: "65a1b2c3d4e5f60718293a4b", s: "héllo 🎉", i: -7, l: 42, big: "9223372036854775807", d: 0.30000000000000004, nan: "NaN", dec: "1234567890123456789012345678901234E-10",
  b: true, at: "2024-03-01T12:34:56.789Z", ts: { t: 1700000000, i: 3 }, bin: "AP8K", uuid: "ASNFZ4mrze8BI0VniavN7w==", n: null,
  nested: { a: { $numberLong: "9007199254740993" }, list: [1, "x"] }, arr: [1, { k: true }], re: { $regularExpression: { pattern: "^a", options: "i" } },
};
let seq = 0;
const ev = (op: ChangeEvent["op"], key: Row, a: Row | null): SinkRecord => ({
  seq: ++seq,
  event: { op, key, after: a, before: null, ts_ms: 0, types, source: { connector: "mongodb", stream: "m", db: "shop", schema: "shop", table: "orders", pos: "x", txId: null, ts_ms: 0, snapshot: false } },
});

beforeAll(async () => {
  admin = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  db = new pg.Client({ connectionString: URL });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin?.end();
});

describe("PostgreSQL sink: MongoDB-origin events", () => {
  it("sqlTypeFor maps the BSON aliases by connector (a PostgreSQL `date` stays a date)", () => {
    expect(sqlTypeFor("date", "mongodb")).toBe("timestamptz");
    expect(sqlTypeFor("date")).toBe("date");
    expect(sqlTypeFor("timestamp", "mongodb")).toBe("jsonb");
    expect(sqlTypeFor("timestamp")).toBe("timestamp");
    expect(sqlTypeFor("binData:4", "mongodb")).toBe("bytea");
    expect(sqlTypeFor("minKey", "mongodb")).toBe("jsonb");
  });

  it("creates typed columns and writes every value exactly", async () => {
    const w = await PostgresSinkWriter.open({ url: URL, table: "{schema}.{table}", autoCreate: true, sinkId: "m.pg", cluster: "t" }, pino({ level: "silent" }));
    try {
      await w.apply(sinkBatch([ev("c", { _id: after._id! }, after), ev("c", { _id: "65a1b2c3d4e5f60718293a4c" }, { ...after, _id: "65a1b2c3d4e5f60718293a4c" })], (s) => w.target(s)), { seq, epoch: 1 });
      await w.apply(sinkBatch([ev("d", { _id: "65a1b2c3d4e5f60718293a4c" }, null)], (s) => w.target(s)), { seq, epoch: 1 });
    } finally {
      await w.close();
    }
    const cols = await db.query<{ column_name: string; t: string }>(
      `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a WHERE a.attrelid = 'shop.orders'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    );
    expect(Object.fromEntries(cols.rows.map((r) => [r.column_name, r.t]))).toEqual({
      _id: "text", s: "text", i: "integer", l: "bigint", big: "bigint", d: "double precision", nan: "double precision", dec: "numeric", b: "boolean", at: "timestamp with time zone",
      ts: "jsonb", bin: "bytea", uuid: "bytea", n: "text", nested: "jsonb", arr: "jsonb", re: "jsonb",
    });
    const pk = await db.query<{ col: string }>(`SELECT a.attname AS col FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'shop.orders'::regclass AND i.indisprimary`);
    expect(pk.rows.map((r) => r.col)).toEqual(["_id"]);
    await db.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
    const r = await db.query(
      `SELECT _id, s, i::text, l::text, big::text, d::text, nan::text, dec::text, b::text, at::text, ts::text, encode(bin, 'base64') AS bin, encode(uuid, 'base64') AS uuid, n, nested::text, arr::text, re::text FROM shop.orders`,
    );
    expect(r.rows).toEqual([
      {
        _id: "65a1b2c3d4e5f60718293a4b", s: "héllo 🎉", i: "-7", l: "42", big: "9223372036854775807", d: "0.30000000000000004", nan: "NaN", dec: "123456789012345678901234.5678901234", b: "true",
        at: "2024-03-01 12:34:56.789+00", ts: '{"i": 3, "t": 1700000000}', bin: "AP8K", uuid: "ASNFZ4mrze8BI0VniavN7w==", n: null,
        nested: '{"a": {"$numberLong": "9007199254740993"}, "list": [1, "x"]}', arr: '[1, {"k": true}]', re: '{"$regularExpression": {"options": "i", "pattern": "^a"}}',
      },
    ]);
  });

  it("a field the document no longer has is NULL (after is the whole document), also when an earlier image of the batch had it", async () => {
    const w = await PostgresSinkWriter.open({ url: URL, table: "{schema}.{table}", autoCreate: true, sinkId: "m.pg2", cluster: "t" }, pino({ level: "silent" }));
    const id = "65a1b2c3d4e5f60718293a4d";
    try {
      await w.apply(sinkBatch([ev("c", { _id: id }, after)], (s) => w.target(s)), { seq, epoch: 1 });
      const { s: _s, i: _i, ...rest } = after;
      await w.apply(sinkBatch([ev("u", { _id: id }, { ...rest, _id: id, i: 1 }), ev("u", { _id: id }, { ...rest, _id: id })], (s) => w.target(s)), { seq, epoch: 1 });
    } finally {
      await w.close();
    }
    const r = await db.query("SELECT s, i, l::text FROM shop.orders WHERE _id = $1", [id]);
    expect(r.rows).toEqual([{ s: null, i: null, l: "42" }]);
  });
});
