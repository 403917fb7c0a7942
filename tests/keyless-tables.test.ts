/**
 * Tables without a primary key (issue 10, item 6; docs/types.md): the advice used to be
 * REPLICA IDENTITY FULL, after which a sink with autoCreate keyed the target by all columns,
 * collapsed duplicate rows (4 rows became 3) and dead-lettered rows with a NULL. Now such a
 * table is refused clearly, naming the way out, unless the stream replicates keyless tables
 * insert-only: then every row arrives, duplicates and NULLs included, keyed by its source
 * position, and the updates the target cannot apply are counted, not applied.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TributaryError } from "../src/base/index.js";
import { PostgresSource, type PgCheckpoint } from "../src/connectors/postgres/index.js";
import { parseStreamSpec } from "../src/config/index.js";
import { Metrics } from "../src/metrics/index.js";
import type { RunningNode } from "../src/node/index.js";
import { cleanupCluster, createDb, createMyDb, eventually, runSource, startTestNode, uniqueCluster, type MyTestDb, type TestDb } from "./support/index.js";

let src: TestDb;
let dst: TestDb;
let mySrc: MyTestDb;
let myDst: MyTestDb;
const clusters: string[] = [];
const nodes: RunningNode[] = [];
const ROWS = "(1, 'a'), (1, 'a'), (2, NULL), (3, 'c')";

beforeAll(async () => {
  src = await createDb("kls");
  dst = await createDb("kld");
  await src.query(`CREATE TABLE nk (id int, v text); ALTER TABLE nk REPLICA IDENTITY FULL; INSERT INTO nk VALUES ${ROWS}`);
  [mySrc, myDst] = await Promise.all([createMyDb("kls"), createMyDb("kld")]);
  await mySrc.query("CREATE TABLE nk (id INT, v VARCHAR(20))");
  await mySrc.query(`INSERT INTO nk VALUES ${ROWS}`);
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown("test done").catch(() => undefined);
});
afterAll(async () => {
  for (const c of clusters) await cleanupCluster(c).catch(() => undefined);
  await src.drop();
  await dst.drop();
  await mySrc?.drop();
  await myDst?.drop();
});

describe("a table without a primary key", () => {
  it("is refused by default, naming the table and the way out", async () => {
    const spec = parseStreamSpec({ id: "nk", source: { type: "postgres", url: src.url, tables: ["public.nk"] } }).source;
    if (spec.type !== "postgres") throw new Error("not a postgres source");
    const source = new PostgresSource(spec, {
      stream: { id: "nk", maxAge: 60_000 },
      settings: { cluster: uniqueCluster("kl"), replicas: 1, checkpoint: { interval: 200, maxEvents: 1000 } },
      log: pino({ level: "silent" }),
      metrics: new Metrics(),
    });
    const err = await runSource<PgCheckpoint>(source).done;
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).retryable).toBe(false);
    expect((err as Error).message).toContain("table public.nk has no primary key: a target keyed by all its columns would collapse duplicate rows");
    expect((err as Error).message).toContain("set source.keylessTables: insert-only");
  });

  it("insert-only: 4 rows with a duplicate and a NULL arrive as 4 rows (autoCreate), nothing is dead-lettered, an update is counted", async () => {
    const cluster = uniqueCluster("kl");
    clusters.push(cluster);
    const n = await startTestNode(cluster, [
      {
        id: "nk",
        source: { type: "postgres", url: src.url, tables: ["public.nk"], keylessTables: "insert-only" },
        sinks: [{ name: "copy", type: "postgres", url: dst.url, table: "public.{table}", autoCreate: true, batchMaxWait: "50ms" }],
      },
    ]);
    nodes.push(n);
    const rows = async () => (await dst.query<{ id: number; v: string | null }>("SELECT id, v FROM nk ORDER BY id, v NULLS FIRST").catch(() => ({ rows: [] }))).rows;
    await eventually(async () => (await rows()).length === 4, 60_000, "the 4 snapshot rows");
    expect(await rows()).toEqual([{ id: 1, v: "a" }, { id: 1, v: "a" }, { id: 2, v: null }, { id: 3, v: "c" }]);

    await src.query("INSERT INTO nk VALUES (1, 'a')");
    await src.query("UPDATE nk SET v = 'z' WHERE id = 3");
    await src.query("INSERT INTO nk VALUES (4, 'end')");
    await eventually(async () => (await rows()).some((r) => r.id === 4), 60_000, "the rows inserted while streaming");
    expect(await rows()).toEqual([{ id: 1, v: "a" }, { id: 1, v: "a" }, { id: 1, v: "a" }, { id: 2, v: null }, { id: 3, v: "c" }, { id: 4, v: "end" }]);
    const key = await dst.query<{ k: string }>("SELECT a.attname AS k FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'public.nk'::regclass AND i.indisprimary");
    expect(key.rows.map((r) => r.k)).toEqual(["_tributary_pos"]);

    const metrics = (await n.admin.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^tributary_events_dropped_total\{stream="nk",actor="stream",reason="keyless-insert-only"\} 1$/m);
    expect(metrics).not.toMatch(/^tributary_dlq_total\{stream="nk"[^}]*\} [1-9]/m);
  });

  it("MySQL, insert-only: the same 4 rows arrive as 4 rows (autoCreate), an update is counted, not applied", async () => {
    const cluster = uniqueCluster("klm");
    clusters.push(cluster);
    const n = await startTestNode(cluster, [
      {
        id: "mnk",
        source: { type: "mysql", url: mySrc.url, tables: [`${mySrc.name}.nk`], keylessTables: "insert-only" },
        sinks: [{ name: "copy", type: "mysql", url: myDst.url, table: "{table}", autoCreate: true, batchMaxWait: "50ms" }],
      },
    ]);
    nodes.push(n);
    const rows = async () => (await myDst.query<Array<{ id: number; v: string | null }>>("SELECT id, v FROM nk ORDER BY id, v").catch(() => [])).map((r) => ({ id: Number(r.id), v: r.v }));
    await eventually(async () => (await rows()).length === 4, 60_000, "the 4 snapshot rows");
    expect(await rows()).toEqual([{ id: 1, v: "a" }, { id: 1, v: "a" }, { id: 2, v: null }, { id: 3, v: "c" }]);
    await mySrc.query("INSERT INTO nk VALUES (1, 'a')");
    await mySrc.query("UPDATE nk SET v = 'z' WHERE id = 3");
    await mySrc.query("INSERT INTO nk VALUES (4, 'end')");
    await eventually(async () => (await rows()).some((r) => r.id === 4), 60_000, "the rows inserted while streaming");
    expect(await rows()).toEqual([{ id: 1, v: "a" }, { id: 1, v: "a" }, { id: 1, v: "a" }, { id: 2, v: null }, { id: 3, v: "c" }, { id: 4, v: "end" }]);
    const metrics = (await n.admin.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^tributary_events_dropped_total\{stream="mnk",actor="stream",reason="keyless-insert-only"\} 1$/m);
  });
});
