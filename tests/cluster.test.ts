// The cluster on real processes: 3 nodes share 120 generator streams and 3 PostgreSQL
// streams with sinks. Every actor runs exactly once within the load bound; a node killed
// with kill -9 has its actors running elsewhere within lease TTL + 5 s; a 4th node takes
// about a quarter of the actors by graceful handoff; a SIGSTOPped node self-fences after
// SIGCONT. An independent probe checker proves no two readers of a stream were ever active
// at once; targets equal sources and generator streams have no gap and no duplicate.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { jetstreamManager, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertBuilt, cleanupCluster, createDb, diffTables, eventually, NATS_URL, natsConnect, NodeProc, ProbeChecker, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";
import { openControlPlane } from "../src/nats/index.js";
import { applyStreams } from "../src/node/index.js";
import { parseStreamSpec } from "../src/config/index.js";
import type { ClusterView } from "../src/cluster/index.js";

const cluster = uniqueCluster("cl");
const LEASE_TTL_MS = 4000;
const GEN = 120;
let src: TestDb;
let dst: TestDb;
let nc: NatsConnection;
let probe: ProbeChecker;
const nodes = new Map<string, NodeProc>();
let writing = true;
let writer: Promise<void> | undefined;

function nodeConfig(id: string) {
  return {
    cluster,
    nats: { servers: [NATS_URL] },
    node: { id },
    leases: { ttl: `${LEASE_TTL_MS}ms`, nodeTtl: "3s" },
    placement: { settle: "1s", movesPerStep: 40 },
    checkpoint: { interval: "300ms" },
    log: { level: "info" },
  };
}

async function startNode(id: string): Promise<NodeProc> {
  const n = await NodeProc.create({ config: nodeConfig(id), args: ["--no-apply"] });
  n.start();
  nodes.set(id, n);
  return n;
}

async function view(): Promise<ClusterView> {
  for (const n of nodes.values()) if (n.running) return n.json<ClusterView>("/v1/cluster");
  throw new Error("no node running");
}

/** Every desired actor is leased by its desired live node, and that node reports it ready. */
let why = "";
async function allPlaced(live: string[]): Promise<ClusterView | null> {
  const v = await view();
  why = `${v.actors.length} actors; nodes ${v.nodes.map((n) => `${n.id}:${n.actors}${n.draining ? "(draining)" : ""}`).join(",")}`;
  if (v.actors.length !== GEN + 6) return null;
  // every expected node must have joined (and not be draining) before placement counts as done
  if (!live.every((id) => v.nodes.some((n) => n.id === id && !n.draining))) return null;
  const off = v.actors.filter((a) => !a.owner || !live.includes(a.owner) || a.owner !== a.desired);
  why += `; ${off.length} not on their desired node, e.g. ${JSON.stringify(off.slice(0, 2))}`;
  if (process.env.CLUSTER_DEBUG) console.log(new Date().toISOString(), why);
  if (off.length) return null;
  for (const id of live) {
    const mine = await nodes.get(id)!.json<{ actors: Array<{ id: string; ready: boolean; epoch: number | null }> }>("/v1/actors");
    const owned = v.actors.filter((a) => a.owner === id).map((a) => a.id).sort();
    const running = mine.actors.filter((a) => a.ready && a.epoch !== null).map((a) => a.id).sort();
    if (JSON.stringify(owned) !== JSON.stringify(running)) {
      why = `${id}: owns ${owned.length}, runs ready ${running.length}; not ready e.g. ${JSON.stringify(mine.actors.filter((a) => !a.ready).slice(0, 2))}`;
      return null;
    }
  }
  return v;
}

