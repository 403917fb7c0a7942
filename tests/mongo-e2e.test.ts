// MongoDB end to end with a node process (the fake MongoDB server runs in the test
// process): pre-existing documents and 10,000 mixed changes (inserts, $set/$unset/$inc
// updates, replacements, deletes) with every BSON type the connectors must keep exactly —
// ObjectId, Int32, Int64 beyond 2^53, Double (also integral), 34-digit Decimal128, Date,
// Timestamp, Binary subtypes 0 and 4, nested documents and arrays — read by the MongoDB
// source and written by two sinks of one stream: MongoDB → MongoDB (byte-identical copy)
// and MongoDB → PostgreSQL (autoCreate; removed fields are NULL). The node is killed with
// `kill -9` three times, the first while the snapshot is being copied. A document the
// MongoDB sink refuses (a top-level field named like an operator) goes to the DLQ with
// the reason while everything else goes on.
import { jetstreamManager } from "@nats-io/jetstream";
import type { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMongo } from "./fakes/mongo/index.js";
import {
  MongoWorkload, mongoPgRig, NodeProc, assertBuilt, cleanupCluster, converged, diffMongoCopy, diffMongoPg, eventually, natsConnect, pipelineConfig, rng, uniqueCluster, type MongoPgRig, type TestDb,
} from "./support/index.js";

let fake: FakeMongo;
let client: MongoClient;
let dst: TestDb;
let node: NodeProc | undefined;
const cluster = uniqueCluster("me2e");

let rig: MongoPgRig;

beforeAll(async () => {
  assertBuilt();
  rig = await mongoPgRig("me2e_dst");
  ({ fake, client, dst } = rig);
});
afterAll(async () => {
  await node?.kill9();
  await rig?.stop();
  await cleanupCluster(cluster);
});

describe("MongoDB → MongoDB and MongoDB → PostgreSQL", () => {
  it("copies pre-existing documents and 10,000 changes exactly across kill -9 (one mid-snapshot)", async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const rand = rng(seed);
    console.log(`mongo e2e seed ${seed}`);
    const w = await MongoWorkload.create(client, "shop", "orders", seed);
    await w.seed(3000);

    const streams = [
      {
        id: "m",
        source: { type: "mongodb", url: "${MONGO_URL}", collections: ["shop.orders", "shop.odd"], snapshotBatchSize: 200, maxAwaitTime: "200ms" },
        sinks: [
          { name: "copy", type: "mongodb", url: "${MONGO_URL}", collection: "copy.{collection}", batchMaxRows: 500 },
          { name: "pg", type: "postgres", url: dst.url, table: "public.{table}", autoCreate: true, batchMaxRows: 500 },
        ],
      },
    ];
    node = await NodeProc.create({ config: pipelineConfig(cluster, streams)("n1"), env: { MONGO_URL: fake.url } });
    node.start();
    await eventually(async () => (await client.db("copy").collection("orders").estimatedDocumentCount()) > 0, 90_000, "the snapshot's first documents");
    const atKill = await client.db("copy").collection("orders").countDocuments();
    await node.kill9();
    console.log(`first kill with ${atKill} of 3000 documents copied`);
    node.start();
    await node.waitReady({ actors: 3, timeoutMs: 90_000 });

    const workload = w.run(10_000);
    for (let kills = 1; kills < 3; kills++) {
      await new Promise((r) => setTimeout(r, 2000 + rand() * 3000));
      await node.kill9();
      await new Promise((r) => setTimeout(r, rand() * 500));
      node.start();
    }
    await client.db("shop").collection("odd").insertOne({ _id: 7 as never, $where: "1", ok: true });
    await workload;
    expect(w.ops).toBe(10_000);

    expect(await converged(() => diffMongoCopy(client, { db: "shop", coll: "orders" }, { db: "copy", coll: "orders" }), 150_000)).toBeNull();
    const pgDiff = await converged(() => diffMongoPg(client, "shop", "orders", dst, "public.orders"), 60_000);
    if (pgDiff) console.log(JSON.stringify(await node.json("/v1/actors"), null, 1), node.output.split("\n").filter((l) => /"level":(40|50)/.test(l)).slice(-10).join("\n"));
    expect(pgDiff).toBeNull();
    const cols = await dst.query<{ c: string; t: string }>("SELECT attname AS c, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.orders'::regclass AND attnum > 0 AND NOT attisdropped");
    expect(Object.fromEntries(cols.rows.map((r) => [r.c, r.t]))).toMatchObject({ _id: "text", i: "integer", big: "bigint", d: "double precision", dec: "numeric", at: "timestamp with time zone", ts: "jsonb", bin: "bytea", uuid: "bytea", nested: "jsonb" });
    // the refused document is in the DLQ with the reason; PostgreSQL took it (a column may be named "$where")
    const nc = await natsConnect();
    try {
      const jsm = await jetstreamManager(nc);
      await eventually(async () => (await jsm.streams.info(`${cluster}_DLQ`).catch(() => null))?.state.messages === 1, 60_000, "the dead letter");
      const dl = await jsm.streams.getMessage(`${cluster}_DLQ`, { seq: (await jsm.streams.info(`${cluster}_DLQ`)).state.first_seq });
      expect(dl?.subject).toBe(`${cluster}.dlq.m.sink-copy`);
      expect(dl?.header.get("Tributary-Error")).toMatch(/^event seq \d+: field name "\$where" starts with "\$", which MongoDB would read as an operator$/);
    } finally {
      await nc.close();
    }
    expect(await client.db("copy").collection("odd").countDocuments()).toBe(0);
    expect((await dst.query<{ ok: boolean }>('SELECT ok FROM public.odd WHERE _id = 7')).rows).toEqual([{ ok: true }]);
    const off = await client.db("tributary").collection<{ _id: string; epoch?: unknown }>("sink_offsets").findOne({ _id: `${cluster}.m.copy` });
    expect(Number(off?.epoch)).toBeGreaterThanOrEqual(3);
    expect(fake.stats.openTransactions).toBe(0);
    // the comparisons see a single changed value
    await client.db("copy").collection("orders").updateOne({}, { $set: { s: "tampered ✗" } });
    expect(await diffMongoCopy(client, { db: "shop", coll: "orders" }, { db: "copy", coll: "orders" })).toMatch(/^1 difference\(s\):/);
    await dst.query("UPDATE public.orders SET s = 'tampered ✗' WHERE _id = (SELECT min(_id) FROM public.orders)");
    expect(await diffMongoPg(client, "shop", "orders", dst, "public.orders")).toMatch(/^1 difference\(s\):/);
    expect(await node.term()).toBe(0);
  }, 300_000);
});
