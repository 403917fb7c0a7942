// Transitions of the leased-actor machine with fake side effects and xstate's SimulatedClock:
// lease expiry, self-fencing and retry backoff are exercised without sleeping.
import { describe, it, expect } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import { leasedActorMachine, type WorkEvent } from "./leased-actor.machine.js";
import type { Lease } from "../src/nats/lease.js";
import { TributaryError } from "../src/errors.js";

const flush = () => new Promise((r) => setImmediate(r));
const TTL = 15_000;

interface Harness {
  clock: SimulatedClock;
  log: string[];
  renew: (l: Lease) => Promise<Lease>;
  acquire: () => Promise<Lease>;
  workSend?: (e: WorkEvent) => void;
  workStops: number;
  workStarts: number;
  gracefulStops: number;
}

function start(h: Partial<Harness> = {}) {
  const clock = new SimulatedClock();
  const harness: Harness = {
    clock,
    log: [],
    workStops: 0,
    workStarts: 0,
    gracefulStops: 0,
    acquire: async () => ({ key: "stream.s", epoch: 7, revision: 7, confirmedAt: clock.now(), acquired: "t" }),
    renew: async (l) => ({ ...l, revision: l.revision + 1, confirmedAt: clock.now() }),
    ...h,
  };
  const machine = leasedActorMachine.provide({
    actors: {
      acquireLease: fromPromise(() => harness.acquire()),
      renewLease: fromPromise(({ input }) => harness.renew(input.lease)),
      releaseLease: fromPromise(async ({ input }) => {
        harness.log.push(`release:${input.lease.revision}`);
        return true;
      }),
      work: fromCallback(({ sendBack, receive }) => {
        harness.workStarts++;
        harness.workSend = (e) => sendBack(e);
        receive((e) => {
          if (e.type === "STOP") {
            harness.gracefulStops++;
            sendBack({ type: "WORK.STOPPED" });
          }
        });
        return () => {
          harness.workStops++;
        };
      }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { id: "stream.s", kind: "stream", stream: "s", leaseTtlMs: TTL, now: () => clock.now() },
  });
  actor.start();
  return { actor, h: harness };
}

const stateOf = (a: { getSnapshot(): { value: unknown } }) => JSON.stringify(a.getSnapshot().value);

describe("leased actor machine", () => {
  it("acquires, runs the work, and renews every TTL/3 while the lease holds", async () => {
    let renews = 0;
    const { actor, h } = start({ renew: undefined });
    h.renew = async (l) => (renews++, { ...l, revision: l.revision + 1, confirmedAt: h.clock.now() });
    actor.send({ type: "START" });
    await flush();
    expect(stateOf(actor)).toContain("running");
    expect(h.workStarts).toBe(1);
    for (let i = 0; i < 6; i++) {
      h.clock.increment(TTL / 3);
      await flush();
    }
    expect(renews).toBe(6);
    expect(stateOf(actor)).toContain("running");
    expect(h.workStops).toBe(0);
  });

  it("self-fences when a renew fails by CAS (lease lost): the work is stopped at once, then it contends again", async () => {
    const { actor, h } = start();
    actor.send({ type: "START" });
    await flush();
    h.renew = async (l) => {
      throw new TributaryError("LEASE_LOST", `lease ${l.key} lost: wrong last sequence`);
    };
    h.clock.increment(TTL / 3);
    await flush();
    expect(actor.getSnapshot().value).toBe("lost");
    expect(h.workStops).toBe(1);
    expect(actor.getSnapshot().context.lastError).toMatch(/wrong last sequence/);
    // contends again after RETRY_ACQUIRE (TTL/5)
    h.clock.increment(TTL / 5);
    await flush();
    expect(stateOf(actor)).toContain("running");
    expect(h.workStarts).toBe(2);
  });

  it("self-fences when renews hang past the deadline measured from before the last confirmed request", async () => {
    const { actor, h } = start();
    actor.send({ type: "START" });
    await flush();
    h.renew = () => new Promise<Lease>(() => undefined); // NATS unreachable: never answers
    h.clock.increment(TTL / 3); // renew starts and hangs
    await flush();
    expect(stateOf(actor)).toContain("running");
    h.clock.increment(TTL * 0.9 - TTL / 3 - 1); // just before the deadline
    await flush();
    expect(stateOf(actor)).toContain("running");
    h.clock.increment(2);
    await flush();
    expect(actor.getSnapshot().value).toBe("lost");
    expect(h.workStops).toBe(1);
    expect(actor.getSnapshot().context.lastError).toMatch(/self-fenced/);
  });

  it("retries transient renew errors under the deadline without stopping the work", async () => {
    const { actor, h } = start();
    actor.send({ type: "START" });
    await flush();
    let fails = 2;
    const ok = h.renew;
    h.renew = async (l) => {
      if (fails-- > 0) throw new TributaryError("NATS_UNAVAILABLE", "timeout");
      return ok(l);
    };
    h.clock.increment(TTL / 3);
    await flush();
    h.clock.increment(TTL / 15);
    await flush();
    h.clock.increment(TTL / 15);
    await flush();
    expect(stateOf(actor)).toContain("running");
    expect(h.workStops).toBe(0);
  });

  it("backs off exponentially on retryable work errors while keeping the lease", async () => {
    const { actor, h } = start();
    actor.send({ type: "START" });
    await flush();
    h.workSend!({ type: "WORK.FAILED", error: { message: "connect ECONNREFUSED", code: "SOURCE_UNAVAILABLE", retryable: true } });
    await flush();
    expect(stateOf(actor)).toContain("backoff");
    expect(h.workStops).toBe(1);
    h.clock.increment(999);
    await flush();
    expect(h.workStarts).toBe(1);
    h.clock.increment(1);
    await flush();
    expect(h.workStarts).toBe(2);
    h.workSend!({ type: "WORK.FAILED", error: { message: "again", retryable: true } });
    await flush();
    h.clock.increment(1999);
    await flush();
    expect(h.workStarts).toBe(2); // second backoff is 2 s
    h.clock.increment(1);
    await flush();
    expect(h.workStarts).toBe(3);
    expect(actor.getSnapshot().context.lastError).toBe("again");
  });

  it("treats FENCED from the work as ownership lost", async () => {
    const { actor, h } = start();
    actor.send({ type: "START" });
    await flush();
    h.workSend!({ type: "WORK.FAILED", error: { message: "checkpoint refused", code: "FENCED", retryable: false } });
    await flush();
    expect(actor.getSnapshot().value).toBe("lost");
  });

  it("stops gracefully: asks the work to drain, then CAS-deletes the lease with its last revision", async () => {
    const { actor, h } = start();
    actor.send({ type: "START" });
    await flush();
    h.clock.increment(TTL / 3);
    await flush();
    actor.send({ type: "STOP" });
    await flush();
    expect(h.gracefulStops).toBe(1);
    expect(h.log).toEqual(["release:8"]);
    expect(actor.getSnapshot().status).toBe("done");
  });

  it("tries at once when poked (the holder released the lease) instead of waiting for the next poll", async () => {
    let tries = 0;
    const { actor, h } = start();
    const ok = h.acquire;
    h.acquire = async () => {
      if (++tries < 2) throw new TributaryError("LEASE_HELD", "held by n2");
      return ok();
    };
    actor.send({ type: "START" });
    await flush();
    expect(actor.getSnapshot().value).toBe("contending");
    actor.send({ type: "POKE" });
    await flush();
    expect(tries).toBe(2);
    expect(stateOf(actor)).toContain("running");
  });

  it("polls while another node holds the lease", async () => {
    let tries = 0;
    const { actor, h } = start();
    const ok = h.acquire;
    h.acquire = async () => {
      if (++tries < 3) throw new TributaryError("LEASE_HELD", "held by n2");
      return ok();
    };
    actor.send({ type: "START" });
    await flush();
    expect(actor.getSnapshot().value).toBe("contending");
    h.clock.increment(TTL / 5);
    await flush();
    h.clock.increment(TTL / 5);
    await flush();
    expect(tries).toBe(3);
    expect(stateOf(actor)).toContain("running");
    expect(actor.getSnapshot().context.lastError).toBeNull();
  });
});
