/**
 * The node's retry delays: the machine decides when an actor retries, the node provides how
 * long it waits — with jitter, so the actors of many streams that failed together (one
 * database down) do not retry in lockstep. Driven with fake timers through a real ActorHost.
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
