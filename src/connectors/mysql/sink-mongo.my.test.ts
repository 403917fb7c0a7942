/**
 * MongoDB-origin events into the real MariaDB (127.0.0.1:3306) through the MySQL sink with
 * autoCreate: the column types made from the BSON type aliases (mysqlTypeFor with connector
 * "mongodb") and the exact values written (docs/types.md "MongoDB"); a value the column
 * cannot hold (a NaN double) is a row error.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Row } from "../../events/index.js";
import { sinkBatch, type SinkRecord } from "../../core/index.js";
import { MysqlSinkWriter } from "./sink-writer.js";
import { mysqlTypeFor } from "./type-map.js";

const DB = `mmg_${randomBytes(5).toString("hex")}`;
const URL = `mysql://root@127.0.0.1:3306/${DB}`;
let c: Connection;

const types = {
  _id: "objectId", s: "string", i: "int", l: "long", big: "long", d: "double", dec: "decimal", b: "bool", at: "date",
  ts: "timestamp", bin: "binData", uuid: "binData:4", n: "null", nested: "object", arr: "array",
};
const after: Row = {
  _id: "65a1b2c3d4e5f60718293a4b", s: "héllo 🎉", i: -7, l: 42, big: "9223372036854775807", d: 0.30000000000000004, dec: "1234567890123456789012345678901234E-10",
  b: true, at: "2024-03-01T12:34:56.789Z", ts: { t: 1700000000, i: 3 }, bin: "AP8K", uuid: "ASNFZ4mrze8BI0VniavN7w==", n: null,
  nested: { a: { $numberLong: "9007199254740993" }, list: [1, "x"] }, arr: [1, { k: true }],
};
let seq = 0;
const ev = (op: ChangeEvent["op"], key: Row, a: Row | null): SinkRecord => ({
  seq: ++seq,
  event: { op, key, after: a, before: null, ts_ms: 0, types, source: { connector: "mongodb", stream: "m", db: "shop", schema: "shop", table: "orders", pos: "x", txId: null, ts_ms: 0, snapshot: false } },
});

beforeAll(async () => {
  c = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306", dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true });
  await c.query(`CREATE DATABASE ${DB} DEFAULT CHARACTER SET utf8mb4`);
  await c.query(`USE ${DB}`);
});
afterAll(async () => {
  await c?.query(`DROP DATABASE IF EXISTS ${DB}`);
  await c?.end();
});

describe("MySQL sink: MongoDB-origin events", () => {
  it("mysqlTypeFor maps the BSON aliases", () => {
    expect(mysqlTypeFor("objectId", "mongodb")).toBe("varchar(24)");
    expect(mysqlTypeFor("date", "mongodb")).toBe("datetime(3)");
    expect(mysqlTypeFor("date", "postgres")).toBe("date");
    expect(mysqlTypeFor("binData:4", "mongodb")).toBe("longblob");
    expect(mysqlTypeFor("regex", "mongodb")).toBe("json");
  });

  it("creates typed columns and writes every value exactly; a NaN double is a row error", async () => {
    const w = await MysqlSinkWriter.open({ url: URL, table: "{table}", autoCreate: true, sinkId: "m.my", cluster: "t" }, pino({ level: "silent" }));
    try {
      await w.apply(sinkBatch([ev("c", { _id: after._id! }, after), ev("c", { _id: "65a1b2c3d4e5f60718293a4c" }, { ...after, _id: "65a1b2c3d4e5f60718293a4c" })], (s) => w.target(s)), { seq, epoch: 1 });
      await w.apply(sinkBatch([ev("d", { _id: "65a1b2c3d4e5f60718293a4c" }, null)], (s) => w.target(s)), { seq, epoch: 1 });
      const nan = await w.apply(sinkBatch([ev("u", { _id: after._id! }, { ...after, d: "NaN" })], (s) => w.target(s)), { seq, epoch: 1 }).catch((e: unknown) => e);
      expect(w.isRowError(nan)).toBe(true);
    } finally {
      await w.close();
    }
    const [cols] = await c.query<RowDataPacket[]>(`SELECT COLUMN_NAME AS n, COLUMN_TYPE AS t, COLUMN_KEY AS k FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION`, [DB]);
    expect(Object.fromEntries(cols.map((r) => [r.n, r.t]))).toEqual({
      _id: "varchar(24)", s: "longtext", i: "int(11)", l: "bigint(20)", big: "bigint(20)", d: "double", dec: "decimal(65,30)", b: "tinyint(1)", at: "datetime(3)",
      ts: "longtext", bin: "longblob", uuid: "longblob", n: "longtext", nested: "longtext", arr: "longtext",
    });
    expect(cols.filter((r) => r.k === "PRI").map((r) => r.n)).toEqual(["_id"]);
    const [r] = await c.query<RowDataPacket[]>(
      `SELECT _id, s, CAST(i AS CHAR) AS i, CAST(l AS CHAR) AS l, CAST(big AS CHAR) AS big, CAST(d AS CHAR) AS d, CAST(\`dec\` AS CHAR) AS \`dec\`, b, CAST(\`at\` AS CHAR) AS \`at\`, ts, TO_BASE64(bin) AS bin, TO_BASE64(uuid) AS uuid, n, nested, arr FROM orders`,
    );
    expect(r.map((x) => ({ ...x }))).toEqual([
      {
        _id: "65a1b2c3d4e5f60718293a4b", s: "héllo 🎉", i: "-7", l: "42", big: "9223372036854775807", d: "0.30000000000000004", dec: "123456789012345678901234.567890123400000000000000000000", b: 1,
        at: "2024-03-01 12:34:56.789", ts: '{"t":1700000000,"i":3}', bin: "AP8K", uuid: "ASNFZ4mrze8BI0VniavN7w==", n: null,
        nested: '{"a":{"$numberLong":"9007199254740993"},"list":[1,"x"]}', arr: '[1,{"k":true}]',
      },
    ]);
  });
});
