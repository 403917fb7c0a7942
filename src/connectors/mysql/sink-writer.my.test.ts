/**
 * MysqlSinkWriter against the machine's real MariaDB (127.0.0.1:3306, root) in databases
 * of its own: exact values, coalescing, exactly-once replay, fencing by epoch, autoCreate,
 * and the error verdicts the sink worker branches on.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Op, Row } from "../../events/index.js";
import { SinkWriteError } from "./sink-errors.js";
import { MysqlSinkWriter, type MysqlSinkWriterOptions } from "./sink-writer.js";
import { sinkBatch, type SinkOffset, type SinkRecord } from "../../core/index.js";

const DB = `msw_${randomBytes(5).toString("hex")}`;
const URL = `mysql://root@127.0.0.1:3306/${DB}`;
const log = pino({ level: "silent" });
let c: Connection;
const writers: MysqlSinkWriter[] = [];

/** Applies `records` as one batch (the sink kernel's call). */
function applyBatch(w: MysqlSinkWriter, records: readonly SinkRecord[], offset: SinkOffset): Promise<void> {
  return w.apply(sinkBatch(records, (s) => w.target(s)), offset);
}

async function open(opts: Partial<MysqlSinkWriterOptions> = {}): Promise<MysqlSinkWriter> {
  const w = await MysqlSinkWriter.open({ url: URL, table: "{table}", autoCreate: false, sinkId: `s_${randomBytes(4).toString("hex")}`, cluster: "t", ...opts }, log);
  writers.push(w);
  return w;
}

let seq = 0;
function ev(op: Op, table: string, o: { key?: Row; after?: Row; before?: Row; types?: Record<string, string>; connector?: string } = {}): SinkRecord {
  const event: ChangeEvent = {
    op,
    before: o.before ?? null,
    after: o.after ?? null,
    key: o.key ?? {},
    source: { connector: o.connector ?? "mysql", stream: "s", db: "src", schema: "src", table, pos: "0", txId: null, ts_ms: 1, snapshot: false },
    ts_ms: 2,
    ...(o.types ? { types: o.types } : {}),
  };
  return { seq: ++seq, event };
}

async function rows(sql: string): Promise<RowDataPacket[]> {
  return (await c.query<RowDataPacket[]>(sql))[0];
}

async function failure(p: Promise<unknown>): Promise<SinkWriteError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SinkWriteError);
  return err as SinkWriteError;
}

beforeAll(async () => {
  c = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306", dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true });
  await c.query(`CREATE DATABASE ${DB} DEFAULT CHARACTER SET utf8mb4`);
  await c.query(`USE ${DB}`);
  await c.query("SET time_zone = '+00:00'");
  await c.query(`CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(30,10), dt DATETIME(6), ts TIMESTAMP(6) NULL, j JSON, b BLOB, bits BIT(12), e ENUM('x','y'), s SET('a','b','c'), txt VARCHAR(50), f FLOAT, dbl DOUBLE, g VARCHAR(30) AS (CONCAT('g', id)) VIRTUAL)`);
});
afterAll(async () => {
  for (const w of writers) await w.close();
  await c.query(`DROP DATABASE IF EXISTS ${DB}`);
  await c.end();
});

