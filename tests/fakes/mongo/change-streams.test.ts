/**
 * Change streams on the fake MongoDB server through the real driver's watch(): event shapes
 * and updateDescription, fullDocument and fullDocumentBeforeChange modes, scopes, resume
 * options, the postBatchResumeToken of an idle stream, a Cosmos-style pipeline, and volume.
 */
import { MongoServerError, type ChangeStreamDocument, type Document, type ResumeToken } from "mongodb";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { eventually } from "../../support/index.js";
import { changeStreamOpens, startFake, take, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup;
beforeEach(async () => {
  setup = await startFake();
});
afterEach(async () => {
  await setup.close();
});

type Ev = ChangeStreamDocument & Document;
const db = () => setup.client.db("cs");
const coll = (name = "orders") => db().collection<Row>(name);
const fast = { maxAwaitTimeMS: 50 } as const;
const data = (t: unknown): string => (t as { _data: string })._data;

describe("events", () => {
  test("insert, update, replace and delete with mongod's shapes; a no-op update emits nothing", async () => {
    const cs = coll().watch([], fast);
    expect(await cs.tryNext()).toBeNull();
    await coll().insertOne({ _id: 1, a: 1, b: { c: 1 }, arr: [1, 2], rm: 1 });
    // (cast: the driver's $push typing rejects index-signature schemas)
    await coll().updateOne({ _id: 1 }, { $set: { "b.c": 2, "x.y": 1 }, $unset: { rm: "" }, $push: { arr: 3 }, $inc: { a: 1 } } as Document);
    await coll().updateOne({ _id: 1 }, { $set: { a: 2 } });
    await coll().replaceOne({ _id: 1 }, { z: 1 });
    await coll().deleteOne({ _id: 1 });
    const [ins, upd, rep, del] = (await take(cs, 4)) as Ev[];
    expect(ins).toMatchObject({ operationType: "insert", ns: { db: "cs", coll: "orders" }, documentKey: { _id: 1 }, fullDocument: { _id: 1, a: 1, b: { c: 1 }, arr: [1, 2], rm: 1 } });
    expect(upd?.operationType).toBe("update");
    expect(upd?.updateDescription).toEqual({ updatedFields: { "b.c": 2, x: { y: 1 }, "arr.2": 3, a: 2 }, removedFields: ["rm"], truncatedArrays: [] });
    expect("fullDocument" in (upd ?? {})).toBe(false);
    expect(rep).toMatchObject({ operationType: "replace", fullDocument: { _id: 1, z: 1 }, documentKey: { _id: 1 } });
    expect(del).toMatchObject({ operationType: "delete", documentKey: { _id: 1 } });
    expect("fullDocument" in (del ?? {})).toBe(false);
    for (const e of [ins, upd, rep, del]) expect(e?.wallTime).toBeInstanceOf(Date);
    const tokens = [ins, upd, rep, del].map((e) => data(e?._id));
    expect([...tokens].sort()).toEqual(tokens);
    expect(new Set(tokens).size).toBe(4);
    expect(await cs.tryNext()).toBeNull();
    await cs.close();
  });

  test("a pipeline update is described by a diff, with truncatedArrays for shortened arrays", async () => {
    const cs = coll().watch([], fast);
    await cs.tryNext();
    await coll().insertOne({ _id: 1, arr: [1, 2, 3, 4], sub: { keep: 1, drop: 2, list: [{ a: 1 }, { a: 2 }] }, gone: true });
    await coll().updateOne({ _id: 1 }, [
      { $set: { arr: { $slice: ["$arr", 2] }, "sub.list": [{ a: 1 }, { a: 5 }, { a: 6 }], added: "x" } },
      { $unset: ["gone", "sub.drop"] },
    ]);
    const [, upd] = (await take(cs, 2)) as Ev[];
    expect(upd?.operationType).toBe("update");
    expect(upd?.updateDescription).toEqual({
      updatedFields: { "sub.list.1.a": 5, "sub.list.2": { a: 6 }, added: "x" },
      removedFields: ["gone", "sub.drop"],
      truncatedArrays: [{ field: "arr", newSize: 2 }],
    });
    await cs.close();
  });

  test("fullDocument: updateLookup returns the document as it is when the event is read", async () => {
    const cs = coll().watch([], { ...fast, fullDocument: "updateLookup" });
    await cs.tryNext();
    await coll().insertOne({ _id: 1, v: 0 });
    await coll().updateOne({ _id: 1 }, { $set: { v: 1 } });
    await coll().updateOne({ _id: 1 }, { $set: { v: 2 } });
    const [, u1, u2] = (await take(cs, 3)) as Ev[];
    expect(u1?.fullDocument).toEqual({ _id: 1, v: 2 });
    expect(u2?.fullDocument).toEqual({ _id: 1, v: 2 });
    await coll().updateOne({ _id: 1 }, { $set: { v: 3 } });
    await coll().deleteOne({ _id: 1 });
    const [u3] = (await take(cs, 1)) as Ev[];
    expect(u3?.fullDocument).toBeNull();
    await cs.close();
  });

  test("post- and pre-images only with changeStreamPreAndPostImages; 'required' without them fails with 47", async () => {
    await db().createCollection("imaged", { changeStreamPreAndPostImages: { enabled: true } });
    const opts = { ...fast, fullDocument: "whenAvailable", fullDocumentBeforeChange: "whenAvailable" } as const;
    const withImages = coll("imaged").watch([], opts);
    const without = coll("plain").watch([], opts);
    const required = coll("plain").watch([], { ...fast, fullDocumentBeforeChange: "required" });
    const off = coll("plain").watch([], fast);
    for (const cs of [withImages, without, required, off]) await cs.tryNext();
    for (const name of ["imaged", "plain"]) {
      await coll(name).insertOne({ _id: 1, v: 1 });
      await coll(name).updateOne({ _id: 1 }, { $set: { v: 2 } });
      await coll(name).updateOne({ _id: 1 }, { $set: { v: 3 } });
      await coll(name).replaceOne({ _id: 1 }, { v: 4 });
      await coll(name).deleteOne({ _id: 1 });
    }
    const imaged = (await take(withImages, 5)) as Ev[];
    expect("fullDocumentBeforeChange" in (imaged[0] ?? {})).toBe(false);
    expect(imaged.slice(1, 3).map((e) => e.fullDocument)).toEqual([{ _id: 1, v: 2 }, { _id: 1, v: 3 }]);
    expect(imaged.slice(1).map((e) => e.fullDocumentBeforeChange)).toEqual([{ _id: 1, v: 1 }, { _id: 1, v: 2 }, { _id: 1, v: 3 }, { _id: 1, v: 4 }]);
    const plain = (await take(without, 5)) as Ev[];
    expect(plain.slice(1, 3).map((e) => e.fullDocument)).toEqual([null, null]);
    expect(plain.slice(1).map((e) => e.fullDocumentBeforeChange)).toEqual([null, null, null, null]);
    expect("fullDocumentBeforeChange" in ((await take(off, 2))[1] ?? {})).toBe(false);
    // The whole getMore fails, like mongod's: the insert before the update is not returned either.
    const err = (await required.next().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(47);
    expect(err.message).toContain("pre-image was not available");
    const post = coll("plain").watch([], { ...fast, fullDocument: "required", startAfter: plain[0]?._id as ResumeToken });
    expect(((await post.next().catch((e: unknown) => e)) as MongoServerError).code).toBe(47);
    for (const cs of [withImages, without, required, off, post]) await cs.close();
  });
});

describe("scopes and start positions", () => {
  test("database and cluster streams see their scope only", async () => {
    const dbStream = db().watch([], fast);
    const clusterStream = setup.client.watch([], fast);
    await dbStream.tryNext();
    await clusterStream.tryNext();
    await coll("a").insertOne({ _id: "a" });
    await setup.client.db("elsewhere").collection<Row>("x").insertOne({ _id: "x" });
    await coll("b").insertOne({ _id: "b" });
    expect(((await take(dbStream, 2)) as Ev[]).map((e) => `${e.ns.db}.${e.ns.coll}`)).toEqual(["cs.a", "cs.b"]);
    expect(((await take(clusterStream, 3)) as Ev[]).map((e) => `${e.ns.db}.${e.ns.coll}`)).toEqual(["cs.a", "elsewhere.x", "cs.b"]);
    const opens = setup.fake.commandLog.filter((c) => c.name === "aggregate").map((c) => ({ db: c.db, agg: String(c.body.aggregate) }));
    expect(opens).toEqual([{ db: "cs", agg: "1" }, { db: "admin", agg: "1" }]);
    expect(changeStreamOpens(setup.fake)[1]).toMatchObject({ allChangesForCluster: true });
    await Promise.all([dbStream.close(), clusterStream.close()]);
  });

  test("resumeAfter, startAfter and startAtOperationTime start at the right event", async () => {
    const cs = coll().watch([], fast);
    await cs.tryNext();
    await coll().insertMany([1, 2, 3, 4, 5].map((i) => ({ _id: i })));
    const [, e2] = (await take(cs, 5)) as Ev[];
    await cs.close();
    const ids = async (opts: Document): Promise<unknown[]> => {
      const s = coll().watch([], { ...fast, ...opts });
      const got = ((await take(s, 5 - (opts.startAtOperationTime ? 1 : 2))) as Ev[]).map((e) => e.documentKey?._id);
      await s.close();
      return got;
    };
    expect(await ids({ resumeAfter: e2?._id })).toEqual([3, 4, 5]);
    expect(await ids({ startAfter: e2?._id })).toEqual([3, 4, 5]);
    expect(await ids({ startAtOperationTime: e2?.clusterTime })).toEqual([2, 3, 4, 5]);
    expect(changeStreamOpens(setup.fake).slice(1)).toEqual([{ resumeAfter: e2?._id }, { startAfter: e2?._id }, { startAtOperationTime: e2?.clusterTime }]);
  });

  test("an idle stream's resume token advances past changes outside its scope", async () => {
    const cs = coll("watched").watch([], fast);
    expect(await cs.tryNext()).toBeNull();
    const t1 = data(cs.resumeToken);
    await coll("other").insertMany([{ n: 1 }, { n: 2 }]);
    expect(await cs.tryNext()).toBeNull();
    const t2 = data(cs.resumeToken);
    expect(t2 > t1).toBe(true);
    await cs.close();
    await coll("watched").insertOne({ _id: "next" });
    const resumed = coll("watched").watch([], { ...fast, resumeAfter: { _data: t2 } });
    expect(((await take(resumed, 1)) as Ev[])[0]?.documentKey).toEqual({ _id: "next" });
    expect(data(resumed.resumeToken) > t2).toBe(true);
    await resumed.close();
  });

  test("a getMore waiting on an idle stream returns with the first event written, not at maxAwaitTimeMS", { timeout: 30_000 }, async () => {
    const cs = coll().watch([], { maxAwaitTimeMS: 100_000 });
    const pending = cs.next();
    await eventually(() => setup.fake.commandLog.some((c) => c.name === "getMore"), 10_000, "the waiting getMore");
    await coll().insertOne({ _id: "wake" });
    expect(((await pending) as Ev).documentKey).toEqual({ _id: "wake" });
    // One getMore: it was woken by the insert; a timed-out one would have been followed by another.
    expect(setup.fake.commandLog.filter((c) => c.name === "getMore")).toHaveLength(1);
    await cs.close();
  });
});

describe("pipelines and volume", () => {
  test("Cosmos-style $match on operationType and $project keep only the listed fields", async () => {
    const cs = coll().watch(
      [{ $match: { operationType: { $in: ["insert", "update", "replace"] } } }, { $project: { _id: 1, fullDocument: 1, ns: 1, documentKey: 1 } }],
      { ...fast, fullDocument: "updateLookup" },
    );
    await cs.tryNext();
    await coll().insertOne({ _id: 1, v: 1 });
    await coll().deleteOne({ _id: 1 });
    await coll().insertOne({ _id: 2, v: 1 });
    await coll().updateOne({ _id: 2 }, { $set: { v: 2 } });
    await coll().replaceOne({ _id: 2 }, { v: 3 });
    const events = (await take(cs, 4)) as Document[];
    for (const e of events) expect(Object.keys(e).sort()).toEqual(["_id", "documentKey", "fullDocument", "ns"]);
    // Inserts carry the inserted document; the update's lookup sees the later replacement.
    expect(events.map((e) => e.fullDocument)).toEqual([{ _id: 1, v: 1 }, { _id: 2, v: 1 }, { _id: 2, v: 3 }, { _id: 2, v: 3 }]);
    await cs.close();
  });

  test("thousands of events arrive in order through getMore batches", async () => {
    const cs = coll().watch([], { ...fast, batchSize: 500 });
    await cs.tryNext();
    const total = 5000;
    for (let i = 0; i < total; i += 1000) {
      await coll().insertMany(Array.from({ length: 1000 }, (_, j) => ({ _id: i + j, pad: "x".repeat(50) })));
    }
    const got = ((await take(cs, total)) as Ev[]).map((e) => e.documentKey?._id);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(setup.fake.commandLog.filter((c) => c.name === "getMore").length).toBeGreaterThanOrEqual(total / 500);
    await cs.close();
  });
});
