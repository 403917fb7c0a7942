// Crash safety: the end-to-end workload while the node is killed with `kill -9` at random
// moments (during the snapshot, mid-stream, mid-transaction) and restarted. The targets
// must equal the source: nothing lost, nothing applied out of order.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Kvm } from "@nats-io/kv";
import { assertBuilt, converged, createPipeline, diffAll, natsConnect, NodeProc, type Pipeline, rng, Workload } from "./support/index.js";

let p: Pipeline;
let node: NodeProc;

beforeAll(async () => {
  assertBuilt();
  p = await createPipeline("crash");
});
afterAll(async () => {
  await node?.kill9();
  await p?.cleanup();
});

describe("kill -9 at random moments", () => {
  it("loses nothing across 6 crashes and restarts", async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const rand = rng(seed);
    console.log(`crash test seed ${seed} (CRASH_SEED=${seed} replays the kill schedule)`);
    const w = new Workload(p.src, seed);
    await w.seed(1500);
    node = await NodeProc.create({ config: p.config("n1") });
    node.start();

    // 1st kill during the snapshot, the rest at random points of the workload
    await new Promise((r) => setTimeout(r, 400 + rand() * 400));
    let kills = 0;
    await node.kill9();
    kills++;
    node.start();

    const workload = w.run(10_000);
    let done = false;
    workload.finally(() => (done = true));
    while (kills < 6) {
      await new Promise((r) => setTimeout(r, 1500 + rand() * 3000));
      await node.kill9();
      kills++;
      await new Promise((r) => setTimeout(r, rand() * 500));
      node.start();
      if (done && kills >= 6) break;
    }
    await workload;
    expect(kills).toBeGreaterThanOrEqual(6);

    const raw = await converged(() => diffAll(p.src, p.dst, "public"), 180_000);
    expect(raw).toBeNull();
    const copy = await converged(() => diffAll(p.src, p.dst, "copy"), 60_000);
    expect(copy).toBeNull();

    // every restart took a new lease epoch and fenced the position with it
    const nc = await natsConnect();
    try {
      const positions = await (new Kvm(nc)).open(`${p.cluster}_positions`);
      const e = await positions.get("shop");
      expect(e?.json<{ epoch: number }>().epoch).toBeGreaterThan(4);
    } finally {
      await nc.close();
    }
    expect(node.exits.length).toBeGreaterThanOrEqual(6);
  });
});