describe("MysqlSinkWriter", () => {
  it("writes every type exactly and stores the checkpoint in the same transaction", async () => {
    const w = await open();
    const after = { id: "18446744073709551615", d: "-12345678901234567890.0123456789", dt: "2024-02-29T23:59:59.123456", ts: "2024-03-01T01:02:03.456789Z", j: '{"n": 12345678901234567890.5}', b: "AP8K", bits: "000000000101", e: "y", s: "a,c", txt: "héllo 🎉", f: 0.1, dbl: 0.30000000000000004 };
    const r = ev("c", "t", { key: { id: after.id }, after });
    await applyBatch(w, [r], { seq: r.seq, epoch: 3 });
    const [row] = await rows("SELECT CAST(id AS CHAR) id, CAST(d AS CHAR) d, DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f') dt, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') ts, j, HEX(b) b, LPAD(BIN(bits), 12, '0') bits, e, s, txt, CAST(f AS CHAR) f, CAST(dbl AS CHAR) dbl, g FROM t");
    expect(row).toMatchObject({ id: "18446744073709551615", d: "-12345678901234567890.0123456789", dt: "2024-02-29 23:59:59.123456", ts: "2024-03-01 01:02:03.456789", j: '{"n": 12345678901234567890.5}', b: "00FF0A", bits: "000000000101", e: "y", s: "a,c", txt: "héllo 🎉", f: "0.1", dbl: "0.30000000000000004", g: "g18446744073709551615" });
    expect(await w.readOffset()).toEqual({ seq: r.seq, epoch: 3 });
  });

  it("coalesces a key's changes, deletes by key, and keeps absent columns", async () => {
    const w = await open();
    const batch = [
      ev("c", "t", { key: { id: 10 }, after: { id: 10, txt: "a" } }),
      ev("u", "t", { key: { id: 10 }, after: { id: 10, txt: "b" } }),
      ev("c", "t", { key: { id: 11 }, after: { id: 11, txt: "x", e: "x" } }),
      ev("d", "t", { key: { id: 11 }, before: { id: 11 } }),
      ev("c", "t", { key: { id: 12 }, after: { id: 12, txt: "keep", e: "x" } }),
      ev("u", "t", { key: { id: 12 }, after: { id: 12, e: "y" } }), // txt absent: kept
    ];
    await applyBatch(w, batch, { seq: batch.at(-1)!.seq, epoch: 1 });
    expect(await rows("SELECT id, txt, e FROM t WHERE id BETWEEN 10 AND 19 ORDER BY id")).toEqual([
      { id: "10", txt: "b", e: null },
      { id: "12", txt: "keep", e: "y" },
    ]);
  });

  it("skips records at or below the stored sequence (replay has no effect) and refuses a lower epoch", async () => {
    const w = await open();
    const a = ev("c", "t", { key: { id: 20 }, after: { id: 20, txt: "first" } });
    await applyBatch(w, [a], { seq: a.seq, epoch: 5 });
    await c.query("UPDATE t SET txt = 'changed by hand' WHERE id = 20");
    await applyBatch(w, [a], { seq: a.seq, epoch: 5 }); // replayed: skipped
    expect((await rows("SELECT txt FROM t WHERE id = 20"))[0]?.txt).toBe("changed by hand");
    const b = ev("u", "t", { key: { id: 20 }, after: { id: 20, txt: "stale" } });
    const err = await failure(applyBatch(w, [b], { seq: b.seq, epoch: 4 }));
    expect(err.code).toBe("FENCED");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/epoch 4 is older than the stored epoch 5/);
    expect((await rows("SELECT txt FROM t WHERE id = 20"))[0]?.txt).toBe("changed by hand");
  });

  it("empties the table on truncate inside the batch's transaction", async () => {
    const w = await open({ table: "trunc_{table}", autoCreate: true });
    const batch = [ev("c", "x", { key: { id: 1 }, after: { id: 1 }, types: { id: "int(11)" } }), ev("t", "x"), ev("c", "x", { key: { id: 2 }, after: { id: 2 }, types: { id: "int(11)" } })];
    await applyBatch(w, batch.slice(0, 1), { seq: batch[0]!.seq, epoch: 1 });
    await applyBatch(w, batch.slice(1), { seq: batch[2]!.seq, epoch: 1 });
    expect(await rows("SELECT id FROM trunc_x")).toEqual([{ id: 2 }]);
  });

  it("creates tables and adds columns from the events' types (MySQL and PostgreSQL sources)", async () => {
    const w = await open({ table: "auto_{table}", autoCreate: true });
    const my = ev("c", "m", { key: { id: 1 }, after: { id: 1, v: "9.50", e: "b" }, types: { id: "bigint(20) unsigned", v: "decimal(10,2)", e: "enum('a','b')" } });
    const pg = ev("c", "p", { connector: "postgres", key: { k: "a" }, after: { k: "a", n: "12", doc: '{"a":1}', raw: "AP8K" }, types: { k: "text", n: "int8", doc: "jsonb", raw: "bytea" } });
    await applyBatch(w, [my, pg], { seq: pg.seq, epoch: 1 });
    const cols = await rows(`SELECT TABLE_NAME t, COLUMN_NAME c, COLUMN_TYPE ty FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${DB}' AND TABLE_NAME IN ('auto_m', 'auto_p') ORDER BY TABLE_NAME, ORDINAL_POSITION`);
    expect(cols.map((r) => `${r.t}.${r.c}:${r.ty}`)).toEqual(["auto_m.id:bigint(20) unsigned", "auto_m.v:decimal(10,2)", "auto_m.e:enum('a','b')", "auto_p.k:varchar(255)", "auto_p.n:bigint(20)", "auto_p.doc:longtext", "auto_p.raw:longblob"]);
    const more = ev("u", "m", { key: { id: 1 }, after: { id: 1, added: 7 } });
    await applyBatch(w, [more], { seq: more.seq, epoch: 1 });
    expect(await rows("SELECT id, CAST(v AS CHAR) v, added FROM auto_m")).toEqual([{ id: "1", v: "9.50", added: "7" }]);
  });

  it("names a missing table and a missing column, and does not retry them", async () => {
    const w = await open();
    const e1 = await failure(applyBatch(w, [ev("c", "nope", { key: { id: 1 }, after: { id: 1 } })], { seq: ++seq, epoch: 1 }));
    expect(e1.code).toBe("SINK_INVALID");
    expect(e1.message).toMatch(new RegExp(`mysql sink s_\\w+, table \`${DB}\`\\.\`nope\`: table does not exist \\(autoCreate: true would create it`));
    const e2 = await failure(applyBatch(w, [ev("c", "t", { key: { id: 1 }, after: { id: 1, nosuch: 1 } })], { seq: ++seq, epoch: 1 }));
    expect(e2.message).toMatch(/column\(s\) "nosuch" missing from the table/);
    expect(e2.retryable).toBe(false);
  });

  it("marks a value the column refuses as a row error (SQLSTATE class 22/23) so the worker dead-letters that row", async () => {
    const w = await open();
    const bad = [ev("c", "t", { key: { id: 30 }, after: { id: 30, e: "not-an-enum" } }), ev("c", "t", { key: { id: 31 }, after: { id: 31, b: "%%% not base64" } })];
    for (const r of bad) {
      const err = await failure(applyBatch(w, [r], { seq: r.seq, epoch: 1 }));
      expect(err.code).toBe("SINK_INVALID");
      expect(err.sqlState).toMatch(/^(22|23)/);
    }
    expect(await rows("SELECT id FROM t WHERE id IN (30, 31)")).toEqual([]);
  });

  it("refuses bad credentials at open, naming the URL without its password", async () => {
    const err = await MysqlSinkWriter.open({ url: `mysql://nobody:pw123@127.0.0.1:3306/${DB}`, table: "{table}", autoCreate: false, sinkId: "x.y", cluster: "t" }, log).then(() => undefined, (e: unknown) => e as SinkWriteError);
    expect(err).toBeInstanceOf(SinkWriteError);
    expect(err!.message).toMatch(/mysql sink x\.y: mysql:\/\/nobody:\*\*\*@127\.0\.0\.1:3306\/\S+: Access denied for user 'nobody'/);
    expect(err!.message).not.toContain("pw123");
    expect(err!.retryable).toBe(false);
  });
});
