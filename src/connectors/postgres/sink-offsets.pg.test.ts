/**
 * Sink offsets keyed by cluster, stream and sink (issue 10, item 2; docs/adr/0010), against
 * the machine's real PostgreSQL: two clusters with the same stream and sink names write into
 * one target database and both deliver everything (the 100 + 1 rows: before, the
 * second was FENCED by the first's epoch, or skipped its first 100 events); a legacy
 * `<stream>.<sink>` row is adopted by the first cluster that opens the sink, once.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sinkBatch, type SinkOffset, type SinkRecord } from "../../core/index.js";
import { ADOPTED_EPOCH } from "./sink-offsets.js";
import { PostgresSinkWriter } from "./sink-writer.js";

const DB = `so_${randomBytes(6).toString("hex")}`;
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const log = pino({ level: "silent" });
let admin: pg.Client;
let db: pg.Client;
const writers: PostgresSinkWriter[] = [];

async function open(cluster: string, sinkId: string): Promise<PostgresSinkWriter> {
  const w = await PostgresSinkWriter.open({ url: URL, table: "app.{table}", autoCreate: false, sinkId, cluster }, log);
  writers.push(w);
  return w;
}
/** Inserts of ids `from`..`to` into `table`, with sequences 1… (each cluster's JetStream stream starts at 1). */
function inserts(table: string, from: number, to: number): SinkRecord[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: i + 1,
    event: { op: "c", before: null, after: { id: from + i }, key: { id: from + i }, source: { connector: "postgres", stream: "s", db: "src", schema: "app", table, pos: "0/0", txId: 1, ts_ms: 1, snapshot: false }, ts_ms: 2 },
  }));
}
const apply = (w: PostgresSinkWriter, records: SinkRecord[], offset: SinkOffset) => w.apply(sinkBatch(records, (s) => w.target(s)), offset);
const count = async (table: string) => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM app.${table}`)).rows[0]!.n);
const offsetRow = async (key: string) => (await db.query<{ seq: string; epoch: string }>("SELECT seq::text AS seq, epoch::text AS epoch FROM tributary.sink_offsets WHERE sink_id = $1", [key])).rows[0];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  db = new pg.Client({ connectionString: URL });
  await db.connect();
  await db.query("CREATE SCHEMA app; CREATE TABLE app.a (id int PRIMARY KEY); CREATE TABLE app.b (id int PRIMARY KEY)");
});
afterAll(async () => {
  for (const w of writers) await w.close();
  await db?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
});

describe("sink offsets of two clusters in one target database", () => {
  it("the same stream and sink names in two clusters both deliver everything (100 + 1 rows)", async () => {
    const blue = await open("blue", "orders.out");
    const green = await open("green", "orders.out");
    await apply(blue, inserts("a", 1, 100), { seq: 100, epoch: 8046 });
    // green's lease epochs are lower and its sequences start at 1 again
    await apply(green, inserts("b", 1, 1), { seq: 1, epoch: 876 });
    expect(await count("a")).toBe(100);
    expect(await count("b")).toBe(1);
    expect(await offsetRow("blue.orders.out")).toEqual({ seq: "100", epoch: "8046" });
    expect(await offsetRow("green.orders.out")).toEqual({ seq: "1", epoch: "876" });
    expect(await blue.readOffset()).toEqual({ seq: 100, epoch: 8046 });
    expect(await green.readOffset()).toEqual({ seq: 1, epoch: 876 });
  });

  it("a legacy <stream>.<sink> row is adopted by the first cluster that opens the sink, once, and kept fenced", async () => {
    await db.query("INSERT INTO tributary.sink_offsets (sink_id, seq, epoch) VALUES ('legacy.out', 50, 7)");
    const first = await open("blue", "legacy.out");
    expect(await first.readOffset()).toEqual({ seq: 50, epoch: 7 });
    expect(await offsetRow("legacy.out")).toEqual({ seq: "50", epoch: ADOPTED_EPOCH });
    const second = await open("green", "legacy.out");
    expect(await second.readOffset()).toEqual({ seq: 0, epoch: 0 });
    // reopening does not adopt again, and the adopted offset goes on from where it was
    await apply(first, inserts("a", 1001, 1001).map((r) => ({ ...r, seq: 51 })), { seq: 51, epoch: 7 });
    const again = await open("blue", "legacy.out");
    expect(await again.readOffset()).toEqual({ seq: 51, epoch: 7 });
  });
});
