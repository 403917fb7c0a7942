/**
 * MongoDB source through the in-process fake (tests/fakes/mongo) with the real driver:
 * informational only — the driver, the fake and the source share this process and its
 * core, and nothing is published (no JetStream). Two figures: the snapshot (documents in
 * `_id` order, read in `snapshotBatchSize` batches) and the change stream catching up on a
 * backlog of inserts made while the source was stopped.
 */
import { MongoSource, type MongoPosition } from "../src/connectors/mongodb/index.js";
import { Metrics } from "../src/metrics/index.js";
import { eventually, mongoRig, runSource, sourceDeps } from "../tests/support/index.js";
import type { BenchOptions } from "./options.js";

export interface MongoResult {
  mongo_snapshot_eps: number;
  mongo_reader_eps: number;
  events: number;
}

/** Documents per phase: the run's event count, at most 100,000 (the fake keeps everything in memory). */
const MAX = 100_000;

export async function mongoScenario(o: BenchOptions, log: (m: string) => void): Promise<MongoResult> {
  const n = Math.min(o.events, MAX);
  const rig = await mongoRig();
  try {
    const coll = rig.admin.db("bench").collection("orders");
    const doc = (i: number) => ({ _id: i as never, customer: `c${i % 977}`, qty: i % 13, price: 9.99, tags: ["a", "b"], at: new Date(1_700_000_000_000 + i) });
    for (let i = 0; i < n; i += 5000) await coll.insertMany(Array.from({ length: Math.min(5000, n - i) }, (_, k) => doc(i + k)));
    const spec = rig.spec(["bench.orders"], { snapshotBatchSize: 1000, batchSize: 1000, maxAwaitTime: 200 });
    const count = (run: { batches: Array<{ changes: readonly unknown[] }> }) => run.batches.reduce((a, b) => a + b.changes.length, 0);

    let t0 = performance.now();
    let run = runSource(new MongoSource(spec, sourceDeps(new Metrics(), "bench")));
    await eventually(() => run.batches.some((b) => b.durable && b.position && !b.position.snapshot), 600_000, `the snapshot of ${n} documents`, 20);
    const snapshotEps = n / ((performance.now() - t0) / 1000);
    await run.stop();
    const checkpoint = run.position() as MongoPosition;
    log(`  mongo snapshot ${Math.round(snapshotEps)} documents/s (${n} documents)`);

    for (let i = 0; i < n; i += 5000) await coll.insertMany(Array.from({ length: Math.min(5000, n - i) }, (_, k) => doc(n + i + k)));
    t0 = performance.now();
    run = runSource(new MongoSource(spec, sourceDeps(new Metrics(), "bench")), checkpoint, null);
    await eventually(() => count(run) >= n, 600_000, `the change stream to catch up on ${n} inserts`, 20);
    const readerEps = n / ((performance.now() - t0) / 1000);
    await run.stop();
    log(`  mongo change stream catch-up ${Math.round(readerEps)} events/s (${n} changes)`);
    return { mongo_snapshot_eps: snapshotEps, mongo_reader_eps: readerEps, events: n };
  } finally {
    await rig.stop();
  }
}
