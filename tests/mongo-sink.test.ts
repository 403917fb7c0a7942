// The MongoDB sink adapter against the fake MongoDB server and the real driver, without
// the kernel: ordered bulk writes by key, exact BSON values from MongoDB-, PostgreSQL- and
// MySQL-origin events, the offset document in the batch's transaction (replica set) or
// after it (standalone), replays, the epoch fence, aborted transactions, and refused records.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Binary, Decimal128, Double, Int32, Long, MongoClient, ObjectId, Timestamp, type Document } from "mongodb";
import { MongoSink, OffsetStore, type MongoSinkSpec, type OffsetDoc } from "../src/connectors/mongodb/index.js";
import { sinkBatch, type SinkRecord } from "../src/core/index.js";
import type { ChangeEvent, Row } from "../src/events/index.js";
import { Metrics } from "../src/metrics/index.js";
import { FakeMongo } from "./fakes/mongo/index.js";

const fakes: FakeMongo[] = [];
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const f of fakes.splice(0)) await f.stop();
});

async function start(replicaSet = true): Promise<{ fake: FakeMongo; client: MongoClient }> {
  const fake = await FakeMongo.start({ replicaSet });
  fakes.push(fake);
  const client = new MongoClient(fake.url, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  closers.push(() => client.close());
  return { fake, client };
}

const spec = (fake: FakeMongo, extra: Partial<MongoSinkSpec> = {}): MongoSinkSpec => ({
  name: "mg", type: "mongodb", url: fake.url, collection: "{schema}.{table}", offsets: "tributary.sink_offsets", transactions: "auto", batchMaxRows: 2000, batchMaxWait: 100, ...extra,
});

async function open(fake: FakeMongo, extra: Partial<MongoSinkSpec> = {}): Promise<MongoSink> {
  const s = await MongoSink.open(spec(fake, extra), { sinkId: "s1.mg", cluster: "c1", log: pino({ level: "silent" }), metrics: new Metrics() });
  closers.push(() => s.close());
  return s;
}

let seq = 0;
const rec = (op: ChangeEvent["op"], key: Row, after: Row | null, o: { types?: Record<string, string>; connector?: string; schema?: string; table?: string; before?: Row | null } = {}): SinkRecord => ({
  seq: ++seq,
  event: {
    op, key, after, before: o.before ?? null, ts_ms: 0,
    source: { connector: o.connector ?? "mongodb", stream: "s1", db: o.schema ?? "shop", schema: o.schema ?? "shop", table: o.table ?? "orders", pos: String(seq), txId: null, ts_ms: 0, snapshot: false },
    ...(o.types ? { types: o.types } : {}),
  },
});
const apply = (s: MongoSink, records: SinkRecord[], epoch = 1, last = records[records.length - 1]?.seq ?? 0) => s.apply(sinkBatch(records, (x) => s.target(x)), { seq: last, epoch });
const all = (client: MongoClient, db = "shop", coll = "orders") => client.db(db).collection<Document>(coll).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
const offsetDoc = (client: MongoClient) => client.db("tributary").collection<OffsetDoc>("sink_offsets").findOne({ _id: "c1.s1.mg" });

const oid = "65a1b2c3d4e5f60718293a4b";
const mongoTypes = { _id: "objectId", s: "string", i: "int", l: "long", big: "long", d: "double", whole: "double", nan: "double", dec: "decimal", b: "bool", at: "date", ts: "timestamp", bin: "binData", uuid: "binData:4", n: "null", nested: "object", arr: "array" };
const mongoAfter: Row = {
  _id: oid, s: "héllo", i: 7, l: 42, big: "9223372036854775807", d: 2.5, whole: 3, nan: "NaN", dec: "1.000000000000000000000000000000001E+6000", b: true,
  at: "2024-03-01T12:34:56.789Z", ts: { t: 1700000000, i: 3 }, bin: "AP8K", uuid: "ASNFZ4mrze8BI0VniavN7w==", n: null,
  nested: { a: { $numberLong: "9007199254740993" }, when: { $date: { $numberLong: "1" } }, list: [1, { $numberDouble: "1.0" }] }, arr: [1, "x", { k: { $oid: oid } }],
};

describe.each([["replica set", true], ["standalone", false]] as const)("MongoDB sink (%s)", (_name, replicaSet) => {
  it("writes exact BSON values by key, deletes by key, stores the offset; a replay changes nothing", async () => {
    const { fake, client } = await start(replicaSet);
    const s = await open(fake);
    expect(s.transactions).toBe(replicaSet);
    expect(await s.readOffset()).toEqual({ seq: 0, epoch: 0 });
    const first = [
      rec("r", { _id: oid }, mongoAfter, { types: mongoTypes }),
      rec("c", { _id: 1 }, { _id: 1, v: "one" }, { types: { _id: "int", v: "string" } }),
      rec("c", { _id: 2 }, { _id: 2, v: "two", gone: true }, { types: { _id: "int", v: "string", gone: "bool" } }),
      rec("u", { _id: 2 }, { _id: 2, v: "two'" }, { types: { _id: "int", v: "string" } }), // a later whole image: "gone" was $unset
    ];
    await apply(s, first);
    const docs = await all(client);
    expect(docs).toHaveLength(3);
    const [d1, d2, d3] = docs.sort((a, b) => String(a._id).localeCompare(String(b._id)));
    expect(d1).toEqual({ _id: new Int32(1), v: "one" });
    expect(d2).toEqual({ _id: new Int32(2), v: "two'" });
    expect(d3).toEqual({
      _id: new ObjectId(oid), s: "héllo", i: new Int32(7), l: Long.fromNumber(42), big: Long.fromString("9223372036854775807"), d: new Double(2.5), whole: new Double(3), nan: new Double(NaN),
      dec: Decimal128.fromString("1.000000000000000000000000000000001E+6000"), b: true, at: new Date("2024-03-01T12:34:56.789Z"), ts: new Timestamp({ t: 1700000000, i: 3 }),
      bin: new Binary(Buffer.from("AP8K", "base64"), 0), uuid: new Binary(Buffer.from("ASNFZ4mrze8BI0VniavN7w==", "base64"), 4), n: null,
      nested: { a: Long.fromString("9007199254740993"), when: new Date(1), list: [new Int32(1), new Double(1)] }, arr: [new Int32(1), "x", { k: new ObjectId(oid) }],
    });
    expect(await offsetDoc(client)).toMatchObject({ _id: "c1.s1.mg", cluster: "c1", sink: "s1.mg", seq: first.at(-1)!.seq, epoch: 1 });
    expect(await s.readOffset()).toEqual({ seq: first.at(-1)!.seq, epoch: 1 });

    const second = [rec("d", { _id: 1 }, null, { types: { _id: "int" } }), rec("u", { _id: oid }, { _id: oid, s: "only" }, { types: { _id: "objectId", s: "string" } })];
    await apply(s, second);
    const after = await all(client);
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining([{ _id: new Int32(2), v: "two'" }, { _id: new ObjectId(oid), s: "only" }]));

    // a replay of both batches (a restart from an older JetStream position) writes nothing at all
    const events = fake.stats.changeEvents;
    await apply(s, [...first, ...second]);
    expect(fake.stats.changeEvents).toBe(events);
    expect(await offsetDoc(client)).toMatchObject({ seq: second.at(-1)!.seq, epoch: 1 });
  });

  it("a newer epoch in the offset document refuses an older owner before it writes anything", async () => {
    const { fake, client } = await start(replicaSet);
    const a = await open(fake);
    const b = await open(fake);
    await apply(a, [rec("c", { _id: 1 }, { _id: 1, by: "a" })], 1);
    await apply(b, [rec("c", { _id: 2 }, { _id: 2, by: "b" })], 2);
    const events = fake.stats.changeEvents;
    await expect(apply(a, [rec("c", { _id: 3 }, { _id: 3, by: "stale" })], 1)).rejects.toMatchObject({
      code: "FENCED", message: "sink s1.mg: epoch 1 is older than the stored epoch 2: another owner has written",
    });
    expect(fake.stats.changeEvents).toBe(events);
    expect(await all(client)).toHaveLength(2);
    expect(await offsetDoc(client)).toMatchObject({ epoch: 2 });
  });

  it("the epoch-checked offset update refuses a writer whose epoch is older than the stored one", async () => {
    const { client } = await start(replicaSet);
    const coll = client.db("tributary").collection<OffsetDoc>("sink_offsets");
    const store = new OffsetStore(coll, "c1.s1.mg", "c1", "s1.mg");
    await store.write({ seq: 10, epoch: 2 });
    await store.write({ seq: 5, epoch: 2 }); // the seq never goes back
    expect(await store.read()).toEqual({ seq: 10, epoch: 2 });
    await expect(store.write({ seq: 20, epoch: 1 })).rejects.toMatchObject({
      code: "FENCED", message: "sink s1.mg: its offset document c1.s1.mg holds a newer epoch (now seq 10, epoch 2) than this writer's 1: another owner has written",
    });
    expect(await store.read()).toEqual({ seq: 10, epoch: 2 });
  });

  it("refused records are row errors naming them; the others are written record by record", async () => {
    const { fake, client } = await start(replicaSet);
    const s = await open(fake);
    const good = rec("c", { _id: 1 }, { _id: 1, v: 1 });
    const big = rec("c", { _id: 2 }, { _id: 2, blob: "x".repeat(17 * 1024 * 1024) });
    const dollar = rec("c", { _id: 3 }, { _id: 3, $set: 1 });
    const badOid = rec("c", { _id: "nothex" }, { _id: "nothex" }, { types: { _id: "objectId" } });
    const cases: Array<[SinkRecord, RegExp]> = [
      [big, new RegExp(`^event seq ${big.seq}: the document would be \\d+ bytes, over MongoDB's 16 MiB limit \\(16777216 bytes\\)$`)],
      [dollar, new RegExp(`^event seq ${dollar.seq}: field name "\\$set" starts with "\\$", which MongoDB would read as an operator$`)],
      [badOid, new RegExp(`^event seq ${badOid.seq} \\(shop\\.orders\\): its key: field "_id" \\(type objectId\\): "nothex" is not an ObjectId \\(24 hex digits\\)$`)],
    ];
    for (const [r, message] of cases) {
      const err = await apply(s, [good, r]).catch((e: unknown) => e);
      expect(s.isRowError(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
    // the server's own refusal (a unique index on another field; the fake does not enforce
    // secondary indexes, so the refusal is injected as mongod sends it)
    fake.failNext("update", { code: 11000, codeName: "DuplicateKey", errmsg: "E11000 duplicate key error collection: shop.orders index: email_1 dup key: { email: \"a@b\" }" });
    const dup = rec("c", { _id: 4 }, { _id: 4, email: "a@b" });
    const refused = await apply(s, [dup]).catch((e: unknown) => e);
    expect(s.isRowError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(new RegExp(`^MongoDB refused a write in shop\\.orders \\(event seq ${dup.seq}\\): E11000 duplicate key error .* \\(code 11000\\)$`));
    // as the kernel isolates: the good record alone, then the offset moved past the refused ones
    await apply(s, [good]);
    await apply(s, [], 1, dup.seq);
    expect(await all(client)).toEqual([{ _id: new Int32(1), v: new Int32(1) }]);
    expect(await s.readOffset()).toEqual({ seq: dup.seq, epoch: 1 });
    expect(s.isRowError(new Error("x"))).toBe(false);
  });
});

describe("MongoDB sink transactions (replica set)", () => {
  it("commits batch and offset together; transactions: off writes the offset after the batch instead (servers without cross-collection transactions)", async () => {
    const { fake } = await start(true);
    const on = await open(fake);
    await apply(on, [rec("c", { _id: 1 }, { _id: 1 })]);
    const committed = fake.commandLog.filter((c) => c.name === "commitTransaction").length;
    expect(committed).toBeGreaterThan(0);
    const off = await open(fake, { transactions: "off" });
    expect(off.transactions).toBe(false);
    const last = rec("c", { _id: 2 }, { _id: 2 });
    await apply(off, [last]);
    expect(fake.commandLog.filter((c) => c.name === "commitTransaction").length).toBe(committed);
    expect(fake.commandLog.filter((c) => c.body.startTransaction === true).length).toBe(committed);
    expect(await off.readOffset()).toEqual({ seq: last.seq, epoch: 1 });
  });

  it("a failure inside the batch aborts the transaction: no document, no offset; the retry applies it", async () => {
    const { fake, client } = await start(true);
    const s = await open(fake);
    await apply(s, [rec("c", { _id: 1 }, { _id: 1, v: "keep?" }), rec("c", { _id: 2 }, { _id: 2, v: 0 })]);
    const before = await all(client);
    const stored = await s.readOffset();
    // the delete runs in the transaction, then the bulk's update command fails
    fake.failNext("update", { code: 8000, codeName: "AtlasError", errmsg: "injected failure" });
    const batch = [rec("d", { _id: 1 }, null), rec("u", { _id: 2 }, { _id: 2, v: 2 })];
    const err = await apply(s, batch).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_INVALID" });
    expect((err as Error).message).toMatch(/^MongoDB sink s1\.mg \(mongodb:\/\/127\.0\.0\.1:\d+\/\?replicaSet=rs0\): applying a batch: injected failure \(code 8000\)$/);
    expect(s.isRowError(err)).toBe(false);
    expect(await all(client)).toEqual(before);
    expect(await s.readOffset()).toEqual(stored);
    expect(fake.stats.openTransactions).toBe(0);
    const aborts = fake.commandLog.filter((c) => c.name === "abortTransaction");
    expect(aborts.length).toBeGreaterThan(0);
    await apply(s, batch);
    expect(await all(client)).toEqual([{ _id: new Int32(2), v: new Int32(2) }]);
    expect(await s.readOffset()).toEqual({ seq: batch.at(-1)!.seq, epoch: 1 });
  });

  it("the offset write fails: the batch's documents are rolled back with it", async () => {
    const { fake, client } = await start(true);
    const s = await open(fake);
    await apply(s, [rec("c", { _id: 1 }, { _id: 1 })]);
    fake.failNext("update", { code: 8000, errmsg: "offset write failed" }); // the batch only deletes: the first update is the offset's
    const err = await apply(s, [rec("d", { _id: 1 }, null)]).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/offset write failed/);
    expect(await all(client)).toHaveLength(1);
    // the same on a standalone server leaves the delete applied and the offset behind: a replay re-applies it harmlessly
    const solo = await start(false);
    const t = await open(solo.fake);
    await apply(t, [rec("c", { _id: 1 }, { _id: 1 })]);
    const at = await t.readOffset();
    solo.fake.failNext("update", { code: 8000, errmsg: "offset write failed" });
    const del = rec("d", { _id: 1 }, null);
    await expect(apply(t, [del])).rejects.toThrow(/offset write failed/);
    expect(await all(solo.client)).toHaveLength(0);
    expect(await t.readOffset()).toEqual(at);
    await apply(t, [del]);
    expect(await t.readOffset()).toEqual({ seq: del.seq, epoch: 1 });
  });
});

describe("MongoDB sink from SQL sources", () => {
  it("PostgreSQL rows become documents: _id from the key, values by SQL type, composite keys, kept TOAST values, truncate", async () => {
    const { fake, client } = await start(true);
    const s = await open(fake, { collection: "copy_{db}.{collection}" });
    const types = { id: "int8", amount: "numeric", big: "int8", at: "timestamptz", micro: "timestamptz", doc: "jsonb", raw: "bytea", f: "float8", note: "text" };
    const pgRec = (op: ChangeEvent["op"], key: Row, after: Row | null, table = "orders", t: Record<string, string> = types) => rec(op, key, after, { connector: "postgres", schema: "public", table, types: t });
    await apply(s, [
      pgRec("r", { id: 1 }, { id: 1, amount: "12345678901234567890.123456789", big: "9223372036854775807", at: "2024-03-01T12:34:56.789Z", micro: "2024-03-01T12:34:56.789123Z", doc: '{"a": [1, 2.5], "b": {"c": null}}', raw: "3q2+7w==", f: 1, note: "long text" }),
      pgRec("c", { tenant: "t1", n: 2 }, { tenant: "t1", n: 2, v: "x" }, "lines", { tenant: "text", n: "int4", v: "text" }),
    ]);
    expect(await all(client, "copy_public", "orders")).toEqual([
      {
        _id: Long.fromNumber(1), id: Long.fromNumber(1), amount: Decimal128.fromString("12345678901234567890.123456789"), big: Long.fromString("9223372036854775807"), at: new Date("2024-03-01T12:34:56.789Z"),
        micro: "2024-03-01T12:34:56.789123Z", doc: { a: [new Int32(1), new Double(2.5)], b: { c: null } }, raw: new Binary(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0), f: new Double(1), note: "long text",
      },
    ]);
    expect(await all(client, "copy_public", "lines")).toEqual([{ _id: { tenant: "t1", n: new Int32(2) }, tenant: "t1", n: new Int32(2), v: "x" }]);
    // an update without the unchanged TOAST column keeps the stored value ($set, not a replacement)
    await apply(s, [pgRec("u", { id: 1 }, { id: 1, amount: "1", big: 2, at: "2024-03-02T00:00:00Z", micro: null, doc: "[]", raw: "", f: "NaN" })]);
    const [doc] = await all(client, "copy_public", "orders");
    expect(doc).toMatchObject({ note: "long text", amount: Decimal128.fromString("1"), big: Long.fromNumber(2), micro: null, doc: [], f: new Double(NaN) });
    // delete of the composite key, truncate of orders
    await apply(s, [pgRec("d", { tenant: "t1", n: 2 }, null, "lines"), { ...pgRec("t", {}, null), event: { ...pgRec("t", {}, null).event, types: {} } }]);
    expect(await all(client, "copy_public", "lines")).toEqual([]);
    expect(await all(client, "copy_public", "orders")).toEqual([]);
  });

  it("MySQL rows: unsigned BIGINT beyond int64 as Decimal128, TIMESTAMP as Date, DATETIME as text", async () => {
    const { fake, client } = await start(false);
    const s = await open(fake);
    const types = { id: "bigint(20) unsigned", at: "timestamp(3)", local: "datetime(6)", price: "decimal(10,2)", j: "json", b: "blob" };
    await apply(s, [rec("c", { id: "18446744073709551615" }, { id: "18446744073709551615", at: "2024-03-01T01:02:03.456Z", local: "2024-02-29T23:59:59.123456", price: "9.90", j: '{"k": [true]}', b: "AP8K" }, { connector: "mysql", schema: "shop", table: "items", types })]);
    expect(await all(client, "shop", "items")).toEqual([
      { _id: Decimal128.fromString("18446744073709551615"), id: Decimal128.fromString("18446744073709551615"), at: new Date("2024-03-01T01:02:03.456Z"), local: "2024-02-29T23:59:59.123456", price: Decimal128.fromString("9.90"), j: { k: [true] }, b: new Binary(Buffer.from([0, 255, 10]), 0) },
    ]);
  });
});

describe("MongoDB sink sign-in", () => {
  it("signs in with SCRAM; a refused sign-in is SINK_INVALID naming the sink, never showing the password", async () => {
    const fake = await FakeMongo.start({ users: [{ user: "app", password: "s3cret-pw" }] });
    fakes.push(fake);
    const ok = await open(fake, { url: fake.urlFor({ user: "app", password: "s3cret-pw" }) });
    await apply(ok, [rec("c", { _id: 1 }, { _id: 1 })]);
    expect(await ok.readOffset()).toMatchObject({ epoch: 1 });
    const err = await MongoSink.open(spec(fake, { url: fake.urlFor({ user: "app", password: "wrong-pw" }) }), { sinkId: "s1.mg", cluster: "c1", log: pino({ level: "silent" }), metrics: new Metrics() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SINK_INVALID", retryable: false });
    expect((err as Error).message).toMatch(/^MongoDB sink s1\.mg \(mongodb:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/\?replicaSet=rs0\): connecting: .*Authentication failed.* \(code 18\)$/);
    expect((err as Error).message).not.toContain("wrong-pw");
  });
});
