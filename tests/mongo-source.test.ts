// The MongoDB source adapter against the fake server and the real `mongodb` driver, without
// the kernel: snapshot then stream, positions, idle advance, resumable faults, a resumed
// snapshot, history lost and re-snapshot, invalidate, compat cosmos, pre-images.
import { afterEach, describe, expect, it } from "vitest";
import { Decimal128, Int32, Long, ObjectId } from "mongodb";
import { TributaryError } from "../src/base/index.js";
import { COSMOS_STAGES, MongoSource, type MongoPosition, type MongoSourceSpec } from "../src/connectors/mongodb/index.js";
import { Metrics } from "../src/metrics/index.js";
import { eventually, mongoRig, runSource, sourceDeps as depsWith, type MongoRig, type SourceRun } from "./support/index.js";

let rig: MongoRig | undefined;
let run: SourceRun<MongoPosition> | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
  await rig?.stop();
  rig = undefined;
});

const source = (spec: MongoSourceSpec, stream = "s1") => new MongoSource(spec, depsWith(new Metrics(), stream));
const ids = (events: Array<{ key: Record<string, unknown> }>) => events.map((e) => e.key._id);

describe("MongoDB source", () => {
  it("snapshot then stream: the start point durable first, documents in _id order as op r, then c/u/d with the update description; positions strictly increasing", async () => {
    rig = await mongoRig();
    const orders = rig.admin.db("shop").collection("orders");
    await orders.insertMany(Array.from({ length: 120 }, (_, i) => ({ _id: i as never, n: new Int32(i), big: Long.fromString("9007199254740993"), price: Decimal128.fromString("12.3400000000000000000000000000001") })));
    run = runSource(source(rig.spec(["shop.orders"])));
    await eventually(() => run!.events().length >= 120, 20_000, "the snapshot");
    expect(run.batches[0]).toMatchObject({ changes: [], durable: true });
    expect(run.batches[0]!.position).toMatchObject({ v: 1, epoch: 1, resume: { token: { _data: expect.any(String) } }, snapshot: { attempt: 1, collections: ["shop.orders"], index: 0, lastId: null } });
    const snap = run.events();
    expect(ids(snap)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(snap.every((e) => e.op === "r" && e.source.snapshot === true && e.before === null)).toBe(true);
    expect(snap[7]).toMatchObject({ key: { _id: 7 }, after: { _id: 7, n: 7, big: "9007199254740993", price: "12.3400000000000000000000000000001" }, types: { _id: "int", n: "int", big: "long", price: "decimal" } });
    expect(snap[7]!.source).toMatchObject({ connector: "mongodb", stream: "s1", db: "shop", schema: "shop", table: "orders" });
    await eventually(() => run!.batches.some((b) => b.durable && b.position && !b.position.snapshot), 20_000, "the snapshot's end");

    const oid = new ObjectId();
    await orders.insertOne({ _id: oid as never, a: new Int32(1), tags: ["x"] });
    await orders.updateOne({ _id: oid as never }, { $set: { a: new Int32(2), "tags.1": "y" }, $unset: { gone: "" } });
    await orders.replaceOne({ _id: 3 as never }, { r: true });
    await orders.deleteOne({ _id: 4 as never });
    await eventually(() => run!.events().length >= 124, 20_000, "the four changes");
    const changes = run.events().slice(120);
    expect(changes.map((e) => [e.op, e.key, e.before, e.after])).toEqual([
      ["c", { _id: oid.toHexString() }, null, { _id: oid.toHexString(), a: 1, tags: ["x"] }],
      ["u", { _id: oid.toHexString() }, { _id: oid.toHexString() }, { _id: oid.toHexString(), a: 2, tags: ["x", "y"] }],
      ["u", { _id: 3 }, { _id: 3 }, { _id: 3, r: true }],
      ["d", { _id: 4 }, { _id: 4 }, null],
    ]);
    expect(changes[1]!.update).toEqual({ updated: { a: 2, "tags.1": "y" }, removed: [] });
    expect(changes[0]!.types).toEqual({ _id: "objectId", a: "int", tags: "array" });
    expect(changes.map((e) => e.source.operationType)).toEqual(["insert", "update", "replace", "delete"]);
    const positions = run.events().map((e) => String(e.source.pos));
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    expect(positions[0]).toMatch(/^00000001:s:0001:/);
    expect(positions[120]).toMatch(/^00000001:t:82/);
    // the stream resumed from the point taken before the snapshot
    const opens = rig.changeStreamOpens();
    expect(opens.at(-1)!.stage.resumeAfter).toEqual(run.batches[0]!.position!.resume && (run.batches[0]!.position!.resume as { token: unknown }).token);
  });

  it("an idle stream's position advances with the post-batch resume token (a batch without changes), and repeats nothing while nothing moves", async () => {
    rig = await mongoRig();
    await rig.admin.db("shop").collection("orders").insertOne({ _id: 1 as never });
    run = runSource(source(rig.spec(["shop.orders"], { snapshot: "never" })));
    await run.ready;
    const start = run.position()!;
    expect(run.batches).toHaveLength(1);
    // writes elsewhere move the oplog: the watched stream sees none of them, but its resume point moves past them
    for (let i = 0; i < 3; i++) await rig.admin.db("shop").collection("other").insertOne({ i });
    await eventually(() => run!.batches.length >= 2, 10_000, "an idle batch");
    const idle = run.batches.at(-1)!;
    expect(idle.changes).toEqual([]);
    const token = (p: MongoPosition) => String((p.resume as { token: { _data: string } }).token._data);
    expect(token(idle.position!) > token(start)).toBe(true);
    const n = run.batches.length;
    await new Promise((r) => setTimeout(r, 500)); // several empty getMores (maxAwaitTime 100 ms) that move nothing
    expect(run.batches.length).toBe(n);
    expect(run.events()).toEqual([]);
    // the start point's cursor was killed: only the stream's own is open
    expect(rig.fake.stats.openCursors).toBe(1);
  });

  it.each([
    ["a ResumableChangeStreamError label", { code: 234, codeName: "RetryChangeStream", errorLabels: ["ResumableChangeStreamError"] }],
    ["CursorNotFound (43)", { code: 43, codeName: "CursorNotFound" }],
    ["a closed connection", "close" as const],
  ])("resumes after %s from the last token: every change once, in order", async (_what, fault) => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("orders");
    run = runSource(source(rig.spec(["shop.orders"], { snapshot: "never", batchSize: 3 })));
    await run.ready;
    for (let i = 0; i < 10; i++) await c.insertOne({ _id: i as never });
    await eventually(() => run!.events().length >= 10, 10_000, "the first ten");
    rig.fake.failNext("getMore", fault);
    for (let i = 10; i < 20; i++) await c.insertOne({ _id: i as never });
    await eventually(() => run!.events().length >= 20, 10_000, "the ten after the fault");
    await new Promise((r) => setTimeout(r, 300));
    expect(ids(run.events())).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const opens = rig.changeStreamOpens();
    expect(opens.length).toBeGreaterThanOrEqual(3); // the start point, the stream, the driver's resume
    expect(opens.at(-1)!.stage.resumeAfter).toEqual(expect.objectContaining({ _data: expect.any(String) }));
    expect(await Promise.race([run.done, new Promise((r) => setTimeout(() => r("running"), 50))])).toBe("running");
  });

  it("a snapshot stopped mid-way resumes after the last checkpointed _id (across _id types), as a later attempt, then streams from the first start point", async () => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("mixed");
    const all: unknown[] = [];
    for (let i = 0; i < 80; i++) all.push(new Int32(i));
    for (let i = 0; i < 60; i++) all.push(`s${String(i).padStart(3, "0")}`);
    // dates sort after strings (the fake's $type knows no objectId, binData or timestamp: mingo's aliases only)
    for (let i = 0; i < 40; i++) all.push(new Date(Date.UTC(2020, 0, 1 + i)));
    await c.insertMany(all.map((id, i) => ({ _id: id as never, i: new Int32(i) })));
    const spec = rig.spec(["shop.mixed"], { snapshotBatchSize: 25 });
    run = runSource(source(spec));
    await eventually(() => run!.batches.some((b) => b.durable && b.position && !b.position.snapshot), 20_000, "the whole snapshot");
    const first = run.events();
    expect(first.map((e) => e.after!.i)).toEqual(all.map((_, i) => i));
    await run.stop();
    // the node died after its checkpoint of the 4th batch (100 documents: up to "s019"); it had published up to the 6th
    const checkpoint = run.batches.filter((b) => b.changes.length)[3]!.position!;
    expect(checkpoint.snapshot).toMatchObject({ attempt: 1, index: 0, lastId: "s019" });
    const tail = String(run.batches.filter((b) => b.changes.length)[5]!.changes.at(-1)!.pos);
    await c.insertOne({ _id: "zz-late" as never, i: new Int32(999) }); // between the start point and the restart; sorts after "s059"
    run = runSource(source(spec), checkpoint, tail);
    await eventually(() => run!.events().some((e) => e.op === "c"), 20_000, "the rest of the snapshot and the change");
    const again = run.events();
    const reads = again.filter((e) => e.op === "r");
    // from after "s019": the other 40 strings, the late one, then the dates (BSON order: numbers < strings < dates)
    expect(reads.map((e) => e.after!.i)).toEqual([...Array.from({ length: 40 }, (_, k) => 100 + k), 999, ...Array.from({ length: 40 }, (_, k) => 140 + k)]);
    expect(reads.every((e) => String(e.source.pos) > tail && /^00000001:s:0002:/.test(String(e.source.pos)))).toBe(true);
    // the stream starts at the FIRST attempt's point: the late insert comes again as a change (applied idempotently)
    expect(again.filter((e) => e.op === "c").map((e) => e.key._id)).toEqual(["zz-late"]);
    expect(String(again.at(-1)!.source.pos) > String(reads.at(-1)!.source.pos)).toBe(true);
  });

  it("a snapshot find failing with a retryable read error (HostUnreachable, no label) is retried by the driver: nothing stops", async () => {
    rig = await mongoRig();
    await rig.admin.db("shop").collection("orders").insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i as never })));
    rig.fake.failNext("find", { code: 6, codeName: "HostUnreachable" });
    run = runSource(source(rig.spec(["shop.orders"], { snapshotBatchSize: 10 })));
    await eventually(() => run!.events().length >= 30, 10_000, "the snapshot");
    expect(ids(run.events())).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(rig.fake.commandLog.filter((c) => c.name === "find").length).toBe(2);
    expect(await Promise.race([run.done, new Promise((r) => setTimeout(() => r("running"), 50))])).toBe("running");
  });

  it("history lost (286): a non-retryable error naming the stream and the way out; a re-snapshot then recovers", async () => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("orders");
    await c.insertMany([{ _id: 1 as never }, { _id: 2 as never }]);
    run = runSource(source(rig.spec(["shop.orders"]), "hist"));
    await eventually(() => run!.events().length >= 2, 10_000, "the snapshot");
    await c.insertOne({ _id: 3 as never });
    await eventually(() => run!.events().length >= 3, 10_000, "a change");
    await run.stop();
    const checkpoint = run.position()!;
    const tail = String(run.events().at(-1)!.source.pos);
    await c.insertOne({ _id: 4 as never });
    await c.deleteOne({ _id: 1 as never });
    rig.fake.truncateHistory();
    run = runSource(source(rig.spec(["shop.orders"]), "hist"), checkpoint, tail);
    const err = await run.done;
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: "SOURCE_INVALID", retryable: false });
    expect((err as Error).message).toMatch(/stream hist: .*ChangeStreamHistoryLost, 286.*POST \/v1\/streams\/hist\/snapshot/);
    // POST /v1/streams/hist/snapshot clears the position: the next reader starts without one, after the stream's tail
    run = runSource(source(rig.spec(["shop.orders"]), "hist"), null, tail);
    await eventually(() => run!.events().filter((e) => e.op === "r").length >= 3, 10_000, "the new snapshot");
    await c.insertOne({ _id: 5 as never });
    await eventually(() => run!.events().some((e) => e.op === "c"), 10_000, "a change after it");
    const e = run.events();
    expect(e.map((x) => [x.op, x.key._id])).toEqual([["r", 2], ["r", 3], ["r", 4], ["c", 5]]);
    expect(e.every((x) => String(x.source.pos) > tail && String(x.source.pos).startsWith("00000002:"))).toBe(true);
  });

  it("a dropped collection stops the stream with the way out", async () => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("orders");
    await c.insertOne({ _id: 1 as never });
    run = runSource(source(rig.spec(["shop.orders"], { snapshot: "never" }), "drops"));
    await run.ready;
    rig.fake.dropCollection("shop.orders");
    const err = await run.done;
    expect(err).toMatchObject({ code: "SOURCE_INVALID", retryable: false });
    expect((err as Error).message).toMatch(/stream drops: collection shop\.orders was dropped; .*POST \/v1\/streams\/drops\/snapshot/);
  });

  it("a cursor the server closed after an invalidate the pipeline filtered out (compat cosmos) stops the stream instead of spinning", async () => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("orders");
    await c.insertOne({ _id: 1 as never });
    run = runSource(source(rig.spec(["shop.orders"], { snapshot: "never", compat: "cosmos" }), "closed"));
    await run.ready;
    rig.fake.dropCollection("shop.orders");
    const err = await run.done;
    expect(err).toMatchObject({ code: "SOURCE_INVALID", retryable: false });
    expect((err as Error).message).toMatch(/stream closed: the server closed the change stream .*POST \/v1\/streams\/closed\/snapshot/);
  });

  it("compat cosmos: the pipeline Cosmos DB for MongoDB requires; inserts and updates as op u, deletes not delivered", async () => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("orders");
    await c.insertOne({ _id: 1 as never, v: "a" });
    run = runSource(source(rig.spec(["shop.orders"], { compat: "cosmos" })));
    await eventually(() => run!.events().length >= 1, 10_000, "the snapshot");
    await c.insertOne({ _id: 2 as never, v: "b" });
    await c.updateOne({ _id: 1 as never }, { $set: { v: "a2" } });
    await c.deleteOne({ _id: 2 as never });
    await c.insertOne({ _id: 3 as never, v: "c" });
    await eventually(() => run!.events().length >= 4, 10_000, "the changes");
    await new Promise((r) => setTimeout(r, 300));
    expect(run.events().map((e) => [e.op, e.key._id, e.before, e.after])).toEqual([
      ["r", 1, null, { _id: 1, v: "a" }],
      ["u", 2, null, { _id: 2, v: "b" }],
      ["u", 1, null, { _id: 1, v: "a2" }],
      ["u", 3, null, { _id: 3, v: "c" }],
    ]);
    const opens = rig.changeStreamOpens();
    expect(opens.length).toBe(2);
    for (const o of opens) {
      expect(o.stage).toMatchObject({ fullDocument: "updateLookup" });
      expect(o.stage.fullDocumentBeforeChange).toBeUndefined();
      expect(o.pipeline).toEqual(COSMOS_STAGES);
    }
    expect(run.events().slice(1).every((e) => /^00000001:u:0000000001:\d{12}$/.test(String(e.source.pos)))).toBe(true);
  });

  it("pre-images: before is the document before the change; required without them enabled is refused by name", async () => {
    rig = await mongoRig();
    const db = rig.admin.db("shop");
    await db.createCollection("imaged", { changeStreamPreAndPostImages: { enabled: true } });
    run = runSource(source(rig.spec(["shop.imaged"], { snapshot: "never", preImages: "whenAvailable" })));
    await run.ready;
    await db.collection("imaged").insertOne({ _id: 1 as never, v: new Int32(1) });
    await db.collection("imaged").updateOne({ _id: 1 as never }, { $set: { v: new Int32(2) } });
    await db.collection("imaged").deleteOne({ _id: 1 as never });
    await eventually(() => run!.events().length >= 3, 10_000, "three changes");
    expect(run.events().map((e) => [e.op, e.before, e.after])).toEqual([
      ["c", null, { _id: 1, v: 1 }],
      ["u", { _id: 1, v: 1 }, { _id: 1, v: 2 }],
      ["d", { _id: 1, v: 2 }, null],
    ]);
    expect(rig.changeStreamOpens().at(-1)!.stage.fullDocumentBeforeChange).toBe("whenAvailable");
    await run.stop();

    run = runSource(source(rig.spec(["shop.plain"], { snapshot: "never", preImages: "required" }), "req"));
    await run.ready;
    await db.collection("plain").insertOne({ _id: 1 as never });
    await db.collection("plain").updateOne({ _id: 1 as never }, { $set: { v: 1 } });
    expect((await run.done) as Error).toMatchObject({ code: "SOURCE_INVALID", message: expect.stringMatching(/stream req: .*no pre-image \(preImages: required\): enable changeStreamPreAndPostImages/) });
  });

  it("collections of two databases: one cluster-wide stream with a $match on the namespace; db.* snapshots every collection; a transaction's changes carry its txId", async () => {
    rig = await mongoRig();
    const a = rig.admin.db("a");
    const b = rig.admin.db("b");
    await a.collection("x").insertOne({ _id: "ax" as never });
    await a.collection("skip").insertOne({ _id: "askip" as never });
    await b.collection("y").insertOne({ _id: "by" as never });
    await b.collection("z").insertOne({ _id: "bz" as never });
    run = runSource(source(rig.spec(["a.x", "b.*"])));
    await eventually(() => run!.events().length >= 3, 10_000, "the snapshot");
    expect(run.batches[0]!.position!.snapshot!.collections).toEqual(["a.x", "b.y", "b.z"]);
    await a.collection("skip").insertOne({ _id: "askip2" as never });
    const session = rig.admin.startSession();
    await session.withTransaction(async () => {
      await a.collection("x").insertOne({ _id: "ax2" as never }, { session });
      await b.collection("new").insertOne({ _id: "bnew" as never }, { session });
    });
    await session.endSession();
    await eventually(() => run!.events().length >= 5, 10_000, "the changes");
    await new Promise((r) => setTimeout(r, 300));
    const e = run.events();
    expect(e.map((x) => `${x.op} ${x.source.db}.${x.source.table} ${String(x.key._id)}`)).toEqual(["r a.x ax", "r b.y by", "r b.z bz", "c a.x ax2", "c b.new bnew"]);
    expect(e[3]!.source.txId).toMatch(/^[0-9a-f]{32}:\d+$/);
    expect(e[4]!.source.txId).toBe(e[3]!.source.txId);
    const open = rig.changeStreamOpens().at(-1)!;
    expect([open.db, open.aggregate, open.stage.allChangesForCluster]).toEqual(["admin", 1, true]);
  });
});
