/**
 * The fake MongoDB server answers the real driver's CRUD API like mongod: _id handling,
 * duplicate keys with ordered/unordered semantics, update operators, upserts, bulkWrite,
 * find options (sort, skip, limit, projection, batchSize with getMore) and aggregates.
 */
import { Double, Int32, MongoBulkWriteError, MongoServerError, ObjectId, type Document } from "mongodb";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { startFake, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup;
beforeEach(async () => {
  setup = await startFake();
});
afterEach(async () => {
  await setup.close();
});

const coll = (name = "items") => setup.client.db("shop").collection<Row>(name);

describe("ids and inserts", () => {
  test("_id of any type is kept as written; a numeric _id stays a number", async () => {
    const oid = new ObjectId();
    await coll().insertMany([{ _id: 1, k: "num" }, { _id: "s", k: "str" }, { _id: { a: 1, b: "x" }, k: "doc" }, { _id: oid, k: "oid" }]);
    expect(await coll().findOne({ _id: 1 })).toEqual({ _id: 1, k: "num" });
    expect(await coll().findOne({ _id: "s" })).toEqual({ _id: "s", k: "str" });
    expect(await coll().findOne({ _id: { a: 1, b: "x" } })).toEqual({ _id: { a: 1, b: "x" }, k: "doc" });
    // A second ObjectId instance with the same hex must match (mingo compares by value).
    expect((await coll().findOne({ _id: new ObjectId(oid.toHexString()) }))?.k).toBe("oid");
    const generated = await coll().insertOne({ k: "gen" });
    expect(generated.insertedId).toBeInstanceOf(ObjectId);
    const stored = await coll().findOne({ k: "gen" });
    expect(Object.keys(stored ?? {})[0]).toBe("_id");
  });

  test("duplicate _id: code 11000 with the statement index; ordered stops, unordered goes on", async () => {
    await coll().insertOne({ _id: 1 });
    const single = await coll().insertOne({ _id: 1 }).catch((e: unknown) => e);
    expect(single).toBeInstanceOf(MongoServerError);
    expect((single as MongoServerError).code).toBe(11000);
    expect((single as MongoServerError).message).toContain("E11000 duplicate key error collection: shop.items index: _id_ dup key: { _id: 1 }");

    const ordered = (await coll().insertMany([{ _id: 2 }, { _id: 1 }, { _id: 3 }]).catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    expect(ordered.writeErrors).toMatchObject([{ index: 1, code: 11000 }]);
    expect(ordered.insertedCount).toBe(1);
    expect(await coll().countDocuments({ _id: 3 })).toBe(0);

    const unordered = (await coll().insertMany([{ _id: 1 }, { _id: 4 }, { _id: 2 }, { _id: 5 }], { ordered: false }).catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(unordered.writeErrors).toMatchObject([{ index: 0, code: 11000 }, { index: 2, code: 11000 }]);
    expect(unordered.insertedCount).toBe(2);
    expect(await coll().countDocuments()).toBe(4);
  });

  test("_id 1 and 1.0 are the same key, like mongod's _id index", async () => {
    await coll().insertOne({ _id: 1 });
    const err = (await coll().insertOne({ _id: 1.0 } as Document).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
  });
});

describe("updates", () => {
  test("operators $set/$unset/$inc/$push/$setOnInsert with matched and modified counts", async () => {
    await coll().insertOne({ _id: 1, a: 1, b: { c: 2 }, tags: ["x"], gone: true });
    const r = await coll().updateOne({ _id: 1 }, { $set: { "b.c": 3, "n.m": 1 }, $unset: { gone: "" }, $inc: { a: 5 }, $push: { tags: "y" }, $setOnInsert: { never: 1 } } as Document);
    expect(r).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect(await coll().findOne({ _id: 1 })).toEqual({ _id: 1, a: 6, b: { c: 3 }, tags: ["x", "y"], n: { m: 1 } });
    const noop = await coll().updateOne({ _id: 1 }, { $set: { a: 6 } });
    expect(noop).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
  });

  test("upsert seeds the document from the query's equality fields and applies $setOnInsert", async () => {
    const r = await coll().updateOne({ _id: 7, kind: "k" }, { $set: { v: 1 }, $setOnInsert: { created: true } }, { upsert: true });
    expect(r).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1, upsertedId: 7 });
    expect(await coll().findOne({ _id: 7 })).toEqual({ _id: 7, kind: "k", v: 1, created: true });
    const again = await coll().updateOne({ _id: 7, kind: "k" }, { $set: { v: 2 }, $setOnInsert: { created: false } }, { upsert: true });
    expect(again).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect(await coll().findOne({ _id: 7 })).toEqual({ _id: 7, kind: "k", v: 2, created: true });
    const rep = await coll().replaceOne({ _id: 8 }, { v: 3 }, { upsert: true });
    expect(rep.upsertedId).toBe(8);
    expect(await coll().findOne({ _id: 8 })).toEqual({ _id: 8, v: 3 });
  });

  test("updateMany, replaceOne, deleteOne/deleteMany and findOneAndUpdate", async () => {
    await coll().insertMany([1, 2, 3, 4, 5].map((i) => ({ _id: i, g: i % 2, v: 0 })));
    expect(await coll().updateMany({ g: 1 }, { $inc: { v: 1 } })).toMatchObject({ matchedCount: 3, modifiedCount: 3 });
    await coll().replaceOne({ _id: 2 }, { replaced: true });
    expect(await coll().findOne({ _id: 2 })).toEqual({ _id: 2, replaced: true });
    const changed = (await coll().replaceOne({ _id: 2 }, { _id: 99 }).catch((e: unknown) => e)) as MongoServerError;
    expect(changed.code).toBe(66);
    expect((await coll().deleteOne({ g: 1 })).deletedCount).toBe(1);
    expect((await coll().deleteMany({ g: 1 })).deletedCount).toBe(2);
    const before = await coll().findOneAndUpdate({ _id: 4 }, { $set: { v: 9 } }, { returnDocument: "before" });
    expect(before).toEqual({ _id: 4, g: 0, v: 0 });
    const after = await coll().findOneAndUpdate({ _id: 4 }, { $inc: { v: 1 } }, { returnDocument: "after" });
    expect(after).toEqual({ _id: 4, g: 0, v: 10 });
    expect(await coll().find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 2, replaced: true }, { _id: 4, g: 0, v: 10 }]);
  });

  test("pipeline-style updates: a conditional 'only if newer' write, upsert, and untouched fields keep their BSON types", async () => {
    const newer = (v: number, data: string) => [
      { $replaceWith: { $cond: [{ $gte: [{ $ifNull: ["$v", -1] }, v] }, "$$ROOT", { _id: "$_id", v, data }] } },
    ];
    expect(await coll().updateOne({ _id: 1 }, newer(2, "two"), { upsert: true })).toMatchObject({ upsertedCount: 1 });
    expect(await coll().updateOne({ _id: 1 }, newer(1, "stale"), { upsert: true })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect(await coll().updateOne({ _id: 1 }, newer(3, "three"), { upsert: true })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll().findOne({ _id: 1 })).toEqual({ _id: 1, v: 3, data: "three" });
    const exact = setup.client.db("shop").collection<Row>("items", { promoteValues: false });
    await exact.insertOne({ _id: 2, d: new Double(1), n: 1 });
    await coll().updateOne({ _id: 2 }, [{ $set: { n: { $add: ["$n", 1] } } }]);
    expect(await exact.findOne({ _id: 2 })).toEqual({ _id: new Int32(2), d: new Double(1), n: new Int32(2) });
  });

  test("ordered bulkWrite with upserts, updates, replaces and deletes", async () => {
    await coll().insertMany([{ _id: 1, v: 1 }, { _id: 2, v: 2 }]);
    const r = await coll().bulkWrite(
      [
        { insertOne: { document: { _id: 3, v: 3 } } },
        { updateOne: { filter: { _id: 1 }, update: { $set: { v: 10 } } } },
        { updateOne: { filter: { _id: 4 }, update: { $set: { v: 4 } }, upsert: true } },
        { replaceOne: { filter: { _id: 5 }, replacement: { v: 5 }, upsert: true } },
        { deleteOne: { filter: { _id: 2 } } },
        { updateMany: { filter: { v: { $gte: 4 } }, update: { $inc: { v: 100 } } } },
        { deleteMany: { filter: { _id: { $in: [3, 42] } } } },
      ],
      { ordered: true },
    );
    // updateMany matches _id 1 (v 10), 4 and 5.
    expect(r).toMatchObject({ insertedCount: 1, matchedCount: 4, modifiedCount: 4, deletedCount: 2, upsertedCount: 2 });
    expect(r.upsertedIds).toEqual({ 2: 4, 3: 5 });
    expect(await coll().find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1, v: 110 }, { _id: 4, v: 104 }, { _id: 5, v: 105 }]);
  });
});

