// Every state and transition of the leased-actor machine, with fake side effects and xstate's
// SimulatedClock: exact state values, exact delays (one millisecond before a timer nothing has
// moved, at the timer it has), so removing a transition or changing a delay fails a test.
import { afterEach, describe, it, expect } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import {
  createLeasedActorMachine,
  DRAIN_TIMED_OUT,
  failureOf,
  RELEASE_TIMED_OUT,
  SELF_FENCED,
  type ActorLease,
  type LeasedActorInput,
  type WorkEvent,
} from "./leased-actor.machine.js";

const TTL = 15_000;
const RENEW_INTERVAL = TTL / 3;
const DEADLINE = TTL * 0.9;
const RETRY_ACQUIRE = TTL / 5;
const RENEW_RETRY = TTL / 15;
/** the wall clock the tests inject: lastErrorAt is exact */
const WALL0 = Date.UTC(2024, 0, 1);
const wallAt = (ms: number) => new Date(WALL0 + ms).toISOString();

/** the runtime's lease carries more than the machine needs (here a CAS revision) */
interface TestLease extends ActorLease {
  revision: number;
}

/**
 * A SimulatedClock that advances timer by timer: each timer fires at its own due time and
 * whatever it starts (a renew, a retry) is settled before the clock moves on, as in real time.
 */
class SteppingClock extends SimulatedClock {
  private readonly due = new Map<number, number>();
  override setTimeout(fn: () => void, timeout: number): number {
    const id: number = super.setTimeout(() => {
      this.due.delete(id);
      fn();
    }, timeout);
    this.due.set(id, this.now() + timeout);
    return id;
  }
  override clearTimeout(id: number): void {
    this.due.delete(id);
    super.clearTimeout(id);
  }
  /** Moves `ms` forward, stopping at each due timer (a timer without a valid due time never fires). */
  async advance(ms: number): Promise<void> {
    const target = this.now() + ms;
    for (let steps = 0; ; steps++) {
      // a timer that keeps rescheduling itself at once would spin here: fail instead
      if (steps > 10_000) throw new Error(`timers keep firing at ${this.now()} ms`);
      const due = [...this.due.values()].filter((t) => t <= target);
      const next = due.length ? Math.max(this.now(), Math.min(...due)) : target;
      this.set(next);
      await flush();
      if (next === target && !due.length) return;
    }
  }
}

const never = <T>() => new Promise<T>(() => undefined);
/** Lets the answers in flight arrive: a few turns of the event loop. */
async function flush(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
}
/**
 * Delivers a fake lease store's answer on a later turn of the event loop, as a reply from a
 * socket would be: a machine that renewed in a tight loop then spins visibly instead of
 * starving the event loop in microtasks.
 */
function overTheWire<T>(answer: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    answer.then(
      (v) => setImmediate(() => resolve(v)),
      (e: unknown) => setImmediate(() => reject(e)),
    ),
  );
}

/** Every actor a test started, stopped after it so no timer or loop outlives the test. */
const started: { stop(): void }[] = [];
afterEach(() => {
  for (const a of started.splice(0)) a.stop();
});

/** Exact state value while running. */
const running = (lease: string, work: unknown = { active: "running" }) => ({ running: { lease: { valid: lease }, work } });

