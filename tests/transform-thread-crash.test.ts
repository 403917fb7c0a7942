// A transform thread (ADR 0006) that dies mid-stream costs no event and breaks no key's
// order: the batches it held fail, the transformer actor restarts from its checkpoint and the
// next batch starts a new thread. The thread is terminated (as a crash would end it) five
// times while inserts and updates flow; the target must then equal the source, transformed.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { cleanupCluster, createDb, eventually, startTestNode, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";
import type { RunningNode } from "../src/node/index.js";

let src: TestDb;
let dst: TestDb;
let node: RunningNode | undefined;
const cluster = uniqueCluster("xthread");
const ROWS = 20_000;
const ROUNDS = 5;

beforeAll(async () => {
  src = await createDb("xthr_src");
  dst = await createDb("xthr_dst");
  await src.query("CREATE TABLE t (id int primary key, n int not null, label text)");
});
afterAll(async () => {
  await node?.shutdown("test end");
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("transform thread crash", () => {
  it("loses no change and keeps per-key order when the transform thread dies five times", async () => {
    node = await startTestNode(cluster, [
      {
        id: "s1",
        source: { type: "postgres", url: src.url, tables: ["public.t"], slot: uniqueName("xthr").slice(0, 60) },
        // rebuilds every event, so the thread's own JSON is what reaches the target
        transformers: [{ name: "tag", jsonata: '$merge([$, {"after": after ? $merge([after, {"label": "x:" & after.label}]) : null}])' }],
        sinks: [{ name: "out", type: "postgres", url: dst.url, from: "tag", table: "public.{table}", autoCreate: true }],
      },
    ]);
    const pool = node.transformPool;
    await eventually(() => node!.supervisor.actors().every((a) => a.ready), 30_000, "actors ready");

    const per = ROWS / ROUNDS;
    for (let r = 0; r < ROUNDS; r++) {
      // new rows, then three updates of the round's rows (the last n must win: order per key)
      await src.query(`INSERT INTO t SELECT g, 0, 'row ' || g FROM generate_series($1::int, $2::int) g`, [r * per + 1, (r + 1) * per]);
      for (let u = 1; u <= 3; u++) await src.query("UPDATE t SET n = $1 WHERE id BETWEEN $2 AND $3", [u, r * per + 1, (r + 1) * per]);
      // kill the thread while it holds a batch
      const t0 = Date.now();
      while (pool.pending === 0) {
        if (Date.now() - t0 > 30_000) throw new Error("no batch reached a transform thread within 30 s");
        await new Promise((r) => setTimeout(r, 1));
      }
      await pool.kill(0);
    }
    const summary = await eventually(async () => {
      const r = await dst.query<{ c: string; n3: string; tagged: string }>(
        "SELECT count(*)::text AS c, count(*) FILTER (WHERE n = 3)::text AS n3, count(*) FILTER (WHERE label = 'x:row ' || id)::text AS tagged FROM public.t",
      ).catch(() => null);
      return r && Number(r.rows[0]!.n3) === ROWS ? r.rows[0]! : null;
    }, 120_000, `all ${ROWS} rows at their last update in the target`);
    expect(Number(summary.c)).toBe(ROWS);
    expect(Number(summary.tagged)).toBe(ROWS);
    const ids = await dst.query<{ min: number; max: number }>("SELECT min(id) AS min, max(id) AS max FROM public.t");
    expect(ids.rows[0]).toEqual({ min: 1, max: ROWS });
    // the kills were real: the pool replaced its thread, and the transformer went through restarts
    expect(pool.running).toBeLessThanOrEqual(1);
    const m = await (await fetch(`${node.adminUrl}/metrics`)).text();
    const restarts = Number(/tributary_errors_total\{[^}]*actor="transformer\.s1\.tag"[^}]*\} (\d+)/.exec(m)?.[1] ?? 0);
    expect(restarts, m.split("\n").filter((l) => l.startsWith("tributary_errors_total")).join("\n")).toBe(ROUNDS);
  });
});
