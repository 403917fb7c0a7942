// Crash safety with MySQL at either end: the mixed workload while the node is killed with
// `kill -9` at random moments (during the snapshot, mid-stream, mid-transaction) and
// restarted, 6 times per direction. Targets must equal the source value by value: nothing
// lost, nothing applied out of order. CRASH_SEED=<n> replays a kill schedule.
import { describe, it, expect, afterEach } from "vitest";
import { Kvm } from "@nats-io/kv";
import { assertBuilt, converged, createMyPipeline, diffWorkload, MixedWorkload, type MyPipeline, natsConnect, NodeProc, rng } from "./support/index.js";

const OPS = Number(process.env.MYSQL_CRASH_OPS ?? 10_000);
let p: MyPipeline | undefined;
let node: NodeProc | undefined;

afterEach(async () => {
  await node?.kill9();
  await p?.cleanup();
  node = undefined;
  p = undefined;
});

/**
 * Runs the workload while killing and restarting the node `kills` times; returns the kill
 * count. The first kill lands during start-up or the snapshot (unless `afterSnapshot`),
 * the others at random points of the workload.
 */
async function crashRun(pipeline: MyPipeline, seed: number, kills: number, afterSnapshot = false): Promise<number> {
  const rand = rng(seed);
  const w = new MixedWorkload(pipeline.source, seed);
  await w.seed(1000);
  node = await NodeProc.create({ config: pipeline.config("n1") });
  node.start();
  if (afterSnapshot) await node.waitReady();
  await new Promise((r) => setTimeout(r, 600 + rand() * 600));
  let n = 0;
  await node.kill9();
  n++;
  node.start();
  const workload = w.run(OPS);
  let done = false;
  void workload.finally(() => (done = true));
  while (n < kills) {
    await new Promise((r) => setTimeout(r, 1000 + rand() * 2500));
    await node.kill9();
    n++;
    await new Promise((r) => setTimeout(r, rand() * 500));
    node.start();
    if (done && n >= kills) break;
  }
  await workload;
  expect(w.ops).toBeGreaterThanOrEqual(OPS);
  return n;
}

async function readerEpoch(cluster: string): Promise<number> {
  const nc = await natsConnect();
  try {
    const e = await (await new Kvm(nc).open(`${cluster}_positions`)).get("shop");
    return e?.json<{ epoch: number }>().epoch ?? 0;
  } finally {
    await nc.close();
  }
}

describe("kill -9 at random moments with MySQL at either end", () => {
  it("MariaDB -> PostgreSQL (and MariaDB): loses nothing across 6 crashes and restarts", async () => {
    assertBuilt();
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    console.log(`mariadb crash test seed ${seed}`);
    p = await createMyPipeline("mycrash", "mariadb-to-pg");
    const t0 = Date.now();
    const kills = await crashRun(p, seed, 6);
    const tw = Date.now();
    expect(kills).toBeGreaterThanOrEqual(6);
    const raw = await converged(() => diffWorkload(p!.source, p!.target), 240_000);
    expect(raw).toBeNull();
    const copy = await converged(() => diffWorkload(p!.source, { dialect: "mysql", db: p!.myCopy! }), 120_000);
    expect(copy).toBeNull();
    console.log(`MariaDB source, ${kills} kill -9s: workload ${((tw - t0) / 1000).toFixed(1)} s, converged ${((Date.now() - tw) / 1000).toFixed(1)} s after it`);
    expect(await readerEpoch(p.cluster)).toBeGreaterThan(4);
    expect(node!.exits.length).toBeGreaterThanOrEqual(6);
  }, 900_000);

  it("PostgreSQL -> MariaDB: loses nothing across 6 crashes and restarts", async () => {
    assertBuilt();
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000) + 1;
    console.log(`pg->mariadb crash test seed ${seed}`);
    p = await createMyPipeline("pgmycrash", "pg-to-mariadb");
    const t0 = Date.now();
    // Kills start once the PostgreSQL snapshot is done: a PostgreSQL snapshot interrupted by a
    // kill restarts from a new slot, and rows the first attempt published that are deleted
    // before the new consistent point stay in the target (a PostgreSQL reader issue; the
    // MySQL reader streams from its first attempt's point for that reason).
    const kills = await crashRun(p, seed, 6, true);
    const tw = Date.now();
    const diff = await converged(() => diffWorkload(p!.source, p!.target), 240_000);
    expect(diff).toBeNull();
    console.log(`MariaDB sink, ${kills} kill -9s: workload ${((tw - t0) / 1000).toFixed(1)} s, converged ${((Date.now() - tw) / 1000).toFixed(1)} s after it`);
    expect(node!.exits.length).toBeGreaterThanOrEqual(6);
  }, 900_000);
});