describe("reads", () => {
  test("filter, sort, skip, limit and projection", async () => {
    await coll().insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, n: i % 5, name: `n${i}`, extra: i })));
    const docs = await coll().find({ n: { $in: [1, 2] } }, { projection: { name: 1 } }).sort({ n: -1, _id: 1 }).skip(1).limit(3).toArray();
    expect(docs).toEqual([{ _id: 7, name: "n7" }, { _id: 12, name: "n12" }, { _id: 17, name: "n17" }]);
    expect(await coll().find({}, { projection: { _id: 0, extra: 1 } }).limit(2).toArray()).toEqual([{ extra: 0 }, { extra: 1 }]);
    expect(await coll().distinct("n")).toEqual([0, 1, 2, 3, 4]);
    expect(await coll().estimatedDocumentCount()).toBe(20);
    expect(await coll().countDocuments({ n: 0 })).toBe(4);
  });

  test("batchSize makes the driver page with getMore until the Long cursor id is 0", async () => {
    await coll().insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i })));
    setup.fake.clearCommandLog();
    const ids = (await coll().find({}, { batchSize: 7 }).toArray()).map((d) => d._id as number);
    expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(setup.fake.commandLog.filter((c) => c.name === "getMore").length).toBe(Math.ceil(250 / 7) - 1);
    expect(setup.fake.stats.openCursors).toBe(0);
  });

  test("aggregate with $match/$group/$sort through mingo", async () => {
    await coll().insertMany([{ k: "a", v: 1 }, { k: "b", v: 2 }, { k: "a", v: 3 }]);
    const r = await coll().aggregate([{ $match: { v: { $gt: 0 } } }, { $group: { _id: "$k", total: { $sum: "$v" } } }, { $sort: { _id: 1 } }]).toArray();
    expect(r).toEqual([{ _id: "a", total: 4 }, { _id: "b", total: 2 }]);
    // A $set of a nested path in an aggregate must not leak into the stored documents.
    await coll("nested").insertOne({ _id: 1, sub: { a: 1 } });
    expect(await coll("nested").aggregate([{ $set: { "sub.b": 2 } }]).toArray()).toEqual([{ _id: 1, sub: { a: 1, b: 2 } }]);
    expect(await coll("nested").findOne({ "sub.b": { $exists: true } })).toBeNull();
  });
});
