/**
 * Two clusters writing into one target database (issue 10, item 2; docs/adr/0010): the
 * issue's scenario with two real clusters (unique cluster ids, one node each) whose streams
 * and sinks have the same names. Before, they shared the offset row `<stream>.<sink>`: one
 * cluster skipped its first 100 events (1 of 101 rows arrived) or was fenced forever. Now
 * each has its own row and both deliver everything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../src/node/index.js";
import { cleanupCluster, createDb, eventually, startTestNode, uniqueCluster, type TestDb } from "./support/index.js";

let srcA: TestDb;
let srcB: TestDb;
let target: TestDb;
const clusters = [uniqueCluster("blue"), uniqueCluster("green")] as const;
const nodes: RunningNode[] = [];

beforeAll(async () => {
  [srcA, srcB, target] = await Promise.all([createDb("tca"), createDb("tcb"), createDb("tct")]);
  await srcA.query("CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, 'a' FROM generate_series(1, 100) g");
  await srcB.query("CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b VALUES (1, 'b')");
});
afterAll(async () => {
  for (const n of nodes) await n.shutdown("test done").catch(() => undefined);
  for (const c of clusters) await cleanupCluster(c).catch(() => undefined);
  await Promise.all([srcA, srcB, target].map((d) => d?.drop()));
});

/** The stream `orders` with sink `out` into the shared target: the same names in both clusters. */
const orders = (src: TestDb, table: string) => ({
  id: "orders",
  source: { type: "postgres", url: src.url, tables: [`public.${table}`] },
  sinks: [{ name: "out", type: "postgres", url: target.url, table: "public.{table}", autoCreate: true, batchMaxWait: "50ms" }],
});
const count = async (table: string) => Number((await target.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`).catch(() => ({ rows: [{ n: "0" }] }))).rows[0]!.n);

describe("two clusters, one target database, the same stream and sink names", () => {
  it("both deliver everything (100 + 1 rows, then one more each), each with its own offset row", async () => {
    nodes.push(await startTestNode(clusters[0], [orders(srcA, "a")]));
    await eventually(async () => (await count("a")) === 100, 60_000, "the first cluster's 100 rows");
    nodes.push(await startTestNode(clusters[1], [orders(srcB, "b")]));
    await eventually(async () => (await count("b")) === 1, 60_000, "the second cluster's row");
    await srcA.query("INSERT INTO a VALUES (101, 'a')");
    await srcB.query("INSERT INTO b VALUES (2, 'b')");
    await eventually(async () => (await count("a")) === 101 && (await count("b")) === 2, 60_000, "one more row each");
    const rows = await target.query<{ sink_id: string; seq: string }>("SELECT sink_id, seq::text AS seq FROM tributary.sink_offsets ORDER BY sink_id");
    expect(rows.rows.map((r) => r.sink_id).sort()).toEqual(clusters.map((c) => `${c}.orders.out`).sort());
  });
});
