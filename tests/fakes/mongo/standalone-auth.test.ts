/**
 * The fake MongoDB server as a standalone mongod (CRUD works; transactions and change streams
 * are refused with mongod's codes) and with SCRAM-SHA-256 users (right password works, wrong
 * password is AuthenticationFailed, no credentials is Unauthorized).
 */
import { MongoServerError, type MongoClient } from "mongodb";
import { afterEach, describe, expect, test } from "vitest";
import { startFake, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

async function failure(p: Promise<unknown>): Promise<MongoServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  return err as MongoServerError;
}

describe("standalone", () => {
  test("answers hello without replica-set fields; CRUD works; no txnNumber on writes", async () => {
    setup = await startFake({ replicaSet: false });
    expect(setup.fake.url).toContain("directConnection=true");
    const hello = await setup.client.db("admin").command({ hello: 1 });
    expect(hello.setName).toBeUndefined();
    expect(hello.isWritablePrimary).toBe(true);
    const c = setup.client.db("s").collection<Row>("c");
    await c.insertOne({ _id: 1, v: 1 });
    await c.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, v: 2 });
    const writes = setup.fake.commandLog.filter((x) => x.name === "insert" || x.name === "update");
    expect(writes.map((x) => x.body.txnNumber)).toEqual([undefined, undefined]);
  });

  test("refuses transactions (20) and change streams (40573) like a standalone mongod", async () => {
    setup = await startFake({ replicaSet: false });
    const c = setup.client.db("s").collection<Row>("c");
    const session = setup.client.startSession();
    session.startTransaction();
    const readErr = await failure(c.findOne({}, { session }));
    expect(readErr.code).toBe(20);
    expect(readErr.message).toBe("Transaction numbers are only allowed on a replica set member or mongos");
    // For writes the driver turns mongod's code 20 into its own hint, keeping the server's error.
    const writeErr = await failure(c.insertOne({ _id: 1 }, { session }));
    expect(writeErr.message).toContain("does not support retryable writes");
    expect((writeErr.errorResponse.originalError as MongoServerError | undefined)?.code).toBe(20);
    await session.abortTransaction().catch(() => undefined);
    await session.endSession();
    expect(await c.countDocuments()).toBe(0);
    const cs = c.watch();
    const csErr = await failure(cs.next());
    expect(csErr.code).toBe(40573);
    expect(csErr.message).toBe("The $changeStream stage is only supported on replica sets");
  });
});

describe("SCRAM-SHA-256", () => {
  const users = [{ user: "app", password: "s3cret pass" }];

  test("the right password authenticates (speculatively, in the handshake); data commands then work", async () => {
    setup = await startFake({ users }, {});
    const authed: MongoClient = await setup.connect(setup.fake.urlFor({ user: "app", password: "s3cret pass" }));
    await authed.db("a").collection<Row>("c").insertOne({ _id: 1 });
    expect(await authed.db("a").collection<Row>("c").findOne({ _id: 1 })).toEqual({ _id: 1 });
    const names = setup.fake.commandLog.map((c) => c.name);
    expect(names).toContain("saslContinue");
    expect(names).not.toContain("saslStart");
  });

  test("a wrong password fails with AuthenticationFailed (18); no credentials gets Unauthorized (13)", async () => {
    setup = await startFake({ users });
    const wrong = await failure(setup.connect(setup.fake.urlFor({ user: "app", password: "nope" })));
    expect(wrong.code).toBe(18);
    expect(wrong.codeName).toBe("AuthenticationFailed");
    const unknown = await failure(setup.connect(setup.fake.urlFor({ user: "ghost", password: "x" })));
    expect(unknown.code).toBe(18);
    const anon = await failure(setup.client.db("a").collection<Row>("c").findOne({}));
    expect(anon.code).toBe(13);
  });
});
