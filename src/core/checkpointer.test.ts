// The low-watermark checkpointer without NATS: a fake compare-and-set store that checks
// the revision chain, and injected clocks, so "due by time" is exact and nothing sleeps.
// Includes the race of issue 10, item 8: a maybe() that starts while a write() is in flight.
import { describe, expect, it } from "vitest";
import { TributaryError } from "../base/index.js";
import type { FencedPosition } from "../nats/index.js";
import { Checkpointer, type CheckpointerOptions } from "./checkpointer.js";

type Pos = string;
const INTERVAL = 1000;
const MAX_EVENTS = 100;
const WALL0 = Date.UTC(2024, 0, 1);

/** A positions key as the store would CAS it: each write must name the last revision. */
class FakeStore {
  revision = 7;
  readonly writes: Array<{ position: Pos; revision: number }> = [];
  /** the next write throws this */
  failWith?: Error;
  /** while set, writes wait for it */
  gate?: Promise<void>;

  async checkpoint<P>(f: FencedPosition<P>, position: P): Promise<FencedPosition<P>> {
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    if (f.revision !== this.revision) throw new TributaryError("FENCED", `wrong revision ${f.revision}, key is at ${this.revision}`);
    this.writes.push({ position: position as Pos, revision: f.revision });
    this.revision++;
    return { ...f, revision: this.revision, position };
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(o: Partial<CheckpointerOptions<Pos>> = {}) {
  const store = new FakeStore();
  const clock = { t: 0, wall: WALL0 };
  const committed: Array<{ position: Pos; requestedAt: number }> = [];
  const cp = new Checkpointer<Pos>({
    store,
    fenced: { key: "s", epoch: 3, revision: store.revision, position: "p0" },
    intervalMs: INTERVAL,
    maxEvents: MAX_EVENTS,
    now: () => clock.t,
    wallNow: () => clock.wall,
    onCommitted: (position, requestedAt) => {
      committed.push({ position, requestedAt });
    },
    ...o,
  });
  return { cp, store, clock, committed, written: () => store.writes.map((w) => w.position) };
}

describe("Checkpointer", () => {
  it("starts at the fenced position, idle", () => {
    const { cp, store } = setup();
    expect(cp.committed).toBe("p0");
    expect(cp.idle).toBe(true);
    expect(store.writes).toEqual([]);
  });

  it("writes nothing while no boundary is fully acknowledged, even when forced", async () => {
    const { cp, written } = setup();
    cp.boundary(10, "a");
    await cp.maybe(9, true);
    expect(written()).toEqual([]);
    expect(cp.idle).toBe(false);
    await cp.maybe(10, true);
    expect(written()).toEqual(["a"]);
    expect(cp.idle).toBe(true);
  });

  it("writes the newest fully acknowledged boundary and keeps the later ones", async () => {
    const { cp, written } = setup();
    cp.boundary(10, "a");
    cp.boundary(20, "b");
    cp.boundary(30, "c");
    await cp.maybe(25, true);
    expect(written()).toEqual(["b"]);
    expect(cp.committed).toBe("b");
    expect(cp.idle).toBe(false);
    await cp.maybe(30, true);
    expect(written()).toEqual(["b", "c"]);
    expect(cp.idle).toBe(true);
  });

  it("a boundary at the same count replaces the position (an idle source advancing)", async () => {
    const { cp, written } = setup();
    cp.boundary(5, "a");
    cp.boundary(5, "b");
    cp.boundary(6, "c");
    await cp.maybe(5, true);
    expect(written()).toEqual(["b"]);
    await cp.maybe(6, true);
    expect(written()).toEqual(["b", "c"]);
  });

  it("is due once the interval has passed since the last write, not a millisecond before", async () => {
    const { cp, clock, written } = setup();
    cp.boundary(1, "a");
    clock.t = INTERVAL - 1;
    await cp.maybe(1);
    expect(written()).toEqual([]);
    clock.t = INTERVAL;
    await cp.maybe(1);
    expect(written()).toEqual(["a"]);
    // the interval restarts from the write
    cp.boundary(2, "b");
    clock.t = 2 * INTERVAL - 1;
    await cp.maybe(2);
    expect(written()).toEqual(["a"]);
    clock.t = 2 * INTERVAL;
    await cp.maybe(2);
    expect(written()).toEqual(["a", "b"]);
  });

  it("the interval counts from the end of the write, not from its request", async () => {
    const { cp, clock, store, written } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    const w = cp.maybe(1, true);
    clock.t = 500; // the write takes 500 ms
    store.gate = undefined;
    slow.resolve();
    await w;
    cp.boundary(2, "b");
    clock.t = 500 + INTERVAL - 1;
    await cp.maybe(2);
    expect(written()).toEqual(["a"]);
    clock.t = 500 + INTERVAL;
    await cp.maybe(2);
    expect(written()).toEqual(["a", "b"]);
  });

  it("is due once maxEvents more events are acknowledged than at the last write", async () => {
    const { cp, written } = setup();
    cp.boundary(MAX_EVENTS - 1, "a");
    await cp.maybe(MAX_EVENTS - 1);
    expect(written()).toEqual([]);
    cp.boundary(MAX_EVENTS, "b");
    await cp.maybe(MAX_EVENTS);
    expect(written()).toEqual(["b"]);
    // counted from the acknowledged count of that write
    cp.boundary(2 * MAX_EVENTS - 1, "c");
    await cp.maybe(2 * MAX_EVENTS - 1);
    expect(written()).toEqual(["b"]);
    cp.boundary(2 * MAX_EVENTS, "d");
    await cp.maybe(2 * MAX_EVENTS);
    expect(written()).toEqual(["b", "d"]);
  });

  it("counts events from the acknowledged count passed to the write, not from the boundary written", async () => {
    const { cp, written } = setup();
    cp.boundary(10, "a");
    await cp.maybe(60, true); // written at 60 acknowledged, boundary 10
    cp.boundary(60 + MAX_EVENTS - 1, "b");
    await cp.maybe(60 + MAX_EVENTS - 1);
    expect(written()).toEqual(["a"]);
  });

  it("chains the compare-and-set: each write names the revision the previous one returned", async () => {
    const { cp, store } = setup();
    cp.boundary(1, "a");
    await cp.maybe(1, true);
    cp.boundary(2, "b");
    await cp.maybe(2, true);
    await cp.write("c");
    expect(store.writes).toEqual([
      { position: "a", revision: 7 },
      { position: "b", revision: 8 },
      { position: "c", revision: 9 },
    ]);
  });

  it("tells onCommitted the position and the wall-clock time taken before the request, after the write", async () => {
    const { cp, clock, store, committed } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    clock.wall = WALL0 + 5;
    const w = cp.maybe(1, true);
    clock.wall = WALL0 + 9;
    await Promise.resolve();
    expect(committed).toEqual([]); // not before the write succeeded
    store.gate = undefined;
    slow.resolve();
    await w;
    expect(committed).toEqual([{ position: "a", requestedAt: WALL0 + 5 }]);
    clock.wall = WALL0 + 20;
    await cp.write("b");
    expect(committed).toEqual([
      { position: "a", requestedAt: WALL0 + 5 },
      { position: "b", requestedAt: WALL0 + 20 },
    ]);
  });

  it("awaits onCommitted before the write counts as done", async () => {
    const gate = deferred();
    let done = false;
    const { cp } = setup({ onCommitted: () => gate.promise.then(() => void (done = true)) });
    cp.boundary(1, "a");
    const w = cp.maybe(1, true).then(() => expect(done).toBe(true));
    gate.resolve();
    await w;
    const x = deferred();
    let wrote = false;
    const { cp: cp2 } = setup({ onCommitted: () => x.promise.then(() => void (wrote = true)) });
    const w2 = cp2.write("b").then(() => expect(wrote).toBe(true));
    x.resolve();
    await w2;
  });

  it("a refused write (FENCED) rejects, commits nothing, calls nobody and leaves nothing in flight", async () => {
    const { cp, store, committed } = setup();
    cp.boundary(1, "a");
    store.failWith = new TributaryError("FENCED", "another owner wrote it");
    await expect(cp.maybe(1, true)).rejects.toMatchObject({ code: "FENCED" });
    expect(cp.committed).toBe("p0");
    expect(committed).toEqual([]);
    expect(cp.idle).toBe(true);
    await expect(cp.write("b")).rejects.toMatchObject({ code: "FENCED" });
    expect(cp.committed).toBe("p0");
    expect(committed).toEqual([]);
  });

  it("a refused write does not count as a write: the event count runs on from the last success", async () => {
    const { cp, store, written } = setup();
    cp.boundary(MAX_EVENTS, "a");
    store.failWith = new TributaryError("NATS_UNAVAILABLE", "timeout");
    await expect(cp.maybe(MAX_EVENTS, true)).rejects.toThrow("timeout");
    store.failWith = undefined;
    cp.boundary(MAX_EVENTS + 1, "b");
    await cp.maybe(MAX_EVENTS + 1); // due: MAX_EVENTS + 1 since the last successful write (none)
    expect(written()).toEqual(["b"]);
  });

  it("a refused write does not count as a write: the interval runs on from the last success", async () => {
    const { cp, store, clock, written } = setup();
    cp.boundary(1, "a");
    clock.t = 10;
    store.failWith = new TributaryError("NATS_UNAVAILABLE", "timeout");
    await expect(cp.maybe(1, true)).rejects.toThrow("timeout");
    store.failWith = undefined;
    cp.boundary(2, "b");
    clock.t = INTERVAL;
    await cp.maybe(2);
    expect(written()).toEqual(["b"]);
  });

  it("is not idle while a write is in flight", async () => {
    const { cp, store } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    const w = cp.maybe(1, true);
    expect(cp.idle).toBe(false);
    slow.resolve();
    await w;
    expect(cp.idle).toBe(true);
  });

  it("maybe() during an in-flight maybe() waits for it and then writes only when forced", async () => {
    const { cp, store, written } = setup();
    cp.boundary(1, "a");
    cp.boundary(2, "b");
    const slow = deferred();
    store.gate = slow.promise;
    const first = cp.maybe(1, true);
    let second = false;
    const notForced = cp.maybe(2).then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false); // it waits for the write in flight
    const forced = cp.maybe(2, true);
    store.gate = undefined;
    slow.resolve();
    await Promise.all([first, notForced, forced]);
    expect(written()).toEqual(["a", "b"]);
  });

  it("maybe() that waited for a write in flight returns without writing even when its own boundary is due", async () => {
    const { cp, store, written } = setup();
    cp.boundary(1, "a");
    cp.boundary(1 + MAX_EVENTS, "b");
    const slow = deferred();
    store.gate = slow.promise;
    const first = cp.maybe(1, true);
    const second = cp.maybe(1 + MAX_EVENTS); // due by count once the first is written, but it waited
    store.gate = undefined;
    slow.resolve();
    await Promise.all([first, second]);
    expect(written()).toEqual(["a"]);
    expect(cp.idle).toBe(false);
    await cp.maybe(1 + MAX_EVENTS); // the next call writes it
    expect(written()).toEqual(["a", "b"]);
  });

  it("write() waits for a maybe() in flight, then writes its position after it", async () => {
    const { cp, store } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    const first = cp.maybe(1, true);
    const direct = cp.write("z");
    store.gate = undefined;
    slow.resolve();
    await Promise.all([first, direct]);
    expect(store.writes).toEqual([
      { position: "a", revision: 7 },
      { position: "z", revision: 8 },
    ]);
    expect(cp.committed).toBe("z");
  });

  it("maybe() while a write() is in flight waits for it and writes on the revision it returned (issue 10, item 8)", async () => {
    const { cp, store } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    const direct = cp.write("w");
    expect(cp.idle).toBe(false); // the write is in flight, with no boundary pending
    const forced = cp.maybe(1, true);
    store.gate = undefined;
    slow.resolve();
    await Promise.all([direct, forced]); // before the fix: FENCED, both wrote on revision 7
    expect(store.writes).toEqual([
      { position: "w", revision: 7 },
      { position: "a", revision: 8 },
    ]);
    expect(cp.committed).toBe("a");
    expect(cp.idle).toBe(true);
  });

  it("a maybe() that is not forced returns after a write() in flight, leaving its boundary for the next call", async () => {
    const { cp, store, written } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    const direct = cp.write("w");
    const notForced = cp.maybe(1 + MAX_EVENTS);
    store.gate = undefined;
    slow.resolve();
    await Promise.all([direct, notForced]);
    expect(written()).toEqual(["w"]);
    await cp.maybe(1 + MAX_EVENTS);
    expect(written()).toEqual(["w", "a"]);
  });

  it("two write() calls and two forced maybe() calls waiting on one write each write on the previous revision", async () => {
    const { cp, store } = setup();
    cp.boundary(1, "a");
    cp.boundary(2, "b");
    const slow = deferred();
    store.gate = slow.promise;
    const first = cp.write("w1");
    const calls = [cp.write("w2"), cp.maybe(1, true), cp.maybe(2, true)];
    store.gate = undefined;
    slow.resolve();
    await Promise.all([first, ...calls]);
    expect(store.writes.map((w) => w.revision)).toEqual([7, 8, 9, 10]);
    expect(store.writes.map((w) => w.position).sort()).toEqual(["a", "b", "w1", "w2"].sort());
  });

  it("two write() calls waiting on one maybe() in flight write one after the other", async () => {
    const { cp, store } = setup();
    cp.boundary(1, "a");
    const slow = deferred();
    store.gate = slow.promise;
    const first = cp.maybe(1, true);
    const writes = [cp.write("x"), cp.write("y")];
    store.gate = undefined;
    slow.resolve();
    await Promise.all([first, ...writes]);
    expect(store.writes).toEqual([
      { position: "a", revision: 7 },
      { position: "x", revision: 8 },
      { position: "y", revision: 9 },
    ]);
  });

  it("write() resets the interval like any write", async () => {
    const { cp, clock, written } = setup();
    clock.t = 5 * INTERVAL;
    await cp.write("w");
    cp.boundary(1, "a");
    clock.t = 6 * INTERVAL - 1;
    await cp.maybe(1);
    expect(written()).toEqual(["w"]);
    clock.t = 6 * INTERVAL;
    await cp.maybe(1);
    expect(written()).toEqual(["w", "a"]);
  });

  it("works without onCommitted and with the real clocks by default", async () => {
    const store = new FakeStore();
    const cp = new Checkpointer<Pos>({ store, fenced: { key: "s", epoch: 1, revision: store.revision, position: null }, intervalMs: 0, maxEvents: Number.MAX_SAFE_INTEGER });
    cp.boundary(1, "a");
    await cp.maybe(1); // due: no time at all must pass with a zero interval
    await cp.write("b");
    expect(store.writes.map((w) => w.position)).toEqual(["a", "b"]);
    expect(cp.committed).toBe("b");
    const before = Date.now();
    let requestedAt = Number.NaN;
    const cp2 = new Checkpointer<Pos>({ store, fenced: { key: "s", epoch: 1, revision: store.revision, position: null }, intervalMs: 0, maxEvents: 1, onCommitted: (_p, at) => void (requestedAt = at) });
    await cp2.write("c");
    expect(requestedAt).toBeGreaterThanOrEqual(before);
    expect(requestedAt).toBeLessThanOrEqual(Date.now());
  });

  it("measures the interval from construction with its injected clock", async () => {
    const store = new FakeStore();
    const clock = { t: 40_000 };
    const cp = new Checkpointer<Pos>({ store, fenced: { key: "s", epoch: 1, revision: store.revision, position: null }, intervalMs: INTERVAL, maxEvents: MAX_EVENTS, now: () => clock.t });
    expect(cp.committed).toBeNull();
    cp.boundary(1, "a");
    clock.t = 40_000 + INTERVAL - 1;
    await cp.maybe(1);
    expect(store.writes).toEqual([]);
    clock.t = 40_000 + INTERVAL;
    await cp.maybe(1);
    expect(store.writes.map((w) => w.position)).toEqual(["a"]);
  });
});
