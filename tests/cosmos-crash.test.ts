// Crash safety of the Cosmos DB connectors: the PostgreSQL → Cosmos DB → PostgreSQL round
// trip while the node is killed with `kill -9` at random moments (mid bulk write, between
// documents and offset, mid change feed page, before a checkpoint) and restarted. Replays
// must be harmless: the target equals the source, nothing lost.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kvm } from "@nats-io/kv";
import { childProcessEnv, makeTestCa, type TestTls } from "./fakes/cosmos/index.js";
import {
  CosmosWorkload, NodeProc, assertBuilt, cleanupCluster, converged, cosmosRig, diffRoundTrip, eventually, natsConnect, pipelineConfig, rng, roundTripDbs,
  roundTripStreams, uniqueCluster, uniqueName, type CosmosRig, type RoundTripDbs,
} from "./support/index.js";

let dir: string;
let tls: TestTls;
let rig: CosmosRig;
let dbs: RoundTripDbs;
let node: NodeProc | undefined;
const cluster = uniqueCluster("ccrash");

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "cosmos-crash-"));
  tls = await makeTestCa(dir);
  rig = await cosmosRig({ tls, db: "shop" });
  for (const c of ["accounts", "items"]) await rig.container(c);
  dbs = await roundTripDbs("ccrash");
});
afterAll(async () => {
  await node?.kill9();
  await dbs?.drop();
  await rig?.stop();
  await cleanupCluster(cluster);
  await rm(dir, { recursive: true, force: true });
});

describe("Cosmos DB connectors under kill -9", () => {
  it("lose nothing across 6 crashes and restarts", async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const rand = rng(seed);
    console.log(`cosmos crash test seed ${seed} (CRASH_SEED=${seed} replays the kill schedule)`);
    const streams = roundTripStreams({ endpoint: rig.fake.endpoint, database: "shop", dbs, slot: uniqueName("ccrash").slice(0, 60) });
    node = await NodeProc.create({ config: pipelineConfig(cluster, streams)("n1"), env: { ...childProcessEnv(tls), COSMOS_KEY: rig.fake.masterKey } });
    node.start();
    await node.waitReady({ actors: 4, timeoutMs: 90_000 });
    await eventually(async () => (await node!.json<{ actors: Array<{ id: string; position: unknown }> }>("/v1/actors")).actors.find((a) => a.id === "stream.c2pg")?.position, 60_000, "c2pg's durable start");

    const w = new CosmosWorkload(dbs.src, seed);
    await w.seed(500);
    const workload = w.run(8000);
    let done = false;
    void workload.finally(() => (done = true));
    let kills = 0;
    while (kills < 6) {
      await new Promise((r) => setTimeout(r, 1500 + rand() * 3500));
      await node.kill9();
      kills++;
      await new Promise((r) => setTimeout(r, rand() * 500));
      node.start();
    }
    await workload;
    expect(done).toBe(true);
    expect(w.ops).toBeGreaterThanOrEqual(8000);

    expect(await converged(() => diffRoundTrip(dbs), 300_000)).toBeNull();
    expect(node.exits.length).toBeGreaterThanOrEqual(6);

    // every restart fenced the checkpoint with a new epoch; a run that published or checkpointed
    // anything makes the next one publish in a later generation of event positions
    const nc = await natsConnect();
    try {
      const positions = await new Kvm(nc).open(`${cluster}_positions`);
      const c2pg = (await positions.get("c2pg"))?.json<{ epoch: number; position: { gen: number } }>();
      expect(c2pg!.epoch).toBeGreaterThan(4);
      expect(c2pg!.position.gen).toBeGreaterThan(1);
    } finally {
      await nc.close();
    }
    // the sink's offset document was written by the last owner
    const offset = rig.fake.documents("shop", "tributary_offsets").find((d) => d.id === `${cluster}.pg2c.cosmos`);
    expect(Number(offset?.epoch)).toBeGreaterThan(4);
  }, 900_000);
});
