/**
 * Sink offsets keyed by cluster, stream and sink (issue 10, item 2; docs/adr/0010), against
 * the machine's real MariaDB: two clusters with the same stream and sink names write into
 * one target database and both deliver everything (100 + 1 rows); a legacy
 * `<stream>.<sink>` row is adopted by the first cluster that opens the sink, once.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sinkBatch, type SinkOffset, type SinkRecord } from "../../core/index.js";
import { MysqlSinkWriter } from "./sink-writer.js";

const DB = `mso_${randomBytes(5).toString("hex")}`;
const URL = `mysql://root@127.0.0.1:3306/${DB}`;
const log = pino({ level: "silent" });
let c: Connection;
const writers: MysqlSinkWriter[] = [];

async function open(cluster: string, sinkId: string): Promise<MysqlSinkWriter> {
  const w = await MysqlSinkWriter.open({ url: URL, table: "{table}", autoCreate: false, sinkId, cluster }, log);
  writers.push(w);
  return w;
}
/** Inserts of ids `from`..`to` into `table`, with sequences 1… (each cluster's JetStream stream starts at 1). */
function inserts(table: string, from: number, to: number): SinkRecord[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: i + 1,
    event: { op: "c", before: null, after: { id: from + i }, key: { id: from + i }, source: { connector: "mysql", stream: "s", db: "src", schema: "src", table, pos: "0", txId: null, ts_ms: 1, snapshot: false }, ts_ms: 2 },
  }));
}
const apply = (w: MysqlSinkWriter, records: SinkRecord[], offset: SinkOffset) => w.apply(sinkBatch(records, (s) => w.target(s)), offset);
const count = async (table: string) => Number((await c.query<RowDataPacket[]>(`SELECT count(*) AS n FROM ${table}`))[0][0]!.n);
const offsetRow = async (key: string) => (await c.query<RowDataPacket[]>("SELECT CAST(seq AS CHAR) AS seq, CAST(epoch AS CHAR) AS epoch FROM tributary_sink_offsets WHERE sink_id = ?", [key]))[0][0];

beforeAll(async () => {
  c = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306" });
  await c.query(`CREATE DATABASE ${DB}`);
  await c.query(`USE ${DB}`);
  await c.query("CREATE TABLE a (id INT PRIMARY KEY)");
  await c.query("CREATE TABLE b (id INT PRIMARY KEY)");
});
afterAll(async () => {
  for (const w of writers) await w.close();
  await c.query(`DROP DATABASE IF EXISTS ${DB}`);
  await c.end();
});

describe("MySQL sink offsets of two clusters in one target database", () => {
  it("the same stream and sink names in two clusters both deliver everything (100 + 1 rows)", async () => {
    const blue = await open("blue", "orders.out");
    const green = await open("green", "orders.out");
    await apply(blue, inserts("a", 1, 100), { seq: 100, epoch: 8046 });
    await apply(green, inserts("b", 1, 1), { seq: 1, epoch: 876 });
    expect(await count("a")).toBe(100);
    expect(await count("b")).toBe(1);
    expect(await offsetRow("blue.orders.out")).toEqual({ seq: "100", epoch: "8046" });
    expect(await offsetRow("green.orders.out")).toEqual({ seq: "1", epoch: "876" });
  });

  it("a legacy <stream>.<sink> row is adopted by the first cluster that opens the sink, once, and kept fenced", async () => {
    await c.query("INSERT INTO tributary_sink_offsets (sink_id, seq, epoch) VALUES ('legacy.out', 50, 7)");
    const first = await open("blue", "legacy.out");
    expect(await first.readOffset()).toEqual({ seq: 50, epoch: 7 });
    expect(await offsetRow("legacy.out")).toEqual({ seq: "50", epoch: "9223372036854775807" });
    const second = await open("green", "legacy.out");
    expect(await second.readOffset()).toEqual({ seq: 0, epoch: 0 });
    const again = await open("blue", "legacy.out");
    expect(await again.readOffset()).toEqual({ seq: 50, epoch: 7 });
  });
});
