/**
 * Failure behaviour of change streams on the fake MongoDB server, seen through the real driver:
 * resumable errors and dropped connections are resumed with no lost or repeated event, other
 * errors reach the caller, lost history is ChangeStreamHistoryLost (286), and drop / rename /
 * dropDatabase end streams with invalidate.
 */
import { MongoServerError, type ChangeStream, type ChangeStreamDocument, type Document, type ResumeToken } from "mongodb";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { FaultSpec } from "./index.js";
import { changeStreamOpens, startFake, take, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup;
beforeEach(async () => {
  setup = await startFake();
});
afterEach(async () => {
  await setup.close();
});

type Ev = ChangeStreamDocument & Document;
const coll = (name = "orders") => setup.client.db("cf").collection<Row>(name);
const fast = { maxAwaitTimeMS: 50 } as const;
const keys = (events: Ev[]): unknown[] => events.map((e) => e.documentKey?._id);

async function opened(name = "orders"): Promise<ChangeStream<Document>> {
  const cs = coll(name).watch([], fast);
  expect(await cs.tryNext()).toBeNull();
  return cs;
}

describe("resume", () => {
  const faults: Array<[string, FaultSpec]> = [
    ["CursorNotFound (43) without a label", { code: 43 }],
    ["RetryChangeStream (234) with ResumableChangeStreamError", { code: 234, codeName: "RetryChangeStream", errorLabels: ["ResumableChangeStreamError"] }],
    ["a connection closed during getMore", "close"],
  ];
  test.each(faults)("%s: the driver resumes after the last event, nothing lost or repeated", async (_name, fault) => {
    const cs = await opened();
    await coll().insertMany([1, 2, 3].map((i) => ({ _id: i })));
    const first = (await take(cs, 3)) as Ev[];
    setup.fake.failNext("getMore", fault);
    await coll().insertMany([4, 5, 6].map((i) => ({ _id: i })));
    const rest = (await take(cs, 3)) as Ev[];
    expect(keys([...first, ...rest])).toEqual([1, 2, 3, 4, 5, 6]);
    const opens = changeStreamOpens(setup.fake);
    expect(opens).toHaveLength(2);
    expect(opens[1]).toEqual({ resumeAfter: first[2]?._id });
    expect(await cs.tryNext()).toBeNull();
    await cs.close();
  });

  test("an error without the resumable label reaches the caller and closes the stream", async () => {
    const cs = await opened();
    setup.fake.failNext("getMore", { code: 280, codeName: "ChangeStreamFatalError", errmsg: "fatal for the test" });
    const err = (await cs.next().catch((e: unknown) => e)) as MongoServerError;
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err.code).toBe(280);
    expect(cs.closed).toBe(true);
  });
});

describe("history lost", () => {
  test("resuming before the truncated history fails with 286; resuming at the new floor works", async () => {
    const cs = await opened();
    await coll().insertOne({ _id: 1 });
    const [e1] = (await take(cs, 1)) as Ev[];
    await cs.close();
    await coll().insertOne({ _id: 2 });
    setup.fake.truncateHistory();
    for (const opts of [{ resumeAfter: e1?._id }, { startAfter: e1?._id }, { startAtOperationTime: e1?.clusterTime }]) {
      const lost = coll().watch([], { ...fast, ...opts });
      const err = (await lost.next().catch((e: unknown) => e)) as MongoServerError;
      expect(err.code).toBe(286);
      expect(err.codeName).toBe("ChangeStreamHistoryLost");
      expect(err.message).toBe("Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
      expect(lost.closed).toBe(true);
    }
    const fresh = await opened();
    const token = fresh.resumeToken;
    await fresh.close();
    await coll().insertOne({ _id: 3 });
    const resumed = coll().watch([], { ...fast, resumeAfter: token });
    expect(keys((await take(resumed, 1)) as Ev[])).toEqual([3]);
    await resumed.close();
  });

  test("a live stream that falls behind the floor gets 286 on its next getMore", async () => {
    const cs = await opened();
    await coll().insertOne({ _id: 1 });
    setup.fake.truncateHistory();
    const err = (await cs.next().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(286);
  });
});

describe("invalidate", () => {
  test("drop emits drop then invalidate and closes the cursor; startAfter the invalidate continues", async () => {
    const cs = await opened();
    await coll().insertOne({ _id: 1 });
    await coll().drop();
    const events = (await take(cs, 3)) as Ev[];
    expect(events.map((e) => e.operationType)).toEqual(["insert", "drop", "invalidate"]);
    expect(events[1]?.ns).toEqual({ db: "cf", coll: "orders" });
    expect(await cs.tryNext()).toBeNull();
    expect(cs.closed).toBe(true);
    const invalidate = events[2]?._id as ResumeToken;
    const bad = coll().watch([], { ...fast, resumeAfter: invalidate });
    expect(((await bad.next().catch((e: unknown) => e)) as MongoServerError).code).toBe(260);
    await coll().insertOne({ _id: "again" });
    const after = coll().watch([], { ...fast, startAfter: invalidate });
    expect(keys((await take(after, 1)) as Ev[])).toEqual(["again"]);
    // Resuming right after the drop event (not its invalidate) still delivers the invalidate.
    const atDrop = coll().watch([], { ...fast, resumeAfter: events[1]?._id as ResumeToken });
    expect(((await take(atDrop, 1)) as Ev[])[0]?.operationType).toBe("invalidate");
    await after.close();
  });

  test("server-side dropCollection and rename invalidate collection streams", async () => {
    const a = await opened("a");
    const b = await opened("b");
    await coll("a").insertOne({ _id: 1 });
    expect(setup.fake.dropCollection("cf.a")).toBe(true);
    await coll("b").insertOne({ _id: 2 });
    await coll("b").rename("c");
    expect(((await take(a, 3)) as Ev[]).map((e) => e.operationType)).toEqual(["insert", "drop", "invalidate"]);
    const bEvents = (await take(b, 3)) as Ev[];
    expect(bEvents.map((e) => e.operationType)).toEqual(["insert", "rename", "invalidate"]);
    expect(bEvents[1]?.to).toEqual({ db: "cf", coll: "c" });
  });

  test("dropDatabase: a database stream sees each drop, dropDatabase, then invalidate", async () => {
    const dbStream = setup.client.db("cf").watch([], fast);
    await dbStream.tryNext();
    await coll("x").insertOne({ _id: 1 });
    await coll("y").insertOne({ _id: 1 });
    await setup.client.db("cf").dropDatabase();
    const events = (await take(dbStream, 6)) as Ev[];
    expect(events.map((e) => `${e.operationType}:${e.ns?.coll ?? "-"}`)).toEqual(["insert:x", "insert:y", "drop:x", "drop:y", "dropDatabase:-", "invalidate:-"]);
  });

  test("a pipeline that removes the resume token is refused (280)", async () => {
    const cs = coll().watch([{ $project: { _id: 0 } }], fast);
    await cs.tryNext();
    await coll().insertOne({ _id: 1 });
    const err = (await cs.next().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(280);
  });
});
