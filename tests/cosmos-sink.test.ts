// The Cosmos DB sink adapter against the fake gateway and the real @azure/cosmos SDK,
// without the kernel: bulk and point writes, the offset document and what replays do,
// the epoch and etag fences (and the one-batch window ADR 0008 documents), throttling and
// unavailability retried after the service's delay, refused records, partial updates,
// rows moving between partition key values, and the target container checks.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { CosmosSink, type CosmosSinkSpec } from "../src/connectors/cosmosdb/index.js";
import { sinkBatch, type SinkRecord } from "../src/core/index.js";
import type { ChangeEvent, Row } from "../src/events/index.js";
import { Metrics } from "../src/metrics/index.js";
import { matchers, type Doc } from "./fakes/cosmos/index.js";
import { cosmosRig, eventually, metricValue, type CosmosRig } from "./support/index.js";

let rig: CosmosRig | undefined;
const sinks: CosmosSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close();
  await rig?.stop();
  rig = undefined;
});

const spec = (r: CosmosRig, extra: Partial<CosmosSinkSpec> = {}): CosmosSinkSpec => ({
  name: "cos", type: "cosmosdb", endpoint: r.fake.endpoint, database: r.db, container: "{table}", partitionKey: "/pk",
  auth: { key: r.fake.masterKey }, autoCreate: true, offsetsContainer: "tributary_offsets", batchMaxRows: 2000, batchMaxWait: 100, ...extra,
});

async function open(r: CosmosRig, extra: Partial<CosmosSinkSpec> = {}, metrics = new Metrics()): Promise<CosmosSink> {
  const s = await CosmosSink.open(spec(r, extra), { sinkId: "s1.cos", cluster: "c1", log: pino({ level: "silent" }), metrics });
  sinks.push(s);
  return s;
}

let seq = 0;
const rec = (op: ChangeEvent["op"], key: Row, after: Row | null, before: Row | null = null, table = "orders", types?: Record<string, string>): SinkRecord => ({
  seq: ++seq,
  event: {
    op, key, after, before, ts_ms: 0,
    source: { connector: "postgres", stream: "s1", db: "src", schema: "public", table, pos: String(seq), txId: null, ts_ms: 0, snapshot: false },
    ...(types ? { types } : {}),
  },
});
const apply = (s: CosmosSink, records: SinkRecord[], epoch = 1, last = records[records.length - 1]?.seq ?? 0) =>
  s.apply(sinkBatch(records, (x) => s.target(x)), { seq: last, epoch });

/** The user properties of every document of a container, by id. */
function docs(r: CosmosRig, container: string): Record<string, Doc> {
  const out: Record<string, Doc> = {};
  for (const d of r.fake.documents(r.db, container)) {
    const { _rid, _self, _etag, _attachments, _ts, ...user } = d;
    out[String(d.id)] = user;
  }
  return out;
}
const offsetDoc = (r: CosmosRig) => r.fake.documents(r.db, "tributary_offsets").find((d) => d.id === "c1.s1.cos");

