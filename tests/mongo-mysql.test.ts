// MySQL/MariaDB → MongoDB end to end with a node process (the fake MongoDB server runs in
// the test process): pre-existing rows and 4,000 mixed changes of the MySQL workload
// (unsigned BIGINT beyond 2^63, DECIMAL, DATETIME/TIMESTAMP(6), JSON, BLOB/BINARY, BIT,
// ENUM/SET, a composite key) written by the MongoDB sink; the node is killed once while
// changes flow. Every document equals its row, value by value, with the BSON type the
// contract gives each MySQL type (docs/types.md "MongoDB").
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeMongo } from "./fakes/mongo/index.js";
import { MixedWorkload, NodeProc, assertBuilt, cleanupCluster, converged, createMyDb, diffMyMongo, pipelineConfig, schemaSql, uniqueCluster, type MyTestDb } from "./support/index.js";

let fake: FakeMongo;
let client: MongoClient;
let my: MyTestDb;
let node: NodeProc | undefined;
const cluster = uniqueCluster("mymg");

beforeAll(async () => {
  assertBuilt();
  fake = await FakeMongo.start();
  client = new MongoClient(fake.url, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  my = await createMyDb("mymg_src");
  for (const sql of schemaSql("mysql")) await my.query(sql);
});
afterAll(async () => {
  await node?.kill9();
  await client?.close();
  await fake?.stop();
  await my?.drop();
  await cleanupCluster(cluster);
});

describe("MySQL → MongoDB", () => {
  it("copies pre-existing rows and 4,000 changes exactly, across a kill -9", async () => {
    const w = new MixedWorkload({ dialect: "mysql", db: my }, 21);
    await w.seed(300);
    const streams = [
      {
        id: "my2m",
        source: { type: "mysql", url: my.url, tables: ["accounts", "items", "events"].map((t) => `${my.name}.${t}`), snapshot: "initial", snapshotBatchRows: 200 },
        sinks: [{ name: "mg", type: "mongodb", url: "${MONGO_URL}", collection: "{db}.{table}", batchMaxRows: 500 }],
      },
    ];
    node = await NodeProc.create({ config: pipelineConfig(cluster, streams)("n1"), env: { MONGO_URL: fake.url } });
    node.start();
    await node.waitReady({ actors: 2, timeoutMs: 90_000 });
    await w.run(2000);
    await node.kill9();
    node.start();
    await w.run(2000);
    expect(await converged(() => diffMyMongo({ dialect: "mysql", db: my }, client, my.name), 150_000)).toBeNull();
    const events = await client.db(my.name).collection("events").findOne({});
    expect(Object.keys(events?._id ?? {})).toEqual(["k1", "k2"]); // a composite key: an embedded _id
    // the comparison sees a single changed value (it compares every column of every row)
    expect(await client.db(my.name).collection("accounts").countDocuments()).toBeGreaterThan(300);
    await client.db(my.name).collection("items").updateOne({}, { $set: { title: "tampered ✗" } });
    expect(await diffMyMongo({ dialect: "mysql", db: my }, client, my.name)).toMatch(/^1 difference\(s\):\nitems \d+:/);
    expect(await node.term()).toBe(0);
  }, 300_000);
});
