// A 3-node NATS JetStream cluster (nats/cluster/*.conf on loopback) with replicas 3:
// killing one nats-server with kill -9 mid-stream and bringing it back loses nothing.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { assertBuilt, cleanupCluster, converged, createPipeline, diffAll, NodeProc, type Pipeline, Workload } from "./support/index.js";

const SCRIPT = "scripts/nats-cluster.sh";
const URLS = ["nats://127.0.0.1:14222", "nats://127.0.0.1:14223", "nats://127.0.0.1:14224"];
const nc3 = (...args: string[]) => execFileSync("bash", [SCRIPT, ...args], { stdio: "pipe", timeout: 90_000 }).toString();

let p: Pipeline;
let node: NodeProc;

beforeAll(async () => {
  assertBuilt();
  nc3("start");
  p = await createPipeline("ncl");
});
afterAll(async () => {
  await node?.kill9();
  try {
    nc3("start"); // make sure all three are up before cleaning
    await cleanupCluster(p.cluster, URLS);
  } finally {
    await p?.cleanup().catch(() => undefined);
    nc3("stop");
  }
});

describe("3-node NATS cluster", () => {
  it("keeps streaming with replicas 3 when one nats-server is killed and restarted", async () => {
    const w = new Workload(p.src, 11);
    await w.seed(200);
    const cfg = p.config("n1", { nats: { servers: URLS, replicas: 3 }, leases: { ttl: "6s", nodeTtl: "3s" } });
    node = await NodeProc.create({ config: cfg });
    node.start();
    await node.waitReady({ timeoutMs: 90_000 });
    const running = w.run(6000);
    await new Promise((r) => setTimeout(r, 3000));
    nc3("kill", "1");
    await new Promise((r) => setTimeout(r, 5000));
    nc3("restart", "1");
    await running;
    expect(await converged(() => diffAll(p.src, p.dst, "public"), 180_000)).toBeNull();
    expect(await converged(() => diffAll(p.src, p.dst, "copy"), 60_000)).toBeNull();
    expect(node.running).toBe(true);
  });
});
