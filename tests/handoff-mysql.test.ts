// Two nodes and a MariaDB stream: while the mixed workload runs, the reader's lease moves
// between the nodes by graceful handoff (SIGTERM the owner: it drains and exits 0, the
// other node takes over) and by crash (kill -9 the owner: the other takes over after the
// lease TTL). An independent probe checker proves two readers were never active at once;
// the PostgreSQL target equals the MariaDB source value by value.
import { describe, it, expect, afterEach } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertBuilt, converged, createMyPipeline, diffWorkload, eventually, MixedWorkload, type MyPipeline, natsConnect, NodeProc, ProbeChecker } from "./support/index.js";

const OPS = Number(process.env.MYSQL_HANDOFF_OPS ?? 10_000);
let p: MyPipeline | undefined;
let nc: NatsConnection | undefined;
let probe: ProbeChecker | undefined;
const procs = new Map<string, NodeProc>();

afterEach(async () => {
  for (const n of procs.values()) await n.kill9();
  probe?.stop();
  await nc?.close();
  await p?.cleanup();
});

async function start(id: string): Promise<NodeProc> {
  const n = await NodeProc.create({ config: p!.config(id, { placement: { settle: "1s" } }) });
  n.start();
  procs.set(id, n);
  return n;
}

/** The node whose reader of stream `shop` is running and ready, if any (a departing node is not asked). */
async function readerOwner(except?: string): Promise<string | undefined> {
  for (const [id, n] of procs) {
    if (!n.running || id === except) continue;
    const a = await n.json<{ actors: Array<{ id: string; ready: boolean; epoch: number | null }> }>("/v1/actors").catch(() => ({ actors: [] }));
    if (a.actors.some((x) => x.id === "stream.shop" && x.ready && x.epoch !== null)) return id;
  }
  return undefined;
}

describe("MariaDB stream lease moving between two nodes", () => {
  it("survives a graceful handoff and a crash of the owner without loss", async () => {
    assertBuilt();
    p = await createMyPipeline("myho", "mariadb-to-pg");
    nc = await natsConnect();
    probe = new ProbeChecker(nc, `${p.cluster}.tributary.probe`);
    probe.start();
    const w = new MixedWorkload(p.source, 21);
    await w.seed(500);
    await start("a");
    await start("b");
    // wait for placement to settle: the same node runs the reader on two looks 3 s apart
    const first = await eventually(async () => {
      const o = await readerOwner();
      await new Promise((r) => setTimeout(r, 3000));
      return o && (await readerOwner()) === o ? o : undefined;
    }, 60_000, "a settled reader owner");
    const workload = w.run(OPS);

    // graceful: SIGTERM the owner; it drains (final checkpoint, lease released) and exits 0
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = Date.now();
    const probeMark = probe.events.length;
    const firstProc = procs.get(first)!;
    const exited = firstProc.term().then((code) => ({ code, ms: Date.now() - t0 }));
    const second = await eventually(async () => {
      const o = await readerOwner(first);
      return o && o !== first ? o : undefined;
    }, 60_000, "the other node takes the reader over");
    const handoffMs = Date.now() - t0;
    const { code, ms: exitedMs } = await exited;
    expect(code).toBe(0);
    if (exitedMs > 10_000) {
      // a slow drain: show what the departing node waited for
      console.log(firstProc.output.split("\n").filter((l) => /actor state|stopping actor|draining|drained|timed out/.test(l) && !/"(idle|acquiring|contending)"/.test(l)).slice(-30).join("\n"));
    }
    await start(first); // back in the cluster (the reader may or may not move back)

    // crash: kill -9 whoever owns the reader now; the other takes over after the lease TTL
    await new Promise((r) => setTimeout(r, 4000));
    const owner = await eventually(readerOwner, 60_000, "a reader owner before the crash");
    const t1 = Date.now();
    await procs.get(owner)!.kill9();
    const next = await eventually(async () => {
      const o = await readerOwner(owner);
      return o && o !== owner ? o : undefined;
    }, 60_000, "the survivor takes the reader over");
    const crashMs = Date.now() - t1;
    await workload;
    expect(w.ops).toBeGreaterThanOrEqual(OPS);

    const raw = await converged(() => diffWorkload(p!.source, p!.target), 180_000);
    expect(raw).toBeNull();
    const copy = await converged(() => diffWorkload(p!.source, { dialect: "mysql", db: p!.myCopy! }), 120_000);
    expect(copy).toBeNull();
    console.log(`reader moved ${first} -> ${second} by SIGTERM in ${handoffMs} ms (${first} exited after ${exitedMs} ms), ${owner} -> ${next} by kill -9 in ${crashMs} ms; ${w.ops} changes converged`);

    // never two active readers; the graceful handoff stopped the old reader before the new one started
    expect(probe.violations).toEqual([]);
    const evs = probe.events.filter((e) => e.stream === "shop");
    const sinceTerm = probe.events.slice(probeMark).filter((e) => e.stream === "shop");
    const secondStart = sinceTerm.findIndex((e) => e.event === "start" && e.node === second);
    expect(secondStart).toBeGreaterThanOrEqual(0);
    expect(sinceTerm.slice(0, secondStart).some((e) => e.event === "stop" && e.node === first)).toBe(true);
    expect(evs.length).toBeGreaterThan(0);
    expect(firstProc.exits).toEqual([0]);
  }, 600_000);
});
