// End to end with a node process, a private nats-server (max_payload 8MB) and the fake
// Cosmos DB gateway over HTTPS (the node trusts the test CA through NODE_EXTRA_CA_CERTS):
// PostgreSQL → Cosmos DB (sink, key auth) → Cosmos DB change feed (source, key auth,
// allVersionsAndDeletes) → PostgreSQL, 10,000 mixed changes with exact values; both
// containers split in the middle of streaming; a 429 storm on every document request;
// a row over 2 MB dead-lettered with the reason while the stream goes on. Beside it, a
// latestVersion stream copies pre-existing documents and their changes into PostgreSQL
// (deletes are not in that feed: documented, and shown).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { childProcessEnv, makeTestCa, matchers, type TestTls } from "./fakes/cosmos/index.js";
import {
  CosmosWorkload, NodeProc, assertBuilt, converged, cosmosRig, diffRoundTrip, eventually, netGuard, pipelineConfig, roundTripDbs, roundTripStreams,
  startPrivateNats, uniqueCluster, uniqueName, type CosmosRig, type PrivateNats, type RoundTripDbs,
} from "./support/index.js";

let dir: string;
let tls: TestTls;
let rig: CosmosRig;
let dbs: RoundTripDbs;
let nats: PrivateNats;
let node: NodeProc | undefined;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "cosmos-e2e-"));
  tls = await makeTestCa(dir);
  rig = await cosmosRig({ tls, db: "shop" });
  for (const c of ["accounts", "items", "profiles"]) await rig.container(c);
  dbs = await roundTripDbs("ce2e");
  await dbs.dst.query("CREATE TABLE profiles (id text, pk text, name text, n bigint, x double precision, flag boolean, nil text, address jsonb, tags jsonb, PRIMARY KEY (id, pk))");
  nats = await startPrivateNats();
});
afterAll(async () => {
  await node?.kill9();
  await dbs?.drop();
  await rig?.stop();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** JSON text with object keys sorted at every depth (jsonb orders keys its own way). */
const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) =>
  x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x);

/** A profile document as the test writes it (nested objects, arrays, numbers of every kind). */
const profile = (i: number, v: number) => ({
  id: `u${i}`, pk: `t${i % 5}`, name: `Zoë ${i} 🚀 v${v}`, n: i * 1000 + v, x: 0.1 + 0.2 + v, flag: i % 2 === 0, nil: null,
  address: { city: "Oslo", geo: [59.91, 10.75], zip: null, deep: { a: [1, { b: "c" }] } }, tags: ["a", i, null, { k: v }],
});

