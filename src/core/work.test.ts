// The adapter between a Work and the leased-actor machine's `work` actor, run under a
// minimal parent machine that records what the adapter sends back: a stop request becomes a
// drain, the parent leaving the state aborts, and every way a work can end is reported with
// the right event, code and retry verdict.
import { afterEach, describe, expect, it } from "vitest";
import { assign, createActor, sendTo, setup, type AnyActorRef } from "xstate";
import type { WorkEvent } from "../../actors/leased-actor.machine.js";
import { TributaryError } from "../base/index.js";
import type { Lease } from "../nats/index.js";
import { FailLatch, workActor, type Work, type WorkControl, type WorkFactory } from "./work.js";

const LEASE: Lease = { key: "stream.s", epoch: 4, revision: 9, confirmedAt: 0, acquired: "2024-01-01T00:00:00.000Z" };

/** A work the test drives: it resolves or rejects `run` when told, and exposes its control. */
class Driven implements Work {
  ctl?: WorkControl;
  private settle?: { resolve: () => void; reject: (e: unknown) => void };
  run(ctl: WorkControl): Promise<void> {
    this.ctl = ctl;
    return new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }
  finish(): void {
    this.settle!.resolve();
  }
  fail(e: unknown): void {
    this.settle!.reject(e);
  }
}

const running: AnyActorRef[] = [];
afterEach(() => {
  for (const a of running.splice(0)) a.stop();
});

/** Runs the adapter for `factory` under a parent that records the events it gets back; STOP is forwarded, LEAVE ends the invoke. */
function host(factory: WorkFactory) {
  const events: WorkEvent[] = [];
  const machine = setup({
    types: { events: {} as WorkEvent | { type: "STOP" } | { type: "LEAVE" } },
    actors: { work: workActor(factory) },
  }).createMachine({
    initial: "working",
    states: {
      working: {
        invoke: { id: "work", src: "work", input: () => ({ lease: LEASE, id: "stream.s" }) },
        on: {
          STOP: { actions: sendTo("work", { type: "STOP" }) },
          LEAVE: "left",
          "WORK.*": { actions: assign(({ event }) => (events.push(event as WorkEvent), {})) },
        },
      },
      left: {
        on: { "WORK.*": { actions: assign(({ event }) => (events.push(event as WorkEvent), {})) } },
      },
    },
  });
  const actor = createActor(machine);
  running.push(actor);
  actor.start();
  return { actor, events };
}

/** Lets queued microtasks and promise callbacks run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

describe("workActor", () => {
  it("hands the work its lease, and forwards ready and progress", async () => {
    let lease: Lease | undefined;
    const w = new Driven();
    const { events } = host((l) => ((lease = l), w));
    expect(lease).toEqual(LEASE);
    w.ctl!.ready();
    w.ctl!.progress({ lsn: "0/1" });
    await settle();
    expect(events).toEqual([{ type: "WORK.READY" }, { type: "WORK.PROGRESS", position: { lsn: "0/1" } }]);
  });

  it("STOP asks the work to drain: stopping and ended resolve, the signal is not aborted; a finished run is WORK.STOPPED", async () => {
    const w = new Driven();
    const { actor, events } = host(() => w);
    const ctl = w.ctl!;
    let stopping = false;
    let ended = false;
    void ctl.stopping.then(() => (stopping = true));
    void ctl.ended.then(() => (ended = true));
    await settle();
    expect([stopping, ended, ctl.isStopping(), ctl.signal.aborted]).toEqual([false, false, false, false]);
    actor.send({ type: "STOP" });
    await settle();
    expect([stopping, ended, ctl.isStopping(), ctl.signal.aborted]).toEqual([true, true, true, false]);
    expect(events).toEqual([]);
    w.finish();
    await settle();
    expect(events).toEqual([{ type: "WORK.STOPPED" }]);
  });

  it("leaving the state aborts the work at once: signal aborted, ended resolves, stopping does not; nothing is reported after", async () => {
    const w = new Driven();
    const { actor, events } = host(() => w);
    const ctl = w.ctl!;
    let stopping = false;
    let ended = false;
    void ctl.stopping.then(() => (stopping = true));
    void ctl.ended.then(() => (ended = true));
    actor.send({ type: "LEAVE" });
    await settle();
    expect(ctl.signal.aborted).toBe(true);
    expect(ctl.isStopping()).toBe(true);
    expect([ended, stopping]).toEqual([true, false]);
    ctl.ready();
    ctl.progress(1);
    w.finish();
    await settle();
    expect(events).toEqual([]);
  });

  it("a rejection after the abort is not reported either", async () => {
    const w = new Driven();
    const { actor, events } = host(() => w);
    actor.send({ type: "LEAVE" });
    w.fail(new TributaryError("FENCED", "late"));
    await settle();
    expect(events).toEqual([]);
  });

  it("a run that ends without being asked to stop is a retryable failure", async () => {
    const w = new Driven();
    const { events } = host(() => w);
    w.finish();
    await settle();
    expect(events).toEqual([{ type: "WORK.FAILED", error: { message: "work ended without being asked to stop", retryable: true } }]);
  });

  it("a rejection is WORK.FAILED with its code and verdict (FENCED: not retryable)", async () => {
    const w = new Driven();
    const { events } = host(() => w);
    w.fail(new TributaryError("FENCED", "checkpoint refused"));
    await settle();
    expect(events).toEqual([{ type: "WORK.FAILED", error: { message: "checkpoint refused", code: "FENCED", retryable: false } }]);
  });

  it("a rejection after STOP is still a failure, with the code of the error (SOURCE_UNAVAILABLE: retryable)", async () => {
    const w = new Driven();
    const { actor, events } = host(() => w);
    actor.send({ type: "STOP" });
    w.fail(new TributaryError("SOURCE_UNAVAILABLE", "walsender gone"));
    await settle();
    expect(events).toEqual([{ type: "WORK.FAILED", error: { message: "walsender gone", code: "SOURCE_UNAVAILABLE", retryable: true } }]);
  });

  it("a foreign rejection becomes INTERNAL, retryable, with its message", async () => {
    const w = new Driven();
    const { events } = host(() => w);
    w.fail(new Error("socket hang up"));
    await settle();
    expect(events).toEqual([{ type: "WORK.FAILED", error: { message: "socket hang up", code: "INTERNAL", retryable: true } }]);
  });

  it("a factory that throws is reported as WORK.FAILED on a later turn, not while the machine enters the state", async () => {
    const { events } = host(() => {
      throw new TributaryError("CONFIG_INVALID", "table public.x has no primary key");
    });
    expect(events).toEqual([]); // not synchronously, while the machine is still entering the state
    await settle();
    expect(events).toEqual([{ type: "WORK.FAILED", error: { message: "table public.x has no primary key", code: "CONFIG_INVALID", retryable: false } }]);
  });
});

describe("FailLatch", () => {
  it("keeps the first failure, calls onFail once, and halts", () => {
    const seen: unknown[] = [];
    const latch = new FailLatch((e) => seen.push(e));
    expect([latch.failed, latch.halted, latch.error]).toEqual([false, false, undefined]);
    latch.fail("first");
    latch.fail("second");
    expect([latch.failed, latch.halted, latch.error]).toEqual([true, true, "first"]);
    expect(seen).toEqual(["first"]);
  });

  it("works without onFail", () => {
    const latch = new FailLatch();
    latch.fail(new Error("x"));
    expect(latch.failed).toBe(true);
  });
});
