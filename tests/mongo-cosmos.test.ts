// `compat: cosmos` end to end with a node process: the MongoDB source in Azure Cosmos DB for
// MongoDB mode (the change stream pipeline that service requires; inserts, updates and
// replaces arrive as upserts, deletes are not delivered) into a MongoDB sink and a
// PostgreSQL sink. Pre-existing documents and 2,000 changes with every BSON type arrive
// exactly; a deleted document stays in the targets, as documented (docs/types.md "MongoDB").
import type { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMongo } from "./fakes/mongo/index.js";
import { MongoWorkload, mongoPgRig, NodeProc, assertBuilt, cleanupCluster, converged, diffMongoCopy, diffMongoPg, pipelineConfig, uniqueCluster, type MongoPgRig, type TestDb } from "./support/index.js";

let fake: FakeMongo;
let client: MongoClient;
let dst: TestDb;
let node: NodeProc | undefined;
const cluster = uniqueCluster("mcos");

let rig: MongoPgRig;

beforeAll(async () => {
  assertBuilt();
  rig = await mongoPgRig("mcos_dst");
  ({ fake, client, dst } = rig);
});
afterAll(async () => {
  await node?.kill9();
  await rig?.stop();
  await cleanupCluster(cluster);
});

describe("compat: cosmos → MongoDB and PostgreSQL sinks", () => {
  it("upserts arrive exactly; deletes are not delivered in that mode", async () => {
    const w = await MongoWorkload.create(client, "shop", "orders", 7, { deletes: false });
    await w.seed(500);
    const streams = [
      {
        id: "cos",
        source: { type: "mongodb", url: "${MONGO_URL}", collections: ["shop.orders"], compat: "cosmos", maxAwaitTime: "200ms" },
        sinks: [
          { name: "copy", type: "mongodb", url: "${MONGO_URL}", collection: "copy.{collection}", batchMaxRows: 500 },
          { name: "pg", type: "postgres", url: dst.url, table: "public.{table}", autoCreate: true, batchMaxRows: 500 },
        ],
      },
    ];
    node = await NodeProc.create({ config: pipelineConfig(cluster, streams)("n1"), env: { MONGO_URL: fake.url } });
    node.start();
    await node.waitReady({ actors: 3, timeoutMs: 90_000 });
    await w.run(2000);
    expect(await converged(() => diffMongoCopy(client, { db: "shop", coll: "orders" }, { db: "copy", coll: "orders" }), 120_000)).toBeNull();
    expect(await converged(() => diffMongoPg(client, "shop", "orders", dst, "public.orders"), 60_000)).toBeNull();

    // a delete is not in Cosmos DB's change stream: the targets keep the document
    const victim = await client.db("shop").collection("orders").findOne({});
    await client.db("shop").collection("orders").deleteOne({ _id: victim!._id });
    const marker = await client.db("shop").collection("orders").insertOne({ after: "the delete" });
    await converged(async () => ((await client.db("copy").collection("orders").findOne({ _id: marker.insertedId })) ? null : "marker not copied yet"), 60_000);
    expect(await client.db("copy").collection("orders").findOne({ _id: victim!._id })).not.toBeNull();
    expect(await diffMongoCopy(client, { db: "shop", coll: "orders" }, { db: "copy", coll: "orders" })).toMatch(/^1 difference\(s\):\n.*: only in the copy$/);
    expect(await node.term()).toBe(0);
  }, 300_000);
});