describe("Cosmos DB sink", () => {
  it("writes by bulk and by point operations, then the offset document; a replay changes nothing", async () => {
    rig = await cosmosRig();
    const s = await open(rig);
    expect(await s.readOffset()).toEqual({ seq: 0, epoch: 0 });
    const first = Array.from({ length: 60 }, (_, i) => rec("c", { id: i }, { id: i, pk: `p${i % 4}`, n: i, big: "9007199254740993", when: "2024-03-01T12:34:56.123456Z", tags: ["a", null], doc: { x: [1, 2.5] } }));
    await apply(s, first);
    expect(rig.fake.requests.some((r) => r.headers["x-ms-cosmos-is-batch-request"] !== undefined)).toBe(true); // 60 ops: bulk
    const d = docs(rig, "orders");
    expect(Object.keys(d)).toHaveLength(60);
    expect(d["7"]).toEqual({ id: "7", pk: "p3", n: 7, big: "9007199254740993", when: "2024-03-01T12:34:56.123456Z", tags: ["a", null], doc: { x: [1, 2.5] } });
    expect(offsetDoc(rig)).toMatchObject({ id: "c1.s1.cos", cluster: "c1", sink: "s1.cos", seq: first.at(-1)!.seq, epoch: 1 });
    expect(await s.readOffset()).toEqual({ seq: first.at(-1)!.seq, epoch: 1 });

    rig.fake.clearLog();
    const small = [rec("u", { id: 3 }, { id: 3, pk: "p3", n: 33 }), rec("d", { id: 4 }, null, { id: 4, pk: "p0" })];
    await apply(s, small);
    expect(rig.fake.requests.some((r) => r.headers["x-ms-cosmos-is-batch-request"] !== undefined)).toBe(false); // 2 ops: point writes
    expect(docs(rig, "orders")["3"]).toMatchObject({ n: 33 });
    expect(docs(rig, "orders")["4"]).toBeUndefined();

    // a replay of both batches (as after a restart from an older JetStream position) writes nothing
    const lsn = rig.fake.lsn;
    await apply(s, [...first, ...small]);
    expect(rig.fake.lsn).toBe(lsn);
    expect(offsetDoc(rig)).toMatchObject({ seq: small.at(-1)!.seq });
  });

  it("a crash between the documents and the offset replays the batch: idempotent upserts and deletes, a delete-then-upsert pair is one upsert", async () => {
    rig = await cosmosRig();
    const s = await open(rig);
    await apply(s, [rec("c", { id: 1 }, { id: 1, pk: "a", v: 1 }), rec("c", { id: 2 }, { id: 2, pk: "a", v: 1 })]);
    const batch = [rec("d", { id: 1 }, null, { id: 1, pk: "a" }), rec("c", { id: 1 }, { id: 1, pk: "a", v: 2 }), rec("d", { id: 2 }, null, { id: 2, pk: "a" })];
    // the offset write fails (as if the process died after the documents were written)
    rig.fake.faults.failNext(50, 400, undefined, (r) => r.path.includes("/colls/tributary_offsets/") && r.method === "PUT");
    await expect(apply(s, batch)).rejects.toThrow(/container db\/tributary_offsets: writing the sink's offset document: the service refused the request \(400\)/);
    expect(docs(rig, "orders")).toEqual({ "1": { id: "1", pk: "a", v: 2 } });
    const stored = offsetDoc(rig)!;
    expect(stored.seq).toBeLessThan(batch[0]!.seq);
    rig.fake.faults.clear();
    const writes = rig.fake.requests.length;
    await apply(s, batch); // the replay
    expect(docs(rig, "orders")).toEqual({ "1": { id: "1", pk: "a", v: 2 } });
    expect(offsetDoc(rig)).toMatchObject({ seq: batch.at(-1)!.seq });
    // the delete-then-upsert pair went out as ONE upsert of document 1, and the delete of 2 (already gone) succeeded
    const docWrites = rig.fake.requests.slice(writes).filter((r) => r.path.includes("/colls/orders/docs"));
    expect(docWrites.map((r) => [r.method, r.status])).toEqual(expect.arrayContaining([["POST", 200], ["DELETE", 404]]));
    expect(docWrites).toHaveLength(2);
  });

  it("a newer epoch in the offset document refuses an older owner before it writes anything", async () => {
    rig = await cosmosRig();
    const a = await open(rig);
    const b = await open(rig);
    await apply(a, [rec("c", { id: 1 }, { id: 1, pk: "a", v: "a" })], 1);
    await apply(b, [rec("c", { id: 2 }, { id: 2, pk: "a", v: "b" })], 2);
    const lsn = rig.fake.lsn;
    await expect(apply(a, [rec("c", { id: 3 }, { id: 3, pk: "a", v: "stale" })], 1)).rejects.toMatchObject({
      code: "FENCED", message: "sink s1.cos: epoch 1 is older than the stored epoch 2: another owner has written",
    });
    expect(rig.fake.lsn).toBe(lsn);
    expect(docs(rig, "orders")["3"]).toBeUndefined();
  });

  it("the etag refuses a writer whose offset read is outdated; its batch's documents were written (the window ADR 0008 documents)", async () => {
    rig = await cosmosRig();
    const a = await open(rig);
    const b = await open(rig);
    await apply(a, [rec("c", { id: 0 }, { id: 0, pk: "a" })], 1);
    // a's next batch (bulk) is held up by throttling after it read the offset...
    rig.fake.faults.throttle(100_000, 20, matchers.batch);
    const stale = apply(a, Array.from({ length: 30 }, (_, i) => rec("c", { id: 100 + i }, { id: 100 + i, pk: "a", by: "a" })), 1);
    await eventually(() => rig!.fake.requests.some((r) => r.status === 429), 20_000, "a's bulk being throttled");
    // ...while b (a newer owner) writes a batch and the offset
    await apply(b, [rec("c", { id: 1 }, { id: 1, pk: "a", by: "b" })], 2);
    rig.fake.faults.clear();
    await expect(stale).rejects.toMatchObject({ code: "FENCED" });
    await expect(stale).rejects.toThrow(/offset document c1\.s1\.cos changed under it \(now seq \d+, epoch 2; this writer read seq \d+, epoch 1 and has epoch 1\): another owner has written/);
    expect(offsetDoc(rig)).toMatchObject({ epoch: 2 });
    expect(docs(rig, "orders")["100"]).toMatchObject({ by: "a" });
  });

  it("429 and 503 are retried after the service's delay until every document is written; 429s are counted", async () => {
    rig = await cosmosRig();
    const metrics = new Metrics();
    const s = await open(rig, {}, metrics);
    const ordersDocs = (r: { path: string }) => r.path.includes("/colls/orders/docs");
    // bulk: the SDK re-batches throttled operations itself (each round waits for its 1 s batching timer)
    rig.fake.faults.throttle(3, 5, matchers.batch);
    await apply(s, Array.from({ length: 40 }, (_, i) => rec("c", { id: i }, { id: i, pk: `p${i % 3}` })));
    expect(Object.keys(docs(rig, "orders"))).toHaveLength(40);
    expect(rig.fake.faults.pending).toBe(0);
    // point writes throttled beyond the SDK's 9 retries: the sink waits the service's delay and goes on
    rig.fake.faults.throttle(25, 5, ordersDocs);
    await apply(s, [rec("u", { id: 5 }, { id: 5, pk: "p2", v: 5 })]);
    expect(rig.fake.faults.pending).toBe(0);
    expect(docs(rig, "orders")["5"]).toMatchObject({ v: 5 });
    expect(await metricValue(metrics, "tributary_cosmos_throttled_total", { stream: "s1", actor: "sink-cos", container: "orders" })).toBe(28);
    expect(await metricValue(metrics, "tributary_cosmos_throttle_wait_seconds_total", { container: "orders" })).toBeCloseTo(28 * 0.005, 5);
    // 503 on documents and on the offset document
    rig.fake.faults.failNext(6, 503, undefined, ordersDocs);
    rig.fake.faults.failNext(2, 503, undefined, (r) => r.path.includes("/colls/tributary_offsets/docs"));
    const last = rec("d", { id: 2 }, null, { id: 2, pk: "p2" });
    await apply(s, [rec("u", { id: 1 }, { id: 1, pk: "p1", v: 2 }), last]);
    expect(rig.fake.faults.pending).toBe(0);
    expect(docs(rig, "orders")["1"]).toMatchObject({ v: 2 });
    expect(docs(rig, "orders")["2"]).toBeUndefined();
    expect(offsetDoc(rig)).toMatchObject({ seq: last.seq });
  });

  it("a record Cosmos DB cannot take is a row error naming it (the kernel dead-letters it); the others are written", async () => {
    rig = await cosmosRig();
    const s = await open(rig);
    const good = rec("c", { id: 1 }, { id: 1, pk: "a" });
    const big = rec("c", { id: 2 }, { id: 2, pk: "a", blob: "x".repeat(2 * 1024 * 1024) });
    const err = await apply(s, [good, big]).catch((e: unknown) => e);
    expect(s.isRowError(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`document id "2" would be \\d+ bytes, over Cosmos DB's 2 MB limit \\(2097152 bytes\\): event seq ${big.seq}`));
    // record by record, as the kernel isolates: the good one is written, the big one refused alone
    await apply(s, [good]);
    expect(s.isRowError(await apply(s, [big]).catch((e: unknown) => e))).toBe(true);
    await apply(s, [], 1, big.seq); // the kernel moves the offset past a dead-lettered record
    expect(offsetDoc(rig)).toMatchObject({ seq: big.seq });
    expect(Object.keys(docs(rig, "orders"))).toEqual(["1"]);
    // the service's own refusal (an id the fake refuses: longer than 255 characters) is a row error too
    const longId = rec("c", { id: "y".repeat(300) }, { id: "y".repeat(300), pk: "a" });
    const refused = await apply(s, [longId]).catch((e: unknown) => e);
    expect(s.isRowError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/^Cosmos DB refused 1 document\(s\) in db\/orders: document id "y+" \(event seq \d+\): 400 /);
    expect(s.isRowError(new Error("x"))).toBe(false);
  });

  it("keeps the stored values of columns the source did not send; a row moving to another partition key value leaves no copy behind", async () => {
    rig = await cosmosRig();
    const s = await open(rig);
    const types = { id: "int8", pk: "text", note: "text", v: "int4" };
    await apply(s, [rec("c", { id: 1 }, { id: 1, pk: "a", note: "long text", v: 1 }, null, "orders", types)]);
    await apply(s, [rec("u", { id: 1 }, { id: 1, pk: "a", v: 2 }, null, "orders", types)]); // note: unchanged TOAST, not sent
    expect(docs(rig, "orders")).toEqual({ "1": { id: "1", pk: "a", note: "long text", v: 2 } });
    await apply(s, [rec("u", { id: 1 }, { id: 1, pk: "b", note: "long text", v: 3 }, { id: 1, pk: "a", note: "long text", v: 2 }, "orders", types)]);
    expect(rig.fake.documents("db", "orders").map((d) => [d.id, d.pk, d.v])).toEqual([["1", "b", 3]]);
  });

  it("checks target containers: missing without autoCreate, created with autoCreate, refused when partitioned differently", async () => {
    rig = await cosmosRig();
    await rig.container("tributary_offsets", "/id");
    const strict = await open(rig, { autoCreate: false });
    await expect(apply(strict, [rec("c", { id: 1 }, { id: 1, pk: "a" })])).rejects.toMatchObject({
      code: "SINK_INVALID",
      message: expect.stringMatching(/^Cosmos DB sink http:\/\/127\.0\.0\.1:\d+\/: the target container db\/orders does not exist \(or database db does not\): create it with partition key \/pk, or set autoCreate: true$/),
    });
    const auto = await open(rig, { container: "copy_{table}" });
    await apply(auto, [rec("c", { id: 1 }, { id: 1, pk: "a" })]);
    expect(rig.fake.documents("db", "copy_orders")).toHaveLength(1);
    await rig.container("other", "/tenant");
    const wrong = await open(rig, { container: "other" });
    await expect(apply(wrong, [rec("c", { id: 1 }, { id: 1, pk: "a" })])).rejects.toThrow(/the target container db\/other is partitioned by \["\/tenant"\], but the sink writes partition key \/pk: fix sinks\[\]\.partitionKey or use another container/);
    // no offsets container without autoCreate
    const bare = await cosmosRig({ db: "empty" });
    try {
      await expect(CosmosSink.open(spec(bare, { autoCreate: false }), { sinkId: "s1.cos", cluster: "c1", log: pino({ level: "silent" }), metrics: new Metrics() })).rejects.toThrow(
        /the offsets container empty\/tributary_offsets does not exist \(or database empty does not\): create it with partition key \/id, or set autoCreate: true/,
      );
    } finally {
      await bare.stop();
    }
  });
});
