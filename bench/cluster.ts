/**
 * Cluster figures (issue 3), measured on real node processes and written to
 * bench/results/cluster.json and cluster.md — figures, never test assertions:
 * - CPU and memory per node with 120 generator streams on 3 nodes;
 * - graceful handoff: the longest gap in a moved stream's event flow when a node drains;
 * - actors moved when a 4th node joins;
 * - time from `kill -9` of a node to all of its actors running again (default lease TTL).
 *
 * Run: `npm run bench:cluster` (about 2 minutes).
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { jetstream, DeliverPolicy } from "@nats-io/jetstream";
import { cleanupCluster, eventually, natsConnect, NodeProc, sleep, uniqueCluster } from "../tests/support/index.js";
import { benchNodeFlags } from "./setup.js";

const NATS = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const STREAMS = Number(process.env.BENCH_CLUSTER_STREAMS ?? 120);
const RATE = 5;

interface ClusterView {
  nodes: Array<{ id: string; actors: number; draining: boolean }>;
  actors: Array<{ id: string; stream: string; owner: string | null; desired: string | null }>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

async function main(): Promise<void> {
  const cluster = uniqueCluster("bcl");
  const streams = Array.from({ length: STREAMS }, (_, i) => ({ id: `g${i}`, source: { type: "generator", rate: RATE, keys: 10 } }));
  const config = (id: string) => ({ cluster, nats: { servers: [NATS] }, node: { id }, log: { level: "warn" }, placement: { settle: "2s" }, streams });
  const nodes = new Map<string, NodeProc>();
  const start = async (id: string) => {
    const n = await NodeProc.create({ config: config(id), nodeFlags: benchNodeFlags(), keepLog: true });
    n.start();
    nodes.set(id, n);
    return n;
  };
  const live = () => [...nodes.entries()].filter(([, n]) => n.running);
  const view = () => live()[0]![1].json<ClusterView>("/v1/cluster");
  const placed = async (ids: string[]) => {
    const v = await view().catch(() => null); // a node still starting refuses connections
    if (!v) return null;
    const off = v.actors.filter((a) => !a.owner || !ids.includes(a.owner) || a.owner !== a.desired);
    lastWhy = `${v.actors.length} actors, ${off.length} not on their desired node, e.g. ${JSON.stringify(off.slice(0, 3))}; nodes ${JSON.stringify(v.nodes)}`;
    // every expected node must be live (joined, not draining) before placement counts as done
    const joined = ids.every((id) => v.nodes.some((n) => n.id === id && !n.draining));
    return joined && v.actors.length === STREAMS && off.length === 0 ? v : null;
  };
  let lastWhy = "";
  const nc = await natsConnect(NATS);
  const out: Record<string, unknown> = { measured_at: new Date().toISOString(), streams: STREAMS, rate_per_stream: RATE, lease_ttl_ms: 15000, node_ttl_ms: 10000 };
  try {
    for (const id of ["n1", "n2", "n3"]) await start(id);
    let v = await eventually(() => placed(["n1", "n2", "n3"]), 120_000, "placement on 3 nodes", 20);
    out.placement_3_nodes = Object.fromEntries(v.nodes.map((n) => [n.id, n.actors]));

    // CPU and memory per node over 20 s of steady state
    const cpu0 = new Map([...nodes].map(([id, n]) => [id, n.cpuSeconds()]));
    await sleep(20_000);
    out.cpu_pct_per_node = Object.fromEntries([...nodes].map(([id, n]) => [id, Math.round(((n.cpuSeconds() - cpu0.get(id)!) / 20) * 1000) / 10]));
    out.rss_mb_per_node = Object.fromEntries([...nodes].map(([id, n]) => [id, Math.round(n.memoryMb().rss)]));

    // graceful handoff: drain n2, then the largest gap between consecutive events of each moved stream
    const moved = v.actors.filter((a) => a.owner === "n2").map((a) => a.stream);
    const t0 = Date.now();
    await fetch(`http://127.0.0.1:${nodes.get("n2")!.port}/v1/drain`, { method: "POST" });
    await eventually(() => !nodes.get("n2")!.running, 60_000, "n2 exits", 20);
    out.drain_exit_ms = Date.now() - t0;
    v = await eventually(() => placed(["n1", "n3"]), 60_000, "placement on 2 nodes", 20);
    out.drain_all_running_again_ms = Date.now() - t0;
    await sleep(3000);
    const js = jetstream(nc);
    const gaps: number[] = [];
    for (const s of moved) {
      const c = await js.consumers.get(`${cluster}_CDC_${s}`, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(t0 - 2000).toISOString() });
      const msgs = await c.fetch({ max_messages: 10_000, expires: 2000 });
      let prev = 0;
      let max = 0;
      for await (const m of msgs) {
        const t = m.info.timestampNanos / 1e6;
        if (prev) max = Math.max(max, t - prev);
        prev = t;
        if (m.info.pending === 0) break;
      }
      gaps.push(max);
    }
    out.handoff_streams = moved.length;
    out.handoff_gap_ms_median = Math.round(median(gaps));
    out.handoff_gap_ms_max = Math.round(Math.max(...gaps));
    out.normal_gap_ms = Math.round(1000 / RATE);

    // join: bring n2 back, then add n4
    await start("n2");
    v = await eventually(() => placed(["n1", "n2", "n3"]), 120_000, "placement back on 3 nodes", 20);
    const before = new Map(v.actors.map((a) => [a.id, a.owner]));
    const tj = Date.now();
    await start("n4");
    v = await eventually(() => placed(["n1", "n2", "n3", "n4"]), 120_000, "placement on 4 nodes", 20);
    out.join_moved = v.actors.filter((a) => before.get(a.id) !== a.owner).length;
    out.join_total_actors = v.actors.length;
    out.join_settled_ms = Date.now() - tj;

    // kill -9 the busiest node: time until all its actors run again elsewhere
    const victim = [...v.nodes].sort((a, b) => b.actors - a.actors)[0]!.id;
    out.kill9_victim_actors = v.nodes.find((n) => n.id === victim)?.actors;
    const tk = Date.now();
    process.kill(nodes.get(victim)!.pid, "SIGKILL");
    await eventually(() => placed(["n1", "n2", "n3", "n4"].filter((x) => x !== victim)), 120_000, "takeover", 20);
    out.kill9_to_all_running_ms = Date.now() - tk;
  } catch (err) {
    console.error(`last state: ${lastWhy}`);
    for (const [id, n] of nodes) console.error(`--- ${id}\n${n.tail(2000)}`);
    throw err;
  } finally {
    for (const n of nodes.values()) if (n.running) process.kill(n.pid, "SIGKILL");
    await nc.close();
    await cleanupCluster(cluster, NATS);
  }
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/cluster.json", JSON.stringify(out, null, 2) + "\n");
  const md = ["# Cluster figures", "", "| figure | value |", "| --- | --- |", ...Object.entries(out).map(([k, val]) => `| ${k} | ${typeof val === "object" ? JSON.stringify(val) : String(val)} |`), ""].join("\n");
  writeFileSync("bench/results/cluster.md", md);
  console.log(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
