// The source kernel against the machine's real nats-server, driven by a scripted source:
// publish order, checkpoints only of acknowledged boundaries, `commit` after each durable
// checkpoint, a durable position written before the next pull, the tail check on restart,
// the final checkpoint of a graceful stop, no writes after an abort, failures surfaced, and
// a change over the NATS max_payload dead-lettered (key, table, position) while the stream goes on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { Registry } from "prom-client";
import { TributaryError } from "../base/index.js";
import { Metrics } from "../metrics/index.js";
import { deleteClusterStreams, ensureDlq, openControlPlane, PositionStore, type ControlPlane } from "../nats/index.js";
import type { KernelDeps, ProbeEvent } from "./deps.js";
import type { SourceBatch, SourceChange, SourceConnector, SourceContext } from "./source.js";
import { sourceWork } from "./source-work.js";
import { eventually } from "../../tests/support/index.js";
import type { WorkControl } from "./work.js";

const cluster = `k${process.pid}${Date.now().toString(36)}`;
let nc: NatsConnection;
let cp: ControlPlane;

beforeAll(async () => {
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  cp = await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 10_000, nodeTtl: 10_000 });
  await ensureDlq(nc, cp.names, 1);
});
afterAll(async () => {
  await deleteClusterStreams(nc, cluster);
  await nc.close();
});

interface Pos {
  n: number;
}

const change = (n: number): SourceChange => ({ schema: "app", table: "t", op: "c", pos: String(n).padStart(8, "0"), keyJson: `{"id":${n}}`, json: `{"n":${n}}` });

/** A WorkControl whose stop and abort the test triggers. */
function control() {
  const abort = new AbortController();
  let stop!: () => void;
  let stopRequested = false;
  const stopping = new Promise<void>((r) => (stop = () => ((stopRequested = true), r())));
  const aborted = new Promise<void>((r) => abort.signal.addEventListener("abort", () => r(), { once: true }));
  const progress: unknown[] = [];
  let ready = false;
  const ctl: WorkControl = {
    signal: abort.signal,
    stopping,
    isStopping: () => stopRequested || abort.signal.aborted,
    ended: Promise.race([stopping, aborted]),
    ready: () => void (ready = true),
    progress: (p) => void progress.push(p),
  };
  return { ctl, stop, abort: () => abort.abort(), progress, isReady: () => ready };
}

function deps(stream: string, epoch: number, probes: Array<{ event: ProbeEvent; position: unknown }>): KernelDeps {
  return {
    nc,
    names: cp.names,
    positions: new PositionStore(cp.positions, "n1"),
    settings: { cluster, replicas: 1, checkpoint: { interval: 50, maxEvents: 1_000_000 } },
    stream: { id: stream, maxAge: 60_000 },
    epoch,
    log: pino({ level: "silent" }),
    metrics: new Metrics(new Registry()),
    probe: (event, position) => void probes.push({ event, position }),
  };
}

/** A source that yields the given batches, then waits for the stop (recording what it saw). */
class Scripted implements SourceConnector<Pos> {
  readonly commits: Pos[] = [];
  readonly seen: { checkpoint: Pos | null; tail: string | null }[] = [];
  closed = 0;
  /** called before each batch after the first is yielded (e.g. to inspect the bucket) */
  constructor(private readonly batches: Array<SourceBatch<Pos>>, private readonly beforeNext?: (i: number) => Promise<void>, private readonly failWith?: Error) {}
  async *read(ctx: SourceContext<Pos>): AsyncGenerator<SourceBatch<Pos>, void> {
    this.seen.push({ checkpoint: ctx.checkpoint, tail: ctx.tail });
    ctx.ready();
    for (let i = 0; i < this.batches.length; i++) {
      if (i > 0) await this.beforeNext?.(i);
      yield this.batches[i]!;
    }
    if (this.failWith) throw this.failWith;
    await new Promise<void>((r) => (ctx.signal.aborted ? r() : ctx.signal.addEventListener("abort", () => r(), { once: true })));
  }
  async commit(p: Pos): Promise<void> {
    this.commits.push(p);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

async function streamMessages(name: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(name);
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq });
    if (m) out.push(m.header.get("Tributary-Pos"));
  }
  return out;
}