beforeAll(async () => {
  assertBuilt();
  src = await createDb("cl_src");
  dst = await createDb("cl_dst");
  for (const t of ["a", "b", "c"]) await src.query(`CREATE TABLE ${t} (id int primary key, v text, n bigint)`);
  nc = await natsConnect();
  probe = new ProbeChecker(nc, `${cluster}.tributary.probe`);
  probe.start();
  const cp = await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: LEASE_TTL_MS, nodeTtl: 3000 });
  const specs = [
    ...Array.from({ length: GEN }, (_, i) => parseStreamSpec({ id: `g${String(i).padStart(3, "0")}`, source: { type: "generator", rate: 2, keys: 5 } })),
    ...["a", "b", "c"].map((t) =>
      parseStreamSpec({
        id: `pg_${t}`,
        source: { type: "postgres", url: src.url, tables: [`public.${t}`], slot: uniqueName(`cl${t}`).slice(0, 60) },
        sinks: [{ name: "copy", type: "postgres", url: dst.url, autoCreate: true }],
      }),
    ),
  ];
  await applyStreams(cp.streams, specs);
});

afterAll(async () => {
  writing = false;
  await writer?.catch(() => undefined);
  for (const n of nodes.values()) {
    if (n.running) process.kill(n.pid, "SIGCONT");
    await n.kill9();
  }
  probe?.stop();
  await nc?.close();
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("cluster: placement, crash takeover, join, pause", () => {
  it("runs every actor exactly once, survives kill -9, a join and a SIGSTOP, and never has two active readers", async () => {
    for (const id of ["n1", "n2", "n3"]) await startNode(id);
    let v = await eventually(() => allPlaced(["n1", "n2", "n3"]), 90_000, "126 actors placed on 3 nodes").catch((e) => {
      throw new Error(`${(e as Error).message}: ${why}\n${nodes.get("n1")!.output.slice(-2500)}`);
    });
    const bound = Math.ceil((1.25 * (GEN + 6)) / 3);
    for (const n of v.nodes) expect(n.actors).toBeLessThanOrEqual(bound);
    console.log(`placed: ${v.nodes.map((n) => `${n.id}=${n.actors}`).join(" ")} (bound ${bound})`);

    // a steady PostgreSQL workload through everything that follows
    let i = 0;
    writer = (async () => {
      while (writing) {
        i++;
        for (const t of ["a", "b", "c"]) await src.query(`INSERT INTO ${t} VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, n = ${t}.n + 1`, [i % 200, `v${i}`, i]);
        if (i % 7 === 0) await src.query(`DELETE FROM a WHERE id = $1`, [(i * 13) % 200]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // --- kill -9 the busiest node: its actors run again elsewhere within lease TTL + 5 s
    const victim = [...v.nodes].sort((a, b) => b.actors - a.actors)[0]!.id;
    const orphaned = v.actors.filter((a) => a.owner === victim).map((a) => a.id);
    const t0 = Date.now();
    await nodes.get(victim)!.kill9();
    const survivors = ["n1", "n2", "n3"].filter((x) => x !== victim);
    v = await eventually(() => allPlaced(survivors), LEASE_TTL_MS + 5000 + 10_000, "takeover");
    const takeoverMs = Date.now() - t0;
    console.log(`kill -9 ${victim} (${orphaned.length} actors): all running again after ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + 5000 + 1000); // +1 s: our own polling period

    // --- bring it back, then add a 4th node: about a quarter moves, by graceful handoff
    await startNode(victim);
    v = await eventually(() => allPlaced(["n1", "n2", "n3"]), 60_000, "rebalanced on 3 nodes");
    const before = new Map(v.actors.map((a) => [a.id, a.owner]));
    const probesBefore = probe.events.length;
    const t1 = Date.now();
    await startNode("n4");
    v = await eventually(() => allPlaced(["n1", "n2", "n3", "n4"]), 60_000, "rebalanced on 4 nodes");
    const moved = v.actors.filter((a) => before.get(a.id) !== a.owner);
    console.log(`join n4: ${moved.length} of ${v.actors.length} actors moved in ${Date.now() - t1} ms; n4 has ${v.nodes.find((n) => n.id === "n4")?.actors}`);
    expect(moved.length).toBeGreaterThan((GEN + 6) * 0.15);
    expect(moved.length).toBeLessThan((GEN + 6) * 0.4);
    // each moved reader stopped gracefully (its "stop" probe) before the new owner started
    const recent = probe.events.slice(probesBefore);
    for (const a of moved.filter((x) => x.kind === "stream")) {
      const stop = recent.findIndex((e) => e.stream === a.stream && e.event === "stop" && e.node === before.get(a.id));
      const start = recent.findIndex((e) => e.stream === a.stream && e.event === "start" && e.node === a.owner);
      expect(stop, `${a.id} stopped gracefully on ${before.get(a.id)}`).toBeGreaterThanOrEqual(0);
      expect(start, `${a.id} started on ${a.owner} after the stop`).toBeGreaterThan(stop);
    }

    // --- SIGSTOP a node past its lease TTL, then SIGCONT: it self-fences
    const frozen = "n2";
    const frozenProc = nodes.get(frozen)!;
    const frozenActors = v.actors.filter((a) => a.owner === frozen).map((a) => a.id);
    process.kill(frozenProc.pid, "SIGSTOP");
    const others = ["n1", "n3", "n4"];
    await eventually(async () => {
      const w = await nodes.get("n1")!.json<ClusterView>("/v1/cluster");
      return frozenActors.every((id) => {
        const a = w.actors.find((x) => x.id === id);
        return a && a.owner && others.includes(a.owner);
      });
    }, 30_000, "frozen node's actors taken over");
    process.kill(frozenProc.pid, "SIGCONT");
    // after it wakes, it holds nothing of what it had and reports them lost or gone
    await eventually(async () => {
      const mine = await frozenProc.json<{ actors: Array<{ id: string; epoch: number | null }> }>("/v1/actors");
      return frozenActors.every((id) => !mine.actors.some((a) => a.id === id && a.epoch !== null));
    }, 30_000, "frozen node self-fenced");

    // --- let everything settle, stop writing, and check the data
    await eventually(() => allPlaced(["n1", "n2", "n3", "n4"]), 60_000, "final placement");
    writing = false;
    await writer;
    for (const t of ["a", "b", "c"]) {
      await eventually(async () => (await diffTables(src, dst, `public.${t}`, "id")) === null, 60_000, `target ${t} equals source`);
    }
    expect(probe.violations).toEqual([]);

    // no event with an older epoch follows a newer one in any CDC stream (nothing stale reached a sink)
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    for (const s of ["pg_a", "pg_b", "pg_c", "g000", "g001", "g002", "g003", "g004", "g005"]) {
      const name = `${cluster}_CDC_${s}`;
      const info = await jsm.streams.info(name);
      const c = await js.consumers.get(name);
      const msgs = await c.fetch({ max_messages: info.state.messages, expires: 5000 });
      let maxEpoch = 0;
      const seqs: number[] = [];
      for await (const m of msgs) {
        const epoch = Number(m.headers?.get("Tributary-Epoch"));
        expect(epoch, `${s} seq ${m.seq}`).toBeGreaterThanOrEqual(maxEpoch);
        maxEpoch = epoch;
        if (s.startsWith("g")) seqs.push(m.json<{ after: { seq: number } }>().after.seq);
        if (m.seq === info.state.last_seq) break;
      }
      // generator rows are numbered 1..N: no gap, no duplicate
      if (s.startsWith("g")) expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
    }
    // every generator stream: message count equals the last row number
    for (let k = 0; k < GEN; k++) {
      const info = await jsm.streams.info(`${cluster}_CDC_g${String(k).padStart(3, "0")}`);
      const last = await jsm.streams.getMessage(`${cluster}_CDC_g${String(k).padStart(3, "0")}`, { seq: info.state.last_seq });
      expect(info.state.messages).toBe(Number(last?.header.get("Tributary-Pos")));
    }
  });
});
