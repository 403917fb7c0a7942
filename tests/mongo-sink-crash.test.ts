// PostgreSQL → MongoDB (the MongoDB sink) end to end with a node process while it is killed with `kill -9` at
// random moments, the first one during the initial snapshot: one stream, two MongoDB sinks
// — a replica set (batch and offset in one transaction) and a standalone server (offset
// after the batch, idempotent replays). Pre-existing rows and 10,000 mixed changes
// (numeric, bigint beyond 2^53, timestamps, json, arrays, bytea, unchanged TOAST values,
// composite keys); in the end every document equals its row, exactly, in both targets,
// and each sink's offset document was written by the last owner.
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeMongo } from "./fakes/mongo/index.js";
import {
  CosmosWorkload, NodeProc, assertBuilt, cleanupCluster, converged, diffPgMongo, eventually, pipelineConfig, rng, roundTripDbs, uniqueCluster, uniqueName, type RoundTripDbs,
} from "./support/index.js";

let rs: FakeMongo;
let solo: FakeMongo;
const clients: MongoClient[] = [];
let dbs: RoundTripDbs;
let node: NodeProc | undefined;
const cluster = uniqueCluster("mcrash");

beforeAll(async () => {
  assertBuilt();
  rs = await FakeMongo.start();
  solo = await FakeMongo.start({ replicaSet: false });
  for (const f of [rs, solo]) {
    const c = new MongoClient(f.url, { serverSelectionTimeoutMS: 5_000 });
    await c.connect();
    clients.push(c);
  }
  dbs = await roundTripDbs("mcrash");
});
afterAll(async () => {
  await node?.kill9();
  for (const c of clients) await c.close();
  await rs?.stop();
  await solo?.stop();
  await dbs?.drop();
  await cleanupCluster(cluster);
});

describe("PostgreSQL → MongoDB under kill -9", () => {
  it("loses nothing across crashes (one mid-snapshot): every document equals its row in both targets", async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const rand = rng(seed);
    console.log(`mongo crash test seed ${seed} (CRASH_SEED=${seed} replays the kill schedule)`);
    const w = new CosmosWorkload(dbs.src, seed);
    await w.seed(1500); // before the stream: read by the snapshot

    const streams = [
      {
        id: "pg2m",
        source: { type: "postgres", url: dbs.src.url, tables: ["public.accounts", "public.items"], slot: uniqueName("mcrash").slice(0, 60), snapshot: "initial" },
        sinks: [
          { name: "rs", type: "mongodb", url: "${MONGO_RS}", collection: "{schema}.{table}", batchMaxRows: 500 },
          { name: "solo", type: "mongodb", url: "${MONGO_SOLO}", collection: "copy.{table}", batchMaxRows: 500 },
        ],
      },
    ];
    node = await NodeProc.create({ config: pipelineConfig(cluster, streams)("n1"), env: { MONGO_RS: rs.url, MONGO_SOLO: solo.url } });
    node.start();
    // the first kill: while the snapshot is being read and written
    await eventually(async () => (await clients[0]!.db("public").collection("accounts").estimatedDocumentCount()) > 0, 90_000, "the snapshot's first documents");
    await new Promise((r) => setTimeout(r, rand() * 300));
    const atKill = await clients[0]!.db("public").collection("accounts").countDocuments();
    await node.kill9();
    console.log(`first kill with ${atKill} of 1500 accounts written`);
    node.start();
    await node.waitReady({ actors: 3, timeoutMs: 90_000 });

    const workload = w.run(10_000);
    let done = false;
    void workload.finally(() => (done = true));
    let kills = 1;
    while (kills < 6) {
      await new Promise((r) => setTimeout(r, 1500 + rand() * 3500));
      await node.kill9();
      kills++;
      await new Promise((r) => setTimeout(r, rand() * 500));
      node.start();
    }
    await workload;
    expect(done).toBe(true);
    expect(w.ops).toBeGreaterThanOrEqual(10_000);

    expect(await converged(() => diffPgMongo(dbs.src, clients[0]!, "public"), 300_000)).toBeNull();
    expect(await converged(() => diffPgMongo(dbs.src, clients[1]!, "copy"), 120_000)).toBeNull();
    expect(node.exits.length).toBeGreaterThanOrEqual(6);
    // each sink's offset document was written by the last owner, keyed by cluster
    for (const [i, sink] of [[0, "rs"], [1, "solo"]] as const) {
      const off = await clients[i]!.db("tributary").collection<{ _id: string; seq?: unknown; epoch?: unknown }>("sink_offsets").findOne({ _id: `${cluster}.pg2m.${sink}` });
      expect(Number(off?.epoch)).toBeGreaterThan(4);
      expect(Number(off?.seq)).toBeGreaterThan(10_000);
    }
    expect(rs.stats.openTransactions).toBe(0);
    // the comparison sees a single changed value
    await clients[1]!.db("copy").collection("items").updateOne({}, { $set: { emoji: "tampered ✗" } });
    expect(await diffPgMongo(dbs.src, clients[1]!, "copy")).toMatch(/^1 difference\(s\):/);
    expect(await node.term()).toBe(0);
  }, 900_000);
});
