/**
 * Transactions on the fake MongoDB server through the driver's sessions: atomic commit with
 * grouped change events, abort, isolation, bulkWrite in a transaction, discard on connection
 * loss, write conflicts that withTransaction retries, and retryable writes.
 */
import { MongoError, MongoServerError, type ChangeStreamDocument, type Document } from "mongodb";
import { afterEach, beforeEach, expect, test } from "vitest";
import { startFake, take, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup;
beforeEach(async () => {
  setup = await startFake();
});
afterEach(async () => {
  await setup.close();
});

const coll = () => setup.client.db("tx").collection<Row>("orders");

test("withTransaction commits atomically; the events come together with one clusterTime, lsid and txnNumber", async () => {
  await coll().insertOne({ _id: 0, state: "before" });
  const cs = coll().watch([], { maxAwaitTimeMS: 50 });
  expect(await cs.tryNext()).toBeNull();
  const other = await setup.connect();
  const session = setup.client.startSession();
  await session.withTransaction(async () => {
    await coll().insertOne({ _id: 1, v: 1 }, { session });
    await coll().insertOne({ _id: 2, v: 2 }, { session });
    await coll().updateOne({ _id: 1 }, { $set: { v: 10 } }, { session });
    await coll().deleteOne({ _id: 0 }, { session });
    // The transaction reads its own writes; nobody else sees them before the commit.
    expect(await coll().find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([{ _id: 1, v: 10 }, { _id: 2, v: 2 }]);
    expect(await other.db("tx").collection<Row>("orders").find().toArray()).toEqual([{ _id: 0, state: "before" }]);
  });
  await session.endSession();
  expect(await coll().find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1, v: 10 }, { _id: 2, v: 2 }]);
  const events = (await take(cs, 4)) as Array<ChangeStreamDocument & Document>;
  expect(events.map((e) => e.operationType)).toEqual(["insert", "insert", "update", "delete"]);
  const [first] = events;
  for (const e of events) {
    expect(e.clusterTime).toEqual(first?.clusterTime);
    expect(e.txnNumber).toEqual(first?.txnNumber);
    expect(e.lsid?.id).toEqual(session.id?.id);
  }
  expect(events[2]?.updateDescription).toEqual({ updatedFields: { v: 10 }, removedFields: [], truncatedArrays: [] });
  await cs.close();
});

test("abortTransaction and a throwing callback leave no documents and no events", async () => {
  const cs = coll().watch([], { maxAwaitTimeMS: 50 });
  expect(await cs.tryNext()).toBeNull();
  const session = setup.client.startSession();
  session.startTransaction();
  await coll().insertOne({ _id: "aborted" }, { session });
  await session.abortTransaction();
  const thrown = await session
    .withTransaction(async () => {
      await coll().insertOne({ _id: "thrown" }, { session });
      throw new Error("callback failed");
    })
    .catch((e: unknown) => e);
  expect((thrown as Error).message).toBe("callback failed");
  await session.endSession();
  await coll().insertOne({ _id: "marker" });
  expect(await coll().find().toArray()).toEqual([{ _id: "marker" }]);
  const [ev] = await take(cs, 1);
  expect(ev).toMatchObject({ operationType: "insert", documentKey: { _id: "marker" } });
  await cs.close();
});

test("bulkWrite with upserts and deletes inside withTransaction", async () => {
  await coll().insertMany([{ _id: 1, v: 1 }, { _id: 2, v: 2 }]);
  const session = setup.client.startSession();
  const result = await session.withTransaction(() =>
    coll().bulkWrite(
      [
        { updateOne: { filter: { _id: 1 }, update: { $set: { v: 11 } }, upsert: true } },
        { updateOne: { filter: { _id: 3 }, update: { $set: { v: 3 } }, upsert: true } },
        { replaceOne: { filter: { _id: 4 }, replacement: { v: 4 }, upsert: true } },
        { deleteOne: { filter: { _id: 2 } } },
      ],
      { session, ordered: true },
    ),
  );
  await session.endSession();
  expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 2, deletedCount: 1 });
  expect(await coll().find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1, v: 11 }, { _id: 3, v: 3 }, { _id: 4, v: 4 }]);
});

test("an open transaction is discarded when its connection closes", async () => {
  const session = setup.client.startSession();
  session.startTransaction();
  await coll().insertOne({ _id: "lost" }, { session });
  expect(setup.fake.stats.openTransactions).toBe(1);
  setup.fake.closeAllConnections();
  expect(setup.fake.stats.openTransactions).toBe(0);
  await expect(session.commitTransaction()).rejects.toBeInstanceOf(MongoError);
  await session.endSession();
  expect(await coll().countDocuments({ _id: "lost" })).toBe(0);
});

test("two transactions writing one document conflict (TransientTransactionError); withTransaction retries", async () => {
  await coll().insertOne({ _id: 1, n: 0 });
  const s1 = setup.client.startSession();
  const s2 = setup.client.startSession();
  s1.startTransaction();
  s2.startTransaction();
  await coll().updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s1 });
  const err = (await coll().updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s2 }).catch((e: unknown) => e)) as MongoServerError;
  expect(err.code).toBe(112);
  expect(err.hasErrorLabel("TransientTransactionError")).toBe(true);
  await s1.commitTransaction();
  await s2.abortTransaction();

  // A write outside the transaction makes the commit fail the same way.
  s1.startTransaction();
  await coll().updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s1 });
  await coll().updateOne({ _id: 1 }, { $set: { outside: true } });
  const commitErr = (await s1.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
  expect(commitErr.code).toBe(112);
  expect(commitErr.hasErrorLabel("TransientTransactionError")).toBe(true);

  // withTransaction retries on the label until both increments are in.
  await Promise.all(
    [s1, s2].map((s) => s.withTransaction(async () => void (await coll().updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session: s })))),
  );
  await Promise.all([s1.endSession(), s2.endSession()]);
  expect(await coll().findOne({ _id: 1 })).toEqual({ _id: 1, n: 3, outside: true });
});

test("a write retried after a lost reply is not applied twice (same lsid and txnNumber replay the first reply)", async () => {
  setup.fake.failNext("insert", "close");
  await coll().insertOne({ _id: "once" });
  setup.fake.failNext("insert", "executeThenClose");
  const r = await coll().insertOne({ _id: "twice?" });
  expect(r.acknowledged).toBe(true);
  expect(await coll().countDocuments()).toBe(2);
  const inserts = setup.fake.commandLog.filter((c) => c.name === "insert");
  expect(inserts).toHaveLength(4);
  expect(inserts[1]?.body.txnNumber).toEqual(inserts[0]?.body.txnNumber);
  expect(inserts[3]?.body.txnNumber).toEqual(inserts[2]?.body.txnNumber);
});