function start(input: Partial<LeasedActorInput> = {}) {
  const clock = new SteppingClock();
  const h = {
    clock,
    acquired: [] as string[],
    renewed: [] as TestLease[],
    released: [] as TestLease[],
    acquire: async (): Promise<TestLease> => ({ epoch: 7, revision: 7, confirmedAt: clock.now() }),
    renew: async (l: TestLease): Promise<TestLease> => ({ ...l, revision: l.revision + 1, confirmedAt: clock.now() }),
    release: async (_l: TestLease): Promise<boolean> => true,
    /** inputs of the work actors started, in order */
    works: [] as { lease: TestLease; id: string }[],
    /** work actors torn down (after a drain or aborted) */
    workEnds: 0,
    /** STOP requests the work received (graceful drains asked for) */
    drainRequests: 0,
    /** whether the fake work finishes its drain when asked */
    drains: true,
    send: (_e: WorkEvent): void => {
      throw new Error("no work running");
    },
  };
  const machine = createLeasedActorMachine<TestLease>().provide({
    actors: {
      acquireLease: fromPromise(({ input }) => (h.acquired.push(input.id), overTheWire(h.acquire()))),
      renewLease: fromPromise(({ input }) => (h.renewed.push(input.lease), overTheWire(h.renew(input.lease)))),
      releaseLease: fromPromise(({ input }) => (h.released.push(input.lease), overTheWire(h.release(input.lease)))),
      work: fromCallback(({ sendBack, receive, input }) => {
        h.works.push(input);
        h.send = (e) => sendBack(e);
        receive((e) => {
          if (e.type !== "STOP") return;
          h.drainRequests++;
          if (h.drains) sendBack({ type: "WORK.STOPPED" } satisfies WorkEvent);
        });
        return () => {
          h.workEnds++;
        };
      }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { id: "stream.s", kind: "stream", stream: "s", leaseTtlMs: TTL, now: () => clock.now(), wallNow: () => WALL0 + clock.now(), ...input },
  });
  actor.start();
  started.push(actor);
  const advance = (ms: number) => clock.advance(ms);
  const send = async (e: Parameters<typeof actor.send>[0]) => {
    actor.send(e);
    await flush();
  };
  const value = () => actor.getSnapshot().value;
  const context = () => actor.getSnapshot().context;
  return { actor, h, advance, send, value, context };
}

/** Started and running with the first lease (epoch 7, revision 7). */
async function startRunning(input: Partial<LeasedActorInput> = {}) {
  const t = start(input);
  await t.send({ type: "START" });
  expect(t.value()).toEqual(running("waiting"));
  return t;
}

describe("leased actor machine: idle", () => {
  it("starts idle, holding nothing", () => {
    const { value, context, actor } = start();
    expect(value()).toBe("idle");
    expect(actor.getSnapshot().status).toBe("active");
    const { input: _input, ...rest } = context();
    expect(rest).toEqual({ lease: null, attempt: 0, lastError: null, lastErrorAt: null, position: null, ready: false, stopRequested: false });
  });

  it("STOP before START finishes without touching the lease store", async () => {
    const { h, send, value, actor } = start();
    await send({ type: "STOP" });
    expect(value()).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
    expect(h.acquired).toEqual([]);
    expect(h.released).toEqual([]);
  });
});

describe("leased actor machine: acquiring", () => {
  it("START acquires the actor's lease; once granted the work runs with that lease", async () => {
    const { h, send, value, context } = start();
    await send({ type: "START" });
    expect(h.acquired).toEqual(["stream.s"]);
    expect(value()).toEqual(running("waiting"));
    expect(context().lease).toEqual({ epoch: 7, revision: 7, confirmedAt: 0 });
    expect(h.works).toEqual([{ lease: { epoch: 7, revision: 7, confirmedAt: 0 }, id: "stream.s" }]);
    expect(h.workEnds).toBe(0);
  });

  it("stays in acquiring while the request is out", async () => {
    const { h, send, value, advance } = start();
    h.acquire = never;
    await send({ type: "START" });
    await advance(TTL);
    expect(value()).toBe("acquiring");
    expect(h.acquired).toEqual(["stream.s"]);
  });

  it("STOP while acquiring stops without a release (nothing is held)", async () => {
    const { h, send, value } = start();
    h.acquire = never;
    await send({ type: "START" });
    await send({ type: "STOP" });
    expect(value()).toBe("stopped");
    expect(h.released).toEqual([]);
  });

  it("a held lease means contending quietly; any other acquire error is recorded", async () => {
    const { h, send, value, context, advance } = start();
    h.acquire = async () => Promise.reject({ message: "held by n2", code: "LEASE_HELD", retryable: true });
    await send({ type: "START" });
    expect(value()).toBe("contending");
    expect(context().lastError).toBeNull();
    expect(context().lastErrorAt).toBeNull();

    await advance(1234);
    h.acquire = async () => Promise.reject(new Error("connection closed"));
    await send({ type: "POKE" });
    expect(value()).toBe("contending");
    expect(context().lastError).toBe("connection closed");
    expect(context().lastErrorAt).toBe(wallAt(1234));
  });
});

describe("leased actor machine: contending", () => {
  it("polls again after TTL/5 until the lease is free", async () => {
    const { h, send, value, advance } = start();
    h.acquire = async () => Promise.reject({ message: "held by n2", code: "LEASE_HELD" });
    await send({ type: "START" });
    await advance(RETRY_ACQUIRE - 1);
    expect(value()).toBe("contending");
    expect(h.acquired).toHaveLength(1);
    await advance(1);
    expect(h.acquired).toHaveLength(2);
    expect(value()).toBe("contending");
    h.acquire = async () => ({ epoch: 8, revision: 8, confirmedAt: h.clock.now() });
    await advance(RETRY_ACQUIRE);
    expect(h.acquired).toHaveLength(3);
    expect(value()).toEqual(running("waiting"));
  });

  it("POKE (the holder released) tries at once", async () => {
    const { h, send, value } = start();
    h.acquire = async () => Promise.reject({ message: "held by n2", code: "LEASE_HELD" });
    await send({ type: "START" });
    h.acquire = async () => ({ epoch: 8, revision: 8, confirmedAt: h.clock.now() });
    await send({ type: "POKE" });
    expect(h.acquired).toHaveLength(2);
    expect(value()).toEqual(running("waiting"));
  });

  it("STOP while contending stops", async () => {
    const { h, send, value, advance } = start();
    h.acquire = async () => Promise.reject({ message: "held by n2", code: "LEASE_HELD" });
    await send({ type: "START" });
    await send({ type: "STOP" });
    expect(value()).toBe("stopped");
    await advance(RETRY_ACQUIRE);
    expect(h.acquired).toHaveLength(1);
    expect(h.released).toEqual([]);
  });
});

describe("leased actor machine: the lease region", () => {
  it("renews every TTL/3 and each confirmed renew restarts the deadline", async () => {
    const { h, advance, value, context } = await startRunning();
    let answer = () => undefined as void;
    h.renew = (l) => new Promise((r) => (answer = () => r({ ...l, revision: l.revision + 1, confirmedAt: 5000 })));
    await advance(RENEW_INTERVAL - 1);
    expect(value()).toEqual(running("waiting"));
    expect(h.renewed).toEqual([]);
    await advance(1);
    expect(value()).toEqual(running("renewing"));
    expect(h.renewed).toEqual([{ epoch: 7, revision: 7, confirmedAt: 0 }]);
    // the answer comes 2 s later; the lease counts from before the request (t = 5000)
    await advance(2000);
    answer();
    await flush();
    expect(value()).toEqual(running("waiting"));
    expect(context().lease).toEqual({ epoch: 7, revision: 8, confirmedAt: 5000 });
    // next renew TTL/3 after the answer (t = 7000 + 5000), renewing with the new revision
    h.renew = never;
    await advance(RENEW_INTERVAL - 1);
    expect(value()).toEqual(running("waiting"));
    await advance(1);
    expect(value()).toEqual(running("renewing"));
    expect(h.renewed.at(-1)).toEqual({ epoch: 7, revision: 8, confirmedAt: 5000 });
    // deadline = 5000 + 0.9 TTL = 18 500, although the first lease alone would have expired at 13 500
    await advance(5000 + DEADLINE - 12_000 - 1);
    expect(value()).toEqual(running("renewing"));
    await advance(1);
    expect(value()).toBe("lost");
    expect(context().lastError).toBe(SELF_FENCED);
    expect(SELF_FENCED).toMatch(/deadline.*self-fenced/);
    expect(context().lastErrorAt).toBe(wallAt(5000 + DEADLINE));
  });

  it("keeps running across many TTLs while renews succeed", async () => {
    const { h, advance, value } = await startRunning();
    for (let i = 0; i < 9; i++) await advance(RENEW_INTERVAL);
    expect(h.renewed.map((l) => l.revision)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(value()).toEqual(running("waiting"));
    expect(h.workEnds).toBe(0);
  });

  it("self-fences at confirmedAt + 0.9 TTL when renews hang: the work is aborted, not drained", async () => {
    const { h, advance, value, context } = await startRunning();
    await work(h, { type: "WORK.READY" });
    h.renew = never;
    await advance(DEADLINE - 1);
    expect(value()).toEqual(running("renewing"));
    expect(h.workEnds).toBe(0);
    await advance(1);
    expect(value()).toBe("lost");
    expect(h.workEnds).toBe(1);
    expect(h.drainRequests).toBe(0);
    expect(context()).toMatchObject({ lease: null, ready: false, lastError: SELF_FENCED, lastErrorAt: wallAt(DEADLINE) });
    expect(h.released).toEqual([]);
  });

  it("a renew refused for ownership (LEASE_LOST) loses the lease at once", async () => {
    const { h, advance, value, context } = await startRunning();
    await work(h, { type: "WORK.READY" });
    h.renew = async () => Promise.reject({ message: "wrong last sequence", code: "LEASE_LOST" });
    await advance(RENEW_INTERVAL);
    expect(value()).toBe("lost");
    expect(h.workEnds).toBe(1);
    expect(h.drainRequests).toBe(0);
    expect(context()).toMatchObject({ lease: null, ready: false, lastError: "wrong last sequence", lastErrorAt: wallAt(RENEW_INTERVAL) });
  });

  it("a non-retryable renew error loses the lease at once", async () => {
    const { h, advance, value, context } = await startRunning();
    h.renew = async () => Promise.reject({ message: "bucket deleted", code: "NOT_FOUND", retryable: false });
    await advance(RENEW_INTERVAL);
    expect(value()).toBe("lost");
    expect(h.workEnds).toBe(1);
    expect(context().lastError).toBe("bucket deleted");
  });

  it("a transient renew error retries after TTL/15 under the same deadline, without stopping the work", async () => {
    const { h, advance, value, context } = await startRunning();
    h.renew = async () => Promise.reject({ message: "timeout", code: "NATS_UNAVAILABLE", retryable: true });
    await advance(RENEW_INTERVAL);
    expect(value()).toEqual(running("retrying"));
    expect(context().lastError).toBe("timeout");
    expect(context().lastErrorAt).toBe(wallAt(RENEW_INTERVAL));
    expect(h.renewed).toHaveLength(1);
    await advance(RENEW_RETRY - 1);
    expect(value()).toEqual(running("retrying"));
    expect(h.renewed).toHaveLength(1);
    h.renew = async (l) => ({ ...l, revision: l.revision + 1, confirmedAt: h.clock.now() });
    await advance(1);
    expect(h.renewed).toHaveLength(2);
    expect(h.renewed[1]).toEqual({ epoch: 7, revision: 7, confirmedAt: 0 });
    expect(value()).toEqual(running("waiting"));
    expect(context().lease).toEqual({ epoch: 7, revision: 8, confirmedAt: RENEW_INTERVAL + RENEW_RETRY });
    expect(h.workEnds).toBe(0);
  });

  it("stays in renewing while the renew request is out", async () => {
    const { h, advance, value } = await startRunning();
    h.renew = never;
    await advance(RENEW_INTERVAL);
    await advance(DEADLINE - RENEW_INTERVAL - 1);
    expect(value()).toEqual(running("renewing"));
    expect(h.renewed).toHaveLength(1);
  });

  it("transient renew errors that last past the deadline self-fence", async () => {
    const { h, advance, value, context } = await startRunning();
    h.renew = async () => Promise.reject({ message: "timeout", code: "NATS_UNAVAILABLE", retryable: true });
    await advance(RENEW_INTERVAL);
    for (let t = RENEW_INTERVAL + RENEW_RETRY; t < DEADLINE; t += RENEW_RETRY) {
      await advance(RENEW_RETRY);
      expect(value()).toEqual(running("retrying"));
    }
    expect(h.renewed).toHaveLength(9); // at 5000, 6000, … 13 000
    await advance(DEADLINE - 13_000);
    expect(value()).toBe("lost");
    expect(context().lastError).toBe(SELF_FENCED);
    expect(h.workEnds).toBe(1);
  });
});

describe("leased actor machine: the work region", () => {
  it("READY marks the actor ready; PROGRESS records the position", async () => {
    const { h, value, context } = await startRunning();
    await work(h, { type: "WORK.READY" });
    expect(context().ready).toBe(true);
    await work(h, { type: "WORK.PROGRESS", position: { lsn: "0/16B3748" } });
    expect(context().position).toEqual({ lsn: "0/16B3748" });
    expect(value()).toEqual(running("waiting"));
  });

  it.each(["FENCED", "LEASE_LOST"])("a %s work error means ownership is lost: the work is aborted at once", async (code) => {
    const { h, value, context } = await startRunning();
    await work(h, { type: "WORK.READY" });
    await work(h, { type: "WORK.FAILED", error: { message: "checkpoint refused", code, retryable: true } });
    expect(value()).toBe("lost");
    expect(h.workEnds).toBe(1);
    expect(h.drainRequests).toBe(0);
    expect(h.released).toEqual([]);
    expect(context()).toMatchObject({ lease: null, ready: false, lastError: "checkpoint refused", lastErrorAt: wallAt(0) });
  });

  it("a non-retryable work error keeps the lease and retries after failedRetryMs", async () => {
    const { h, advance, value, context } = await startRunning({ failedRetryMs: 45_000 });
    await work(h, { type: "WORK.READY" });
    await advance(1000);
    await work(h, { type: "WORK.FAILED", error: { message: "table t has no primary key", code: "SOURCE_INVALID", retryable: false } });
    expect(value()).toEqual(running("waiting", "failed"));
    expect(h.workEnds).toBe(1);
    expect(context()).toMatchObject({ ready: false, attempt: 1, lastError: "table t has no primary key", lastErrorAt: wallAt(1000) });
    await advance(45_000 - 1);
    expect(value()).toEqual(running("waiting", "failed"));
    expect(h.works).toHaveLength(1);
    expect(h.renewed.length).toBeGreaterThan(3); // the lease is kept meanwhile
    await advance(1);
    expect(value()).toEqual(running("waiting", { active: "running" }));
    expect(h.works).toHaveLength(2);
    expect(h.works[1]!.lease.revision).toBe(context().lease!.revision);
  });

  it("the failed retry delay defaults to 30 s", async () => {
    const { h, advance, value } = await startRunning();
    await work(h, { type: "WORK.FAILED", error: { message: "bad", retryable: false } });
    await advance(30_000 - 1);
    expect(value()).toEqual(running("waiting", "failed"));
    await advance(1);
    expect(value()).toEqual(running("waiting", { active: "running" }));
  });

  it("retryable work errors back off exponentially up to the cap, keeping the lease", async () => {
    const { h, advance, value, context } = await startRunning({ backoffBaseMs: 300, backoffMaxMs: 2000 });
    const delays = [300, 600, 1200, 2000, 2000];
    for (const [i, d] of delays.entries()) {
      await work(h, { type: "WORK.FAILED", error: { message: `e${i}`, code: "SOURCE_UNAVAILABLE", retryable: true } });
      expect(value()).toEqual(running("waiting", "backoff"));
      expect(context().attempt).toBe(i + 1);
      await advance(d - 1);
      expect(value()).toEqual(running("waiting", "backoff"));
      expect(h.works).toHaveLength(i + 1);
      await advance(1);
      expect(value()).toEqual(running("waiting", { active: "running" }));
      expect(h.works).toHaveLength(i + 2);
    }
    expect(context().lastError).toBe("e4");
    expect(h.workEnds).toBe(5);
  });

  it("backs off from 1 s and caps at 30 s by default; an error without a verdict is retried", async () => {
    const { h, advance, value } = await startRunning();
    const delays = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];
    for (const d of delays) {
      await work(h, { type: "WORK.FAILED", error: { message: "boom" } });
      await advance(d - 1);
      expect(value()).toEqual(running("waiting", "backoff"));
      await advance(1);
      expect(value()).toEqual(running("waiting", { active: "running" }));
    }
  });

  it("the backoff starts over once the work is ready again", async () => {
    const { h, advance, value, context } = await startRunning();
    await work(h, { type: "WORK.FAILED", error: { message: "e1", retryable: true } });
    await advance(1000);
    await work(h, { type: "WORK.FAILED", error: { message: "e2", retryable: true } });
    await advance(2000);
    await work(h, { type: "WORK.READY" });
    expect(context()).toMatchObject({ ready: true, attempt: 0 });
    await work(h, { type: "WORK.FAILED", error: { message: "e3", retryable: true } });
    await advance(999);
    expect(value()).toEqual(running("waiting", "backoff"));
    await advance(1);
    expect(value()).toEqual(running("waiting", { active: "running" }));
  });

  it("the backoff starts over with a new lease", async () => {
    const { h, advance, value, context } = await startRunning();
    await work(h, { type: "WORK.FAILED", error: { message: "e1", retryable: true } });
    await advance(1000);
    await work(h, { type: "WORK.FAILED", error: { message: "e2", retryable: true } });
    await advance(2000);
    await work(h, { type: "WORK.FAILED", error: { message: "lost", code: "LEASE_LOST" } });
    expect(context().attempt).toBe(2);
    await advance(RETRY_ACQUIRE);
    expect(value()).toEqual(running("waiting"));
    expect(context().attempt).toBe(0);
    await work(h, { type: "WORK.FAILED", error: { message: "e3", retryable: true } });
    await advance(999);
    expect(value()).toEqual(running("waiting", "backoff"));
    await advance(1);
    expect(value()).toEqual(running("waiting", { active: "running" }));
  });
});

describe("leased actor machine: stopping", () => {
  it("STOP drains the work, then CAS-deletes the lease with its last revision", async () => {
    const { h, advance, send, value, context, actor } = await startRunning();
    await advance(RENEW_INTERVAL);
    await work(h, { type: "WORK.READY" });
    h.drains = false;
    await send({ type: "STOP" });
    expect(value()).toEqual(running("waiting", { active: "draining" }));
    expect(h.drainRequests).toBe(1);
    expect(h.workEnds).toBe(0);
    await send({ type: "STOP" }); // already draining: asked once
    expect(h.drainRequests).toBe(1);
    h.release = never;
    await work(h, { type: "WORK.STOPPED" });
    expect(value()).toBe("releasing");
    expect(h.workEnds).toBe(1);
    expect(h.released).toEqual([{ epoch: 7, revision: 8, confirmedAt: RENEW_INTERVAL }]);
    expect(context().lastError).toBeNull();
    expect(actor.getSnapshot().status).toBe("active");
  });

  it("the release ends in stopped, whether it succeeds or fails", async () => {
    for (const release of [async () => true, async () => Promise.reject(new Error("timeout"))]) {
      const { h, send, value, context, actor } = await startRunning();
      await work(h, { type: "WORK.READY" });
      h.release = release;
      await send({ type: "STOP" });
      expect(value()).toBe("stopped");
      expect(actor.getSnapshot().status).toBe("done");
      expect(h.released).toHaveLength(1);
      expect(context()).toMatchObject({ lease: null, ready: false, lastError: null });
    }
  });

  it("a drain that takes longer than drainTimeoutMs is cut short and the lease released anyway", async () => {
    const { h, advance, send, value, context } = await startRunning({ drainTimeoutMs: 4000 });
    h.drains = false;
    h.release = never;
    await advance(1000);
    await send({ type: "STOP" });
    await advance(4000 - 1);
    expect(value()).toEqual(running("waiting", { active: "draining" }));
    await advance(1);
    expect(value()).toBe("releasing");
    expect(h.workEnds).toBe(1);
    expect(h.released).toHaveLength(1);
    expect(context().lastError).toBe(DRAIN_TIMED_OUT);
    expect(DRAIN_TIMED_OUT).toMatch(/graceful stop timed out/);
    expect(context().lastErrorAt).toBe(wallAt(5000));
  });

  it("the drain timeout defaults to 30 s; the lease is renewed meanwhile", async () => {
    const { h, advance, send, value } = await startRunning({ leaseTtlMs: 60_000 });
    h.drains = false;
    await send({ type: "STOP" });
    await advance(20_000);
    expect(value()).toEqual(running("waiting", { active: "draining" }));
    expect(h.renewed).toHaveLength(1);
    await advance(10_000 - 1);
    expect(value()).toEqual(running("waiting", { active: "draining" }));
    await advance(1);
    expect(value()).toBe("stopped");
  });

  it.each([
    ["backoff", { message: "e", retryable: true }],
    ["failed", { message: "e", retryable: false }],
  ] as const)("STOP in %s releases at once (there is no work to drain)", async (state, error) => {
    const { h, send, value } = await startRunning();
    await work(h, { type: "WORK.FAILED", error });
    expect(value()).toEqual(running("waiting", state));
    h.release = never;
    await send({ type: "STOP" });
    expect(value()).toBe("releasing");
    expect(h.drainRequests).toBe(0);
    expect(h.released).toEqual([{ epoch: 7, revision: 7, confirmedAt: 0 }]);
  });
});

describe("leased actor machine: a STOP wins over every retry (issue 10, item 5)", () => {
  it.each([
    ["retryable", { message: "publish refused", retryable: true }],
    ["non-retryable", { message: "table refused", retryable: false }],
  ] as const)("a %s work failure while draining releases the lease and stops; the work never runs again", async (_kind, error) => {
    const { h, advance, send, value, context, actor } = await startRunning();
    h.drains = false;
    await advance(1000);
    await send({ type: "STOP" });
    expect(value()).toEqual(running("waiting", { active: "draining" }));
    expect(context().stopRequested).toBe(true);
    await work(h, { type: "WORK.FAILED", error });
    expect(value()).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
    expect(h.released).toEqual([{ epoch: 7, revision: 7, confirmedAt: 0 }]);
    expect(context()).toMatchObject({ lastError: error.message, lastErrorAt: wallAt(1000), attempt: 0, lease: null });
    await advance(60_000);
    expect(h.works).toHaveLength(1);
  });

  it("a failure while draining waits for the release like any stop, bounded by the release timeout", async () => {
    const { h, send, value } = await startRunning();
    h.drains = false;
    h.release = never;
    await send({ type: "STOP" });
    await work(h, { type: "WORK.FAILED", error: { message: "e", retryable: true } });
    expect(value()).toBe("releasing");
  });

  it("ownership lost by the work while draining stops without a release and without contending", async () => {
    const { h, advance, send, value, context } = await startRunning();
    h.drains = false;
    await send({ type: "STOP" });
    await work(h, { type: "WORK.FAILED", error: { message: "fenced", code: "FENCED" } });
    expect(value()).toBe("stopped");
    expect(context().lastError).toBe("fenced");
    await advance(RETRY_ACQUIRE);
    expect(h.acquired).toHaveLength(1);
    expect(h.released).toEqual([]);
  });

  it("a lease lost while draining (renew refused) stops without contending again", async () => {
    const { h, advance, send, value, context } = await startRunning();
    h.drains = false;
    h.renew = async () => Promise.reject({ message: "wrong last sequence", code: "LEASE_LOST" });
    await send({ type: "STOP" });
    await advance(RENEW_INTERVAL);
    expect(value()).toBe("stopped");
    expect(context().lastError).toBe("wrong last sequence");
    expect(h.workEnds).toBe(1);
    await advance(RETRY_ACQUIRE);
    expect(h.acquired).toHaveLength(1);
    expect(h.released).toEqual([]);
  });

  it("a self-fence while draining (renews hang past the deadline) stops without contending again", async () => {
    const { h, advance, send, value, context } = await startRunning({ drainTimeoutMs: 60_000 });
    h.drains = false;
    h.renew = never;
    await send({ type: "STOP" });
    await advance(DEADLINE);
    expect(value()).toBe("stopped");
    expect(context().lastError).toBe(SELF_FENCED);
    await advance(RETRY_ACQUIRE);
    expect(h.acquired).toHaveLength(1);
  });

  it("a release that never answers ends in stopped after releaseTimeoutMs, saying so", async () => {
    const { h, advance, send, value, context, actor } = await startRunning({ releaseTimeoutMs: 700 });
    await advance(100);
    h.release = never;
    await send({ type: "STOP" });
    expect(value()).toBe("releasing");
    await advance(700 - 1);
    expect(value()).toBe("releasing");
    await advance(1);
    expect(value()).toBe("stopped");
    expect(actor.getSnapshot().status).toBe("done");
    expect(context()).toMatchObject({ lastError: RELEASE_TIMED_OUT, lastErrorAt: wallAt(800), lease: null });
    expect(RELEASE_TIMED_OUT).toMatch(/release not answered in time/);
  });

  it("the release timeout defaults to 5 s", async () => {
    const { h, advance, send, value } = await startRunning();
    h.release = never;
    await send({ type: "STOP" });
    await advance(5000 - 1);
    expect(value()).toBe("releasing");
    await advance(1);
    expect(value()).toBe("stopped");
  });

  it("without a STOP a work failure still backs off and runs the work again", async () => {
    const { h, advance, value, context } = await startRunning();
    expect(context().stopRequested).toBe(false);
    await work(h, { type: "WORK.FAILED", error: { message: "e", retryable: true } });
    expect(value()).toEqual(running("waiting", "backoff"));
    await advance(1000);
    expect(h.works).toHaveLength(2);
  });
});

describe("leased actor machine: lost", () => {
  it("contends again after TTL/5 and runs new work with the new lease", async () => {
    const { h, advance, value, context } = await startRunning();
    await work(h, { type: "WORK.FAILED", error: { message: "fenced", code: "FENCED" } });
    h.acquire = async () => ({ epoch: 12, revision: 12, confirmedAt: h.clock.now() });
    await advance(RETRY_ACQUIRE - 1);
    expect(value()).toBe("lost");
    expect(h.acquired).toHaveLength(1);
    await advance(1);
    expect(h.acquired).toHaveLength(2);
    expect(value()).toEqual(running("waiting"));
    expect(context().lease).toEqual({ epoch: 12, revision: 12, confirmedAt: RETRY_ACQUIRE });
    expect(h.works.map((w) => w.lease.epoch)).toEqual([7, 12]);
  });

  it("STOP while lost stops without a release (the lease is not ours)", async () => {
    const { h, advance, send, value } = await startRunning();
    await work(h, { type: "WORK.FAILED", error: { message: "fenced", code: "FENCED" } });
    await send({ type: "STOP" });
    expect(value()).toBe("stopped");
    await advance(RETRY_ACQUIRE);
    expect(h.acquired).toHaveLength(1);
    expect(h.released).toEqual([]);
  });
});

describe("leased actor machine: defaults for the runtime", () => {
  it("measures the lease with performance.now and stamps errors with Date.now when no clocks are given", async () => {
    const { h, advance, send, value, context } = start({ now: undefined, wallNow: undefined });
    h.acquire = async () => ({ epoch: 1, revision: 1, confirmedAt: performance.now() });
    h.renew = never;
    await send({ type: "START" });
    // the deadline is 0.9 TTL after the acquire by the real monotonic clock; allow 1 s of real time
    await advance(DEADLINE - 1000);
    expect(value()).toEqual(running("renewing"));
    const before = Date.now();
    await advance(1000);
    expect(value()).toBe("lost");
    expect(context().lastError).toBe(SELF_FENCED);
    const at = Date.parse(context().lastErrorAt!);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});

describe("failureOf", () => {
  it("reads the message, code and verdict of anything thrown", () => {
    expect(failureOf({ message: "m", code: "LEASE_LOST", retryable: false })).toEqual({ message: "m", code: "LEASE_LOST", retryable: false });
    expect(failureOf(new Error("plain"))).toEqual({ message: "plain" });
    expect(failureOf("text")).toEqual({ message: "text" });
    expect(failureOf(undefined)).toEqual({ message: "undefined" });
    expect(failureOf(null)).toEqual({ message: "null" });
    expect(failureOf({ message: 42, code: 7, retryable: "no" })).toEqual({ message: "[object Object]" });
  });
});

/** Sends a work event through the running fake work. */
async function work(h: { send: (e: WorkEvent) => void }, e: WorkEvent) {
  h.send(e);
  await flush();
}
