/**
 * How an actor's failures reach the log (at warn, with the error), and the node's retry
 * delays: the machine decides when an actor retries, the node provides how long it waits —
 * with jitter, so the actors of many streams that failed together (one database down) do
 * not retry in lockstep. Driven with fake timers through a real ActorHost.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Lease, LeaseStore } from "../nats/index.js";
import { ActorHost, retryDelays } from "./actor-host.js";
import { parseStreamSpec } from "../config/index.js";

const spec = parseStreamSpec({ id: "s", source: { type: "generator" } });

/** A lease store that always grants the lease at once. */
const grantingStore = (): LeaseStore =>
  ({
    acquire: async (key: string): Promise<Lease> => ({ key, epoch: 1, revision: 1, confirmedAt: performance.now(), acquired: new Date().toISOString() }) as Lease,
    renew: async (l: Lease) => ({ ...l, confirmedAt: performance.now() }),
    release: async () => true,
  }) as unknown as LeaseStore;

/** Starts a host whose work fails at once every time, counting the attempts. */
function failingHost(random: () => number): { host: ActorHost; attempts: () => number } {
  let n = 0;
  const host = new ActorHost({
    ref: { kind: "stream", stream: "s" },
    spec,
    leases: grantingStore(),
    leaseTtlMs: 60_000,
    log: pino({ level: "silent" }),
    random,
    work: () => ({
      run: async () => {
        n++;
        throw Object.assign(new Error("database down"), { retryable: true });
      },
    }),
  });
  host.start();
  return { host, attempts: () => n };
}

describe("retry delays with jitter", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance", "Date"] }));
  afterEach(() => vi.useRealTimers());

  it("a failed work is retried after a jittered backoff: two actors that failed together retry apart", async () => {
    const early = failingHost(() => 0); // the shortest delay of the first backoff: 1000/2
    const late = failingHost(() => 0.9); // 500 + 0.9 × 500 = 950
    await vi.advanceTimersByTimeAsync(1);
    expect([early.attempts(), late.attempts()]).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(498);
    expect([early.attempts(), late.attempts()]).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(2);
    expect([early.attempts(), late.attempts()]).toEqual([2, 1]);
    await vi.advanceTimersByTimeAsync(450);
    expect([early.attempts(), late.attempts()]).toEqual([2, 2]);
    early.host.kill();
    late.host.kill();
  });

  it("each delay keeps growing with the attempts and stays in [d/2, d)", () => {
    const input = { leaseTtlMs: 15_000, backoffBaseMs: 1000, backoffMaxMs: 30_000, failedRetryMs: 30_000 };
    const lo = retryDelays(() => 0);
    const hi = retryDelays(() => 0.999);
    expect([1, 2, 3, 6].map((attempt) => lo.BACKOFF({ context: { input, attempt } }))).toEqual([500, 1000, 2000, 15_000]);
    expect([1, 2, 3, 6].map((attempt) => hi.BACKOFF({ context: { input, attempt } }))).toEqual([999, 1999, 3998, 29_985]);
    expect(lo.FAILED_RETRY({ context: { input } })).toBe(15_000);
    expect(lo.RETRY_ACQUIRE({ context: { input } })).toBe(1500);
  });
});

/** A logger whose JSON lines the test reads (a pino destination, not a grep of text). */
function capturingLog() {
  const lines: Array<Record<string, unknown> & { level: number; msg: string; err?: Record<string, unknown> }> = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { log, lines, warnings: () => lines.filter((l) => l.level >= 40) };
}

describe("failures are logged at warn with the error (issue 10, item 9)", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance", "Date"] }));
  afterEach(() => vi.useRealTimers());

  it("a failed work: its error with type, message and stack, and the actor's state with the failure", async () => {
    const { log, warnings } = capturingLog();
    const host = new ActorHost({
      ref: { kind: "sink", stream: "s", name: "k" },
      spec,
      leases: grantingStore(),
      leaseTtlMs: 60_000,
      log,
      work: () => ({ run: async () => Promise.reject(Object.assign(new Error("target down"), { code: "SINK_UNAVAILABLE", retryable: true })) }),
    });
    host.start();
    await vi.advanceTimersByTimeAsync(1);
    host.kill();
    const failed = warnings().find((l) => l.msg === "actor work failed");
    expect(failed?.level).toBe(40);
    expect(failed?.err).toMatchObject({ type: "Error", message: "target down", code: "SINK_UNAVAILABLE" });
    expect(String(failed?.err?.stack)).toContain("target down");
    expect(warnings().find((l) => l.msg === "actor state")).toMatchObject({ state: "running.backoff", err: { message: "target down" } });
  });

  it("a work that cannot be built is logged with its error", async () => {
    const { log, warnings } = capturingLog();
    const host = new ActorHost({
      ref: { kind: "sink", stream: "s", name: "k" },
      spec,
      leases: grantingStore(),
      leaseTtlMs: 60_000,
      log,
      work: () => {
        throw new Error("no sink k");
      },
    });
    host.start();
    await vi.advanceTimersByTimeAsync(1);
    host.kill();
    expect(warnings().find((l) => l.msg === "actor work could not be built")?.err).toMatchObject({ message: "no sink k" });
  });

  it("a failed renew and a failed acquire are logged with their error; a lease held elsewhere is not a failure", async () => {
    const { log, warnings } = capturingLog();
    let acquires = 0;
    const leases = {
      ...grantingStore(),
      acquire: async (key: string) => {
        acquires++;
        if (acquires === 1) throw Object.assign(new Error(`lease ${key} is held by n2`), { code: "LEASE_HELD", retryable: true });
        if (acquires === 2) throw Object.assign(new Error("request timed out"), { code: "NATS_UNAVAILABLE", retryable: true });
        return { key, epoch: 1, revision: 1, confirmedAt: performance.now(), acquired: "t" } as Lease;
      },
      renew: async () => Promise.reject(Object.assign(new Error("renew timed out"), { code: "NATS_UNAVAILABLE", retryable: true })),
    } as unknown as LeaseStore;
    const host = new ActorHost({ ref: { kind: "stream", stream: "s" }, spec, leases, leaseTtlMs: 3000, log, random: () => 0, work: () => ({ run: () => new Promise(() => undefined) }) });
    host.start();
    await vi.advanceTimersByTimeAsync(2000);
    host.kill();
    expect(acquires).toBe(3);
    const msgs = warnings().filter((l) => l.err && l.msg !== "actor state").map((l) => [l.msg, l.err?.message]);
    expect(msgs[0]).toEqual(["lease acquire failed", "request timed out"]);
    expect(msgs.slice(1).every(([m, e]) => m === "lease renew failed" && e === "renew timed out")).toBe(true);
    expect(msgs.length).toBeGreaterThan(1);
  });
});