describe("sourceWork", () => {
  it("publishes in order, writes a durable position before the next pull, checkpoints acked boundaries and commits them; a graceful stop ends with the final checkpoint", async () => {
    const probes: Array<{ event: ProbeEvent; position: unknown }> = [];
    const d = deps("s1", 1, probes);
    const store = new PositionStore(cp.positions, "reader");
    const atNextPull: unknown[] = [];
    const src = new Scripted(
      [
        { changes: [], position: { n: 0 }, durable: true },
        { changes: [change(1), change(2)] }, // inside a transaction: no resume point
        { changes: [change(3)], position: { n: 3 } },
        { changes: [change(4), change(5)], position: { n: 5 } },
      ],
      async (i) => void atNextPull.push(i === 1 ? (await store.read<Pos>("s1"))?.position : undefined),
    );
    const c = control();
    const run = sourceWork({ deps: d, role: { kind: "stream" }, connector: src }).run(c.ctl);
    await eventually(() => src.commits.some((p) => p.n === 5), 5000, "the commit of position 5", 25);
    c.stop();
    await run;
    expect(atNextPull[0]).toEqual({ n: 0 }); // the durable position was in the bucket before the rows came
    expect(await streamMessages(cp.names.cdcStream("s1"))).toEqual(["00000001", "00000002", "00000003", "00000004", "00000005"]);
    expect((await store.read<Pos>("s1"))?.position).toEqual({ n: 5 });
    expect(src.commits[0]).toEqual({ n: 0 });
    expect(src.commits.at(-1)).toEqual({ n: 5 });
    expect(src.commits.every((p, i) => i === 0 || p.n > src.commits[i - 1]!.n)).toBe(true);
    expect(c.isReady()).toBe(true);
    expect(probes.map((p) => p.event)).toEqual(["start", ...src.commits.map(() => "active"), "stop"]);
    expect(src.closed).toBe(1);
  });

  it("skips what the stream already holds when it restarts from an older checkpoint", async () => {
    const first = new Scripted([{ changes: [change(1), change(2), change(3)], position: { n: 1 } }]);
    const c1 = control();
    const run1 = sourceWork({ deps: deps("s2", 1, []), role: { kind: "stream" }, connector: first }).run(c1.ctl);
    await eventually(() => first.commits.length > 0, 5000, "a first commit", 25);
    c1.stop();
    await run1;
    // the checkpoint says n=1 but the stream holds 1-3: a restart replays from 1
    const second = new Scripted([{ changes: [change(2), change(3), change(4)], position: { n: 4 } }]);
    const c2 = control();
    const run2 = sourceWork({ deps: deps("s2", 2, []), role: { kind: "stream" }, connector: second }).run(c2.ctl);
    await eventually(() => second.commits.some((p) => p.n === 4), 5000, "the commit of position 4", 25);
    c2.stop();
    await run2;
    expect(second.seen[0]).toEqual({ checkpoint: { n: 1 }, tail: "00000003" });
    expect(await streamMessages(cp.names.cdcStream("s2"))).toEqual(["00000001", "00000002", "00000003", "00000004"]);
  });

  it("writes nothing after an abort (ownership lost)", async () => {
    const store = new PositionStore(cp.positions, "reader");
    const src = new Scripted([{ changes: [change(1)], position: { n: 1 } }]);
    const d = { ...deps("s3", 1, []), settings: { cluster, replicas: 1, checkpoint: { interval: 60_000, maxEvents: 1_000_000 } } };
    const c = control();
    const run = sourceWork({ deps: d, role: { kind: "stream" }, connector: src }).run(c.ctl);
    await eventually(async () => (await streamMessages(cp.names.cdcStream("s3")).catch(() => [])).length === 1, 5000, "one message in CDC_s3", 25);
    c.abort();
    await run;
    expect((await store.read<Pos>("s3"))?.position).toBeNull(); // fenced, never checkpointed
    expect(src.commits).toEqual([]);
    expect(src.closed).toBe(1);
  });

  it("fails with the source's error, after closing it", async () => {
    const src = new Scripted([{ changes: [change(1)], position: { n: 1 } }], undefined, new TributaryError("SOURCE_INVALID", "table app.t has no primary key"));
    const c = control();
    await expect(sourceWork({ deps: deps("s4", 1, []), role: { kind: "stream" }, connector: src }).run(c.ctl)).rejects.toMatchObject({ code: "SOURCE_INVALID" });
    expect(src.closed).toBe(1);
  });

  it("dead-letters a change over the server's max_payload with its key, table and position, counts it, and goes on past it", async () => {
    const limit = nc.info!.max_payload;
    const big: SourceChange = { ...change(2), keyJson: '{"id":2}', json: `{"n":2,"blob":"${"x".repeat(limit)}"}` };
    const src = new Scripted([{ changes: [change(1), big, change(3)], position: { n: 3 } }]);
    const d = deps("s6", 1, []);
    const c = control();
    const run = sourceWork({ deps: d, role: { kind: "stream" }, connector: src }).run(c.ctl);
    await eventually(() => src.commits.some((p) => p.n === 3), 5000, "the commit of position 3", 25);
    c.stop();
    await run;
    expect(await streamMessages(cp.names.cdcStream("s6"))).toEqual(["00000001", "00000003"]);
    expect((await new PositionStore(cp.positions, "reader").read<Pos>("s6"))?.position).toEqual({ n: 3 });
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage(cp.names.dlqStream, { last_by_subj: cp.names.dlqSubject("s6", "stream") });
    expect(m?.header.get("Tributary-Reason")).toBe("oversized");
    expect(m?.header.get("Tributary-Original-Pos")).toBe("00000002");
    expect(m?.header.get("Tributary-Orig-Tributary-Key")).toBe('{"id":2}');
    expect(m?.header.get("Tributary-Orig-Tributary-Table")).toBe("app.t");
    expect(m?.header.get("Tributary-Error")).toMatch(new RegExp(`^event of app\\.t at position 00000002 is \\d+ bytes, over the NATS max_payload of ${limit} bytes`));
    // the summary, not the row: the row stays in the source
    expect(m?.json()).toMatchObject({ reason: "oversized", limit, schema: "app", table: "t", op: "c", pos: "00000002", key: { id: 2 } });
    expect(m!.data.length).toBeLessThan(1000);
    expect((await d.metrics.registry.getSingleMetric("tributary_events_oversized_total")!.get()).values).toEqual([{ labels: { stream: "s6", actor: "stream" }, value: 1 }]);
  });

  it("fails FENCED when another owner took the position", async () => {
    const src = new Scripted([{ changes: [change(1)], position: { n: 1 } }]);
    const c = control();
    const run = sourceWork({ deps: { ...deps("s5", 1, []), settings: { cluster, replicas: 1, checkpoint: { interval: 60_000, maxEvents: 1_000_000 } } }, role: { kind: "stream" }, connector: src }).run(c.ctl);
    await eventually(async () => (await streamMessages(cp.names.cdcStream("s5")).catch(() => [])).length === 1, 5000, "one message in CDC_s5", 25);
    await new PositionStore(cp.positions, "n2").fence("s5", 2); // a newer owner
    c.stop(); // the final checkpoint is refused
    await expect(run).rejects.toMatchObject({ code: "FENCED" });
  });
});
