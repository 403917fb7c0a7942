// The MongoDB source adapter against the fake server and the real `mongodb` driver, without
// the kernel: snapshot then stream, positions, idle advance, resumable faults, a resumed
// snapshot, history lost and re-snapshot, invalidate, compat cosmos, pre-images.
import { afterEach, describe, expect, it } from "vitest";
import { Decimal128, Int32, Long, ObjectId } from "mongodb";
import { MongoSource, type MongoPosition, type MongoSourceSpec } from "../src/connectors/mongodb/index.js";
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
});