describe("PostgreSQL ↔ Cosmos DB end to end", () => {
  it("10,000 mixed changes round-trip exactly through a split and a 429 storm; a row over 2 MB goes to the DLQ; latestVersion copies documents", async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    console.log(`cosmos e2e seed ${seed}`);
    const profiles = rig.admin.database("shop").container("profiles");
    for (let i = 0; i < 300; i++) await profiles.items.create(profile(i, 0)); // before the stream: read from the beginning

    const cluster = uniqueCluster("ce2e");
    const streams = [
      ...roundTripStreams({ endpoint: rig.fake.endpoint, database: "shop", dbs, slot: uniqueName("ce2e").slice(0, 60) }),
      {
        id: "latest",
        source: { type: "cosmosdb", endpoint: rig.fake.endpoint, database: "shop", containers: ["profiles"], auth: { key: "${COSMOS_KEY}" }, pollInterval: "100ms" },
        sinks: [{ name: "pg", type: "postgres", url: dbs.dst.url, table: "public.{table}" }],
      },
    ];
    const guard = netGuard(join(dir, "net-guard.log"));
    node = await NodeProc.create({
      config: pipelineConfig(cluster, streams)("n1", { nats: { servers: [nats.url] } }),
      env: { ...childProcessEnv(tls), ...guard.env, COSMOS_KEY: rig.fake.masterKey },
    });
    node.start();
    await node.waitReady({ actors: 6, timeoutMs: 90_000 });
    // the Cosmos DB reader starts from "now": wait until that start is durable before writing
    await eventually(async () => (await node!.json<{ actors: Array<{ id: string; position: unknown }> }>("/v1/actors")).actors.find((a) => a.id === "stream.c2pg")?.position, 60_000, "c2pg's durable start");

    const w = new CosmosWorkload(dbs.src, seed);
    await w.seed(300);
    await w.run(3500);
    // both containers split while changes stream through them (the sink's bulk batches and the change feed)
    const splits = [rig.fake.split("shop", "accounts"), rig.fake.split("shop", "items")];
    await rig.admin.database("shop").container("profiles").items.upsert(profile(1, 1));
    await w.run(3000);
    // a row over Cosmos DB's 2 MB limit: dead-lettered by the sink, the stream goes on
    await dbs.src.query("INSERT INTO accounts (id, pk, name, note) VALUES ('huge', 'p0', repeat('x', 2200000), 'n')");
    rig.fake.faults.startStorm({ every: 4, durationMs: 6000, retryAfterMs: 25, match: matchers.docs });
    await w.run(3500);
    expect(w.ops).toBeGreaterThanOrEqual(10_000);
    for (let i = 0; i < 300; i += 3) await profiles.items.upsert(profile(i, 2));
    const deleted = Array.from({ length: 10 }, (_, k) => 290 + k).filter((i) => i % 3 !== 0); // never changed since the start: one version
    for (const i of deleted) await profiles.item(`u${i}`, `t${i % 5}`).delete();
    for (let i = 300; i < 320; i++) await profiles.items.create(profile(i, 0));

    // the DLQ holds the huge row with the reason
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const dlqName = `${cluster}_DLQ`;
      await eventually(async () => (await jsm.streams.info(dlqName)).state.messages >= 1, 120_000, "the dead letter");
      const m = await jsm.streams.getMessage(dlqName, { seq: (await jsm.streams.info(dlqName)).state.first_seq });
      expect(m?.subject).toBe(`${cluster}.dlq.pg2c.sink-cosmos`);
      expect(m?.header.get("Tributary-Error")).toMatch(/^document id "huge" would be \d+ bytes, over Cosmos DB's 2 MB limit \(2097152 bytes\): event seq \d+$/);
      expect(rig.fake.documents("shop", "accounts").some((d) => d.id === "huge")).toBe(false);
      await dbs.src.query("DELETE FROM accounts WHERE id = 'huge'");

      // target equals source, exactly
      expect(await converged(() => diffRoundTrip(dbs), 240_000)).toBeNull();

      // latestVersion: every document's latest version; the deleted ones keep their last version (no deletes in that feed)
      const want = new Map<string, unknown>();
      for (const d of rig.fake.documents("shop", "profiles")) {
        const { _rid, _self, _etag, _attachments, _ts, ...user } = d;
        want.set(String(d.id), user);
      }
      const profileDiff = async () => {
        const rows = (await dbs.dst.query<{ j: Record<string, unknown> }>("SELECT to_jsonb(p) AS j FROM profiles p")).rows.map((r) => r.j);
        const got = new Map(rows.map((r) => [String(r.id), r]));
        if (got.size !== 320) return `${got.size} rows`; // 313 live documents and the 7 deleted ones
        for (const [id, doc] of want) if (canonical(got.get(id)) !== canonical(doc)) return `${id}: ${canonical(got.get(id))} != ${canonical(doc)}`;
        for (const i of deleted) if (canonical(got.get(`u${i}`)) !== canonical(profile(i, 0))) return `deleted u${i} not at its last version`;
        return null;
      };
      expect(await converged(profileDiff, 60_000)).toBeNull();

      // the reader's checkpoint holds one continuation per container, with both child ranges after the split
      const positions = await new Kvm(nc).open(`${cluster}_positions`);
      const c2pg = (await positions.get("c2pg"))?.json<{ position: { containers: Record<string, string> } }>();
      for (const c of ["accounts", "items"]) {
        const token = JSON.parse(c2pg!.position.containers[c]!) as { Continuation: Array<{ minInclusive: string; maxExclusive: string }> };
        const split = splits[c === "accounts" ? 0 : 1]!;
        expect(token.Continuation.map((r) => [r.minInclusive, r.maxExclusive]).sort()).toEqual(split.children.map((r) => [r.minInclusive, r.maxExclusive]).sort());
      }
    } finally {
      await nc.close();
    }
    expect(rig.fake.requests.some((r) => r.status === 410 && r.substatus === 1002)).toBe(true);
    expect(rig.fake.misroutedBulkOps).toBe(0);

    // the storm was honoured and counted, on both sides
    const metrics = await (await fetch(node.adminUrl + "/metrics")).text();
    const throttled = (actor: string) => [...metrics.matchAll(new RegExp(`tributary_cosmos_throttled_total\\{stream="[^"]+",actor="${actor}",container="[^"]+"\\} (\\d+)`, "g"))].reduce((n, m) => n + Number(m[1]), 0);
    expect(throttled("stream")).toBeGreaterThan(0);
    expect(throttled("sink-cosmos")).toBeGreaterThan(0);
    expect(metrics).toMatch(/tributary_cosmos_request_units_total\{stream="pg2c",actor="sink-cosmos",container="accounts"\} \d+/);
    const actors = await node.json<{ actors: Array<{ id: string; state: string; lastError: string | null }> }>("/v1/actors");
    for (const a of actors.actors) expect([a.id, a.state]).toEqual([a.id, "running.active.running"]);
    expect(guard.loaded()).toContain(node.pid);
    expect(guard.refused()).toEqual([]);
    expect(await node.term()).toBe(0);
  }, 600_000);
});
