/**
 * The fake MongoDB server keeps every BSON type exactly (read back with the driver's
 * non-promoting options), answers hello as a one-member replica set whose heartbeats never
 * fail, and implements the collection/database administration the connectors use.
 */
import {
  Binary,
  BSONRegExp,
  Decimal128,
  Double,
  Int32,
  Long,
  MongoServerError,
  ObjectId,
  Timestamp,
  UUID,
  type Document,
} from "mongodb";
import { afterEach, describe, expect, test } from "vitest";
import { eventually } from "../../support/index.js";
import { startFake, type FakeSetup, type Row } from "./fixtures.js";

let setup: FakeSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe("BSON value fidelity", () => {
  test("every listed type round-trips with its exact BSON type", async () => {
    setup = await startFake({}, { promoteValues: false, promoteLongs: false, bsonRegExp: true });
    const oid = new ObjectId();
    const doc: Document = {
      _id: oid,
      int: new Int32(7),
      dbl: new Double(1),
      dblFrac: new Double(2.5),
      long: Long.fromString("9007199254740993"),
      dec: Decimal128.fromString("1234567890123456789012345678901234"),
      date: new Date("2024-02-29T12:34:56.789Z"),
      bin: new Binary(Buffer.from([0, 1, 2, 255]), 0),
      uuid: new UUID("07070707-0707-0707-0707-070707070707"),
      userBin: new Binary(Buffer.from("x"), 0x80),
      ts: new Timestamp({ t: 1700000000, i: 42 }),
      nul: null,
      nested: { a: { b: [new Int32(1), "two", { c: new Double(3) }] } },
      arr: [],
      text: "grüße 日本 🚀",
      re: new BSONRegExp("^a.c$", "i"),
      bool: false,
    };
    const c = setup.client.db("v").collection<Row>("all");
    await c.insertOne(doc);
    const back = await c.findOne({ _id: oid });
    expect(back).toStrictEqual(doc);
    expect(back?.dbl).toBeInstanceOf(Double);
    expect(back?.int).toBeInstanceOf(Int32);
    expect((back?.long as Long).toString()).toBe("9007199254740993");
    expect((back?.dec as Decimal128).toString()).toBe("1234567890123456789012345678901234");
    expect((back?.userBin as Binary).sub_type).toBe(0x80);
    // Updates keep the type of untouched fields and use mongod's numeric rules for $inc.
    await c.updateOne({ _id: oid }, { $inc: { int: new Int32(1), dbl: new Int32(1) }, $set: { "nested.a.z": true } });
    const upd = await c.findOne({ _id: oid });
    expect(upd?.int).toEqual(new Int32(8));
    expect(upd?.dbl).toEqual(new Double(2));
    expect(upd?.long).toEqual(doc.long);
    expect(upd?.nested).toEqual({ a: { b: doc.nested.a.b, z: true } });
  });

  test("Int32 overflow by $inc becomes a Long, like mongod", async () => {
    setup = await startFake({}, { promoteValues: false, promoteLongs: false });
    const c = setup.client.db("v").collection<Row>("ovf");
    await c.insertOne({ _id: 1, n: new Int32(2147483647) });
    await c.updateOne({ _id: 1 }, { $inc: { n: new Int32(1) } });
    expect((await c.findOne({ _id: 1 }))?.n).toEqual(Long.fromNumber(2147483648));
  });
});

describe("hello and monitoring", () => {
  test("replica-set hello: exact host, stable election fields, session timeout", async () => {
    setup = await startFake();
    const hello = await setup.client.db("admin").command({ hello: 1 });
    const address = setup.fake.url.replace("mongodb://", "").split("/")[0];
    expect(hello).toMatchObject({ setName: "rs0", isWritablePrimary: true, hosts: [address], primary: address, setVersion: 1, logicalSessionTimeoutMinutes: 30, maxWireVersion: 21 });
    expect(String(hello.electionId)).toBe("7fffffff0000000000000001");
    expect(hello.topologyVersion).toBeUndefined();
  });

  test("heartbeats keep succeeding (polling, no exhaust) and never fail", async () => {
    setup = await startFake();
    const client = await setup.connect(setup.fake.url, { heartbeatFrequencyMS: 500 });
    let ok = 0;
    let failed = 0;
    client.on("serverHeartbeatSucceeded", () => (ok += 1));
    client.on("serverHeartbeatFailed", () => (failed += 1));
    await eventually(() => ok >= 6, 30_000, "six heartbeats");
    expect(failed).toBe(0);
    await client.db("x").collection<Row>("y").insertOne({ after: "heartbeats" });
  });
});

describe("administration", () => {
  test("create, listCollections, collMod, createIndexes, listIndexes, rename, drop, dropDatabase", async () => {
    setup = await startFake();
    const db = setup.client.db("adm");
    await db.createCollection("a", { changeStreamPreAndPostImages: { enabled: true } });
    await db.collection<Row>("b").insertOne({ x: 1 });
    const infos = await db.listCollections({}, { nameOnly: false }).toArray();
    expect(infos.map((i) => i.name)).toEqual(["a", "b"]);
    expect(infos[0]?.options).toEqual({ changeStreamPreAndPostImages: { enabled: true } });
    const dup = (await db.createCollection("a").catch((e: unknown) => e)) as MongoServerError;
    expect(dup.code).toBe(48);
    await db.command({ collMod: "b", changeStreamPreAndPostImages: { enabled: true } });
    expect((await db.listCollections({ name: "b" }, { nameOnly: false }).toArray())[0]?.options).toEqual({ changeStreamPreAndPostImages: { enabled: true } });
    expect(await db.collection<Row>("b").createIndex({ x: 1 }, { unique: true })).toBe("x_1");
    expect((await db.collection<Row>("b").listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_", "x_1"]);
    await db.collection<Row>("b").rename("c");
    expect((await db.listCollections({}, { nameOnly: true }).toArray()).map((i) => i.name).sort()).toEqual(["a", "c"]);
    expect(await db.collection<Row>("c").findOne({}, { projection: { _id: 0 } })).toEqual({ x: 1 });
    expect(await db.collection<Row>("c").drop()).toBe(true);
    const dbs = await setup.client.db("admin").admin().listDatabases();
    expect(dbs.databases.map((d) => d.name)).toContain("adm");
    await db.dropDatabase();
    expect(await db.listCollections().toArray()).toEqual([]);
    expect((await setup.client.db("admin").command({ ping: 1 })).ok).toBe(1);
    expect((await setup.client.db("admin").command({ buildInfo: 1 })).version).toBe("7.0.0");
  });

  test("unknown commands fail with CommandNotFound (59)", async () => {
    setup = await startFake();
    const err = (await setup.client.db("admin").command({ frobnicate: 1 }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(59);
  });
});
