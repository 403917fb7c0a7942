// The supervisor with fake actor hosts and a placement the test sets: which actors start
// here, which stop at once (removed, paused, changed, placed elsewhere without a lease), which
// are handed off (placed elsewhere, holding the lease: only once membership settled, at most
// movesPerStep per step), what /v1/actors lists while they stop, and stopAll.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ActorInfo } from "../admin/index.js";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";
import { actorId, type ActorRef } from "../nats/index.js";
import { Supervisor, type PlacementPolicy, type SupervisedHost } from "./supervisor.js";

const SELF = "n1";

/** An actor host that records what it is told; its stop resolves when the test releases it. */
class FakeHost implements SupervisedHost {
  readonly id: string;
  started = 0;
  stops = 0;
  pokes = 0;
  /** the lease epoch it reports (null: not holding) */
  epoch: number | null = null;
  private release?: () => void;
  private stopped?: Promise<void>;
  constructor(readonly ref: ActorRef, readonly spec: StreamSpec, private readonly autoRelease: boolean) {
    this.id = actorId(ref);
  }
  start(): void {
    this.started++;
  }
  stop(): Promise<void> {
    this.stops++;
    this.stopped ??= new Promise<void>((r) => (this.release = r));
    if (this.autoRelease) this.release!();
    return this.stopped;
  }
  /** lets a pending stop finish (the lease was released) */
  released(): void {
    this.release?.();
  }
  poke(): void {
    this.pokes++;
  }
  info(): ActorInfo {
    return { id: this.id, kind: this.ref.kind, stream: this.ref.stream, name: this.ref.name ?? null, state: "running.active.running", status: "active", epoch: this.epoch, ready: true, position: null, lastError: null, lastErrorAt: null, startedAt: "2024-01-01T00:00:00.000Z" };
  }
}

/** A placement the test controls: every actor on SELF unless moved. */
class Placement implements PlacementPolicy {
  readonly self = SELF;
  readonly moved = new Map<string, string>();
  isSettled = true;
  movesPerStep = 2;
  place(ids: string[]): Map<string, string> {
    return new Map(ids.map((id) => [id, this.moved.get(id) ?? SELF]));
  }
  settled(): boolean {
    return this.isSettled;
  }
}

const spec = (id: string, extra: Record<string, unknown> = {}): StreamSpec =>
  parseStreamSpec({ id, source: { type: "generator", rate: 1 }, transformers: [{ name: "t", jsonata: "$" }], ...extra });

function setup(o: { autoRelease?: boolean } = {}) {
  const hosts: FakeHost[] = [];
  const placement = new Placement();
  const sup = new Supervisor(
    (ref, s) => {
      const h = new FakeHost(ref, s, o.autoRelease ?? true);
      hosts.push(h);
      return h;
    },
    pino({ level: "silent" }),
    placement,
  );
  /** hosts of an actor id, oldest first */
  const of = (id: string) => hosts.filter((h) => h.id === id);
  const live = () => sup.actors().map((a) => a.id).sort();
  return { sup, hosts, placement, of, live };
}

