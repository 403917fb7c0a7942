// End to end on the real services: PostgreSQL -> stream actor -> JetStream -> JSONata
// transformer -> JetStream -> PostgreSQL sinks (raw and transformed). Pre-existing rows
// (snapshot), 10,000 mixed changes with every carried type, a column added mid-stream,
// and a graceful stop that releases every lease.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { assertBuilt, converged, createPipeline, diffAll, leasesAndPosition, NodeProc, type Pipeline, startNodeProc, Workload } from "./support/index.js";

let p: Pipeline;
let node: NodeProc;

beforeAll(async () => {
  assertBuilt();
  p = await createPipeline("e2e");
});
afterAll(async () => {
  await node?.kill9();
  await p?.cleanup();
});

describe("PostgreSQL -> JetStream -> JSONata -> PostgreSQL", () => {
  it("copies pre-existing rows and 10,000 mixed changes exactly, including a column added mid-stream", async () => {
    const w = new Workload(p.src, 7);
    await w.seed(300); // rows that exist before the stream starts
    node = await startNodeProc({ config: p.config("n1") });
    await node.waitReady();
    await w.run(5000);
    await p.src.query("ALTER TABLE items ADD COLUMN color text");
    await p.src.query("UPDATE items SET color = 'blue' WHERE id % 3 = 0");
    await w.run(5000);
    expect(w.ops).toBeGreaterThanOrEqual(10_000);

    const raw = await converged(() => diffAll(p.src, p.dst, "public"), 120_000);
    expect(raw).toBeNull();
    const copy = await converged(() => diffAll(p.src, p.dst, "copy"), 60_000);
    expect(copy).toBeNull();
    const colour = await p.dst.query<{ n: number }>("SELECT count(*)::int AS n FROM copy.items WHERE color = 'blue'");
    expect(colour.rows[0]?.n).toBeGreaterThan(0);

    const actors = await node.json<{ actors: Array<{ id: string; state: string; epoch: number; lastError: string | null }> }>("/v1/actors");
    expect(actors.actors.map((a) => a.id).sort()).toEqual(["sink.shop.copy", "sink.shop.raw", "stream.shop", "transformer.shop.pass"]);
    for (const a of actors.actors) expect(a.state).toBe("running.active.running");

    const metrics = await (await fetch(node.adminUrl + "/metrics")).text();
    expect(metrics).toMatch(/tributary_events_applied_total\{stream="shop",actor="sink-raw"\} \d+/);
    const published = Number(/tributary_events_published_total\{stream="shop",actor="stream"\} (\d+)/.exec(metrics)?.[1]);
    expect(published).toBeGreaterThanOrEqual(10_000);

    // graceful stop: exit 0 and every lease released at once (CAS delete), positions kept
    expect(await node.term()).toBe(0);
    const { leases, position } = await leasesAndPosition<{ position: { snapshotDone: boolean } }>(p.cluster, "shop");
    expect(leases).toEqual([]);
    expect(position?.position.snapshotDone).toBe(true);
    // the slot was confirmed up to the checkpoint, so PostgreSQL may recycle WAL
    const slot = await p.src.query<{ lsn: string; active: boolean }>("SELECT confirmed_flush_lsn::text AS lsn, active FROM pg_replication_slots WHERE slot_name = $1", [p.slot]);
    expect(slot.rows[0]?.active).toBe(false);
    expect(slot.rows[0]?.lsn).not.toBe("0/0");
  });
});
