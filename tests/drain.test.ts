// Drain: POST /v1/drain and SIGTERM hand every actor off gracefully, then the process exits
// 0; the generator streams keep a gap-free, duplicate-free sequence across both handoffs.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertBuilt, cleanupCluster, eventually, NATS_URL, natsConnect, NodeProc, ProbeChecker, uniqueCluster } from "./support/index.js";
import { openControlPlane } from "../src/nats/index.js";
import { applyStreams } from "../src/node/index.js";
import { parseStreamSpec } from "../src/config/index.js";
import type { ClusterView } from "../src/cluster/index.js";

const cluster = uniqueCluster("dr");
const N = 20;
let nc: NatsConnection;
let probe: ProbeChecker;
const procs: NodeProc[] = [];

async function start(id: string): Promise<NodeProc> {
  const n = await NodeProc.create({
    config: { cluster, nats: { servers: [NATS_URL] }, node: { id }, leases: { ttl: "4s", nodeTtl: "3s" }, placement: { settle: "1s" }, checkpoint: { interval: "200ms" } },
    args: ["--no-apply"],
  });
  n.start();
  procs.push(n);
  return n;
}

beforeAll(async () => {
  assertBuilt();
  nc = await natsConnect();
  probe = new ProbeChecker(nc, `${cluster}.tributary.probe`);
  probe.start();
  const cp = await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 });
  await applyStreams(cp.streams, Array.from({ length: N }, (_, i) => parseStreamSpec({ id: `d${i}`, source: { type: "generator", rate: 20, keys: 3 } })));
});
afterAll(async () => {
  for (const p of procs) await p.kill9();
  probe?.stop();
  await nc?.close();
  await cleanupCluster(cluster);
});

async function owners(via: NodeProc): Promise<Map<string, string | null>> {
  const v = await via.json<ClusterView>("/v1/cluster");
  return new Map(v.actors.map((a) => [a.id, a.owner]));
}

describe("drain", () => {
  it("hands everything off on POST /v1/drain and on SIGTERM, exiting 0, with no gap in the data", async () => {
    const a = await start("a");
    const b = await start("b");
    await eventually(async () => {
      const o = await owners(a);
      return o.size === N && [...o.values()].every((x) => x === "a" || x === "b") && new Set(o.values()).size === 2;
    }, 60_000, "both nodes own actors");

    // POST /v1/drain on a: 202, a exits 0, b owns everything
    const r = await fetch(a.adminUrl + "/v1/drain", { method: "POST" });
    expect(r.status).toBe(202);
    const t0 = Date.now();
    await eventually(() => !a.running, 60_000, "a exited");
    expect(a.exits).toEqual([0]);
    await eventually(async () => [...(await owners(b)).values()].every((x) => x === "b"), 30_000, "b owns all");
    console.log(`drain via HTTP: node exited and b owns all ${N} actors after ${Date.now() - t0} ms`);

    // SIGTERM b while c is up: c owns everything, b exits 0
    const c = await start("c");
    await eventually(async () => new Set((await owners(c)).values()).size === 2, 60_000, "rebalanced onto c");
    expect(await b.term()).toBe(0);
    await eventually(async () => [...(await owners(c)).values()].every((x) => x === "c"), 30_000, "c owns all");

    // no two active readers, and every stream is 1..n with no gap and no duplicate
    expect(probe.violations).toEqual([]);
    await new Promise((res) => setTimeout(res, 1000));
    const jsm = await jetstreamManager(nc);
    for (let i = 0; i < N; i++) {
      const name = `${cluster}_CDC_d${i}`;
      const info = await jsm.streams.info(name);
      const last = await jsm.streams.getMessage(name, { seq: info.state.last_seq });
      expect(info.state.messages).toBe(Number(last?.header.get("Tributary-Pos")));
      expect(info.state.messages).toBeGreaterThan(20);
    }
    // each reader's handoffs were graceful: a "stop" probe precedes each later "start"
    for (let i = 0; i < N; i++) {
      const evs = probe.events.filter((e) => e.stream === `d${i}`);
      const starts = evs.filter((e) => e.event === "start");
      for (const s of starts.slice(1)) {
        const before = evs.slice(0, evs.indexOf(s));
        expect(before.some((e) => e.event === "stop"), `d${i}: graceful stop before ${s.node} started`).toBe(true);
      }
    }
  });
});