describe("Supervisor", () => {
  it("starts every actor of a stream placed on this node, once, and nothing placed elsewhere", async () => {
    const { sup, hosts, placement, live } = setup();
    placement.moved.set("transformer.a.t", "n2");
    await sup.setStream("a", spec("a"));
    expect(hosts.map((h) => [h.id, h.started])).toEqual([["stream.a", 1]]);
    expect(live()).toEqual(["stream.a"]);
    await sup.setStream("a", spec("a")); // the same spec again: nothing new
    await sup.rebalance();
    expect(hosts).toHaveLength(1);
    expect(sup.streams().map((s) => s.id)).toEqual(["a"]);
    expect([...sup.desired()]).toEqual([
      ["stream.a", SELF],
      ["transformer.a.t", "n2"],
    ]);
  });

  it("a removed stream's actors stop at once", async () => {
    const { sup, of, live } = setup();
    await sup.setStream("a", spec("a"));
    await sup.setStream("b", spec("b"));
    await sup.setStream("a", null);
    expect(of("stream.a")[0]!.stops).toBe(1);
    expect(of("transformer.a.t")[0]!.stops).toBe(1);
    expect(of("stream.b")[0]!.stops).toBe(0);
    expect(live()).toEqual(["stream.b", "transformer.b.t"]);
    expect(sup.streams().map((s) => s.id)).toEqual(["b"]);
  });

  it("a paused stream's actors stop at once and start again when resumed; paused streams are not desired", async () => {
    const { sup, of, live } = setup();
    await sup.setStream("a", spec("a"));
    await sup.setStream("a", spec("a", { paused: true }));
    expect(of("stream.a").map((h) => h.stops)).toEqual([1]);
    expect(live()).toEqual([]);
    expect(sup.desired().size).toBe(0);
    expect(sup.streams().map((s) => s.id)).toEqual(["a"]);
    await sup.setStream("a", spec("a"));
    expect(of("stream.a").map((h) => [h.started, h.stops])).toEqual([
      [1, 1],
      [1, 0],
    ]);
  });

  it("a changed spec replaces the actors with ones built from the new spec", async () => {
    const { sup, of } = setup();
    await sup.setStream("a", spec("a"));
    await sup.setStream("a", spec("a", { source: { type: "generator", rate: 2 } }));
    const [old, now] = of("stream.a");
    expect(old!.stops).toBe(1);
    expect(now!.started).toBe(1);
    expect(now!.spec.source).toMatchObject({ rate: 2 });
    // a new sink adds its actor; the others' spec changed too, so they are replaced
    await sup.setStream("a", spec("a", { source: { type: "generator", rate: 2 }, sinks: [{ name: "k", type: "postgres", url: "postgres://h/db" }] }));
    expect(of("sink.a.k").map((h) => h.started)).toEqual([1]);
    expect(of("stream.a").map((h) => h.stops)).toEqual([1, 1, 0]);
  });

  it("setAll replaces the whole desired set", async () => {
    const { sup, live } = setup();
    await sup.setStream("a", spec("a"));
    await sup.setAll([spec("b"), spec("c")]);
    expect(live()).toEqual(["stream.b", "stream.c", "transformer.b.t", "transformer.c.t"]);
    expect(sup.streams().map((s) => s.id)).toEqual(["b", "c"]);
  });

  it("an actor placed elsewhere that does not hold its lease stops at once, settled or not", async () => {
    const { sup, of, placement } = setup();
    await sup.setStream("a", spec("a"));
    placement.isSettled = false;
    placement.moved.set("stream.a", "n2");
    await sup.rebalance();
    expect(of("stream.a")[0]!.stops).toBe(1);
    expect(sup.handoffs).toBe(0);
  });

  it("an actor placed elsewhere that holds its lease is handed off only once membership settled", async () => {
    const { sup, of, placement } = setup();
    await sup.setStream("a", spec("a"));
    of("stream.a")[0]!.epoch = 3;
    placement.moved.set("stream.a", "n2");
    placement.isSettled = false;
    await sup.rebalance();
    expect(of("stream.a")[0]!.stops).toBe(0);
    expect(sup.handoffs).toBe(0);
    placement.isSettled = true;
    await sup.rebalance();
    expect(of("stream.a")[0]!.stops).toBe(1);
    expect(sup.handoffs).toBe(1);
    // not started again here: it is placed on n2
    expect(of("stream.a")).toHaveLength(1);
  });

  it("hands off at most movesPerStep actors per step", async () => {
    const { sup, hosts, placement } = setup();
    await sup.setStream("a", spec("a"));
    await sup.setStream("b", spec("b"));
    for (const h of hosts) {
      h.epoch = 1;
      placement.moved.set(h.id, "n2");
    }
    placement.movesPerStep = 3;
    await sup.rebalance();
    expect(hosts.filter((h) => h.stops > 0)).toHaveLength(3);
    expect(sup.handoffs).toBe(3);
    await sup.rebalance();
    expect(hosts.filter((h) => h.stops > 0)).toHaveLength(4);
    expect(sup.handoffs).toBe(4);
    expect(hosts.every((h) => h.stops === 1)).toBe(true);
  });

  it("the moves limit does not hold back actors that stop for other reasons", async () => {
    const { sup, hosts, placement, live } = setup();
    await sup.setStream("a", spec("a"));
    await sup.setStream("b", spec("b"));
    placement.movesPerStep = 1;
    for (const h of hosts) h.epoch = 1;
    placement.moved.set("stream.a", "n2");
    placement.moved.set("transformer.a.t", "n2");
    await sup.setStream("b", null);
    expect(live()).toEqual(["transformer.a.t"]); // one handoff (stream.a), all of b stopped
    expect(sup.handoffs).toBe(1);
  });

  it("an actor placed back here starts again", async () => {
    const { sup, of, placement } = setup();
    placement.moved.set("stream.a", "n2");
    await sup.setStream("a", spec("a"));
    expect(of("stream.a")).toHaveLength(0);
    placement.moved.delete("stream.a");
    await sup.rebalance();
    expect(of("stream.a").map((h) => h.started)).toEqual([1]);
  });

  it("lists an actor that is stopping until its lease is released", async () => {
    const { sup, of, live } = setup({ autoRelease: false });
    await sup.setStream("a", spec("a"));
    await sup.setStream("a", null);
    expect(live()).toEqual(["stream.a", "transformer.a.t"]);
    of("stream.a")[0]!.released();
    await Promise.resolve();
    await Promise.resolve();
    expect(live()).toEqual(["transformer.a.t"]);
    of("transformer.a.t")[0]!.released();
    await new Promise((r) => setTimeout(r, 0));
    expect(live()).toEqual([]);
  });

  it("pokes the local contender of a released lease, and nothing for an unknown id", async () => {
    const { sup, of } = setup();
    await sup.setStream("a", spec("a"));
    sup.poke("stream.a");
    sup.poke("stream.zzz");
    expect(of("stream.a")[0]!.pokes).toBe(1);
    expect(of("transformer.a.t")[0]!.pokes).toBe(0);
  });

  it("stopAll stops every actor, those still handing off too, resolves when all are released, and starts nothing after", async () => {
    const { sup, hosts, of, placement, live } = setup({ autoRelease: false });
    await sup.setStream("a", spec("a"));
    of("stream.a")[0]!.epoch = 1;
    placement.moved.set("stream.a", "n2");
    await sup.rebalance(); // stream.a is handing off
    let done = false;
    const all = sup.stopAll().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(hosts.map((h) => [h.id, h.stops])).toEqual([
      ["stream.a", 2],
      ["transformer.a.t", 1],
    ]);
    expect(done).toBe(false);
    for (const h of hosts) h.released();
    await all;
    expect(live()).toEqual([]);
    await sup.setStream("b", spec("b"));
    await sup.rebalance();
    expect(hosts).toHaveLength(2);
  });

  it("a failing step is logged and does not block the next ones", async () => {
    let fail = true;
    const hosts: FakeHost[] = [];
    const errors: unknown[] = [];
    const log = pino({ level: "error" }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    const sup = new Supervisor(
      (ref, s) => {
        if (fail) throw new Error("cannot build the host");
        const h = new FakeHost(ref, s, true);
        hosts.push(h);
        return h;
      },
      log,
      new Placement(),
    );
    await expect(sup.setStream("a", spec("a"))).rejects.toThrow("cannot build the host");
    fail = false;
    await sup.setStream("b", spec("b"));
    expect(hosts.map((h) => h.id).sort()).toEqual(["stream.a", "stream.b", "transformer.a.t", "transformer.b.t"]);
    expect(errors).toMatchObject([{ msg: "supervisor step failed", err: { message: "cannot build the host" } }]);
  });
});
