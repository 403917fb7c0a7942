/**
 * The lifecycle every Tributary actor (stream reader, transformer, sink) shares: hold a
 * fenced lease, run the work only while the lease is provably valid, back off on errors,
 * hand off gracefully on STOP. The machine decides; the runtime provides the side effects
 * (`acquireLease`, `renewLease`, `releaseLease`, `work`) with `machine.provide(...)`, and
 * tests provide fakes and a SimulatedClock (docs/adr/0004).
 *
 * Lease validity is measured with the injected monotonic `now()` from *before* the request
 * that last confirmed the lease: past `confirmedAt + ttl - safety`, or on any CAS failure,
 * the work is stopped at once (self-fence) and the actor contends again.
 */
import { assign, fromCallback, fromPromise, sendTo, setup, type ActorRefFrom } from "xstate";
import type { Lease } from "../src/nats/lease.js";

/** Static facts an actor is started with. */
export interface LeasedActorInput {
  id: string;
  kind: "stream" | "transformer" | "sink";
  stream: string;
  leaseTtlMs: number;
  /** monotonic clock in ms; tests pass the SimulatedClock's now @default performance.now */
  now?: () => number;
  /** first retry delay after a work error @default 1000 */
  backoffBaseMs?: number;
  /** cap of the retry delay @default 30000 */
  backoffMaxMs?: number;
  /** how long a graceful stop may take before the lease is released anyway @default 30000 */
  drainTimeoutMs?: number;
}

/** Events the work sends to the machine. */
export type WorkEvent =
  | { type: "WORK.READY" }
  | { type: "WORK.PROGRESS"; position: unknown }
  | { type: "WORK.FAILED"; error: { message: string; code?: string; retryable?: boolean } }
  | { type: "WORK.STOPPED" };

/** Events from outside. POKE: the lease was just released (a watcher saw the delete): try now. */
export type ControlEvent = { type: "START" } | { type: "STOP" } | { type: "POKE" };

export interface LeasedActorContext {
  input: Required<Omit<LeasedActorInput, "now">> & { now: () => number };
  lease: Lease | null;
  attempt: number;
  lastError: string | null;
  lastErrorAt: string | null;
  position: unknown;
  ready: boolean;
}

const SAFETY_FRACTION = 0.1;

function errorOf(e: unknown): { message: string; code?: string; retryable?: boolean } {
  const x = e as { message?: string; code?: string; retryable?: boolean };
  return { message: x?.message ?? String(e), code: x?.code, retryable: x?.retryable };
}

/** Errors after which we no longer own the actor (as opposed to errors to retry under the lease). */
const OWNERSHIP_LOST = new Set(["LEASE_LOST", "FENCED"]);

export const leasedActorMachine = setup({
  types: {
    input: {} as LeasedActorInput,
    context: {} as LeasedActorContext,
    events: {} as WorkEvent | ControlEvent,
  },
  actors: {
    acquireLease: fromPromise<Lease, { id: string }>(async () => {
      throw new Error("acquireLease not provided");
    }),
    renewLease: fromPromise<Lease, { lease: Lease }>(async () => {
      throw new Error("renewLease not provided");
    }),
    releaseLease: fromPromise<boolean, { lease: Lease }>(async () => false),
    work: fromCallback<{ type: "STOP" }, { lease: Lease; id: string }>(() => () => undefined),
  },
  delays: {
    RENEW_INTERVAL: ({ context }) => Math.max(1, Math.floor(context.input.leaseTtlMs / 3)),
    LEASE_DEADLINE: ({ context }) => {
      const l = context.lease;
      if (!l) return 0;
      const validUntil = l.confirmedAt + context.input.leaseTtlMs * (1 - SAFETY_FRACTION);
      return Math.max(0, validUntil - context.input.now());
    },
    RETRY_ACQUIRE: ({ context }) => Math.max(100, Math.floor(context.input.leaseTtlMs / 5)),
    BACKOFF: ({ context }) => Math.min(context.input.backoffMaxMs, context.input.backoffBaseMs * 2 ** Math.min(context.attempt - 1, 16)),
    DRAIN_TIMEOUT: ({ context }) => context.input.drainTimeoutMs,
    RENEW_RETRY: ({ context }) => Math.max(50, Math.floor(context.input.leaseTtlMs / 15)),
  },
  guards: {
    ownershipLost: ({ event }) => event.type === "WORK.FAILED" && OWNERSHIP_LOST.has(event.error.code ?? ""),
    isLeaseLost: (_, params: { error: unknown }) => OWNERSHIP_LOST.has(errorOf(params.error).code ?? "") || errorOf(params.error).retryable === false,
  },
  actions: {
    recordError: assign((_, params: { error: unknown }) => ({ lastError: errorOf(params.error).message, lastErrorAt: new Date().toISOString() })),
  },
}).createMachine({
  id: "actor",
  context: ({ input }) => ({
    input: {
      backoffBaseMs: 1000,
      backoffMaxMs: 30_000,
      drainTimeoutMs: 30_000,
      ...input,
      now: input.now ?? (() => performance.now()),
    },
    lease: null,
    attempt: 0,
    lastError: null,
    lastErrorAt: null,
    position: null,
    ready: false,
  }),
  initial: "idle",
  states: {
    idle: { on: { START: "acquiring", STOP: "stopped" } },
    acquiring: {
      invoke: {
        src: "acquireLease",
        input: ({ context }) => ({ id: context.input.id }),
        onDone: { target: "running", actions: assign({ lease: ({ event }) => event.output, attempt: 0 }) },
        onError: [
          { guard: ({ event }) => errorOf(event.error).code === "LEASE_HELD", target: "contending" },
          { target: "contending", actions: { type: "recordError", params: ({ event }) => ({ error: event.error }) } },
        ],
      },
      on: { STOP: "stopped" },
    },
    /** someone else holds the lease (or NATS is down): poll, since TTL expiry is silent on 2.9 */
    contending: { after: { RETRY_ACQUIRE: "acquiring" }, on: { STOP: "stopped", POKE: "acquiring" } },
    running: {
      type: "parallel",
      states: {
        lease: {
          initial: "valid",
          states: {
            valid: {
              after: { LEASE_DEADLINE: { target: "#actor.lost", actions: assign({ lastError: "lease deadline passed without a confirmed renew (self-fenced)" }) } },
              initial: "waiting",
              states: {
                waiting: { after: { RENEW_INTERVAL: "renewing" } },
                renewing: {
                  invoke: {
                    src: "renewLease",
                    input: ({ context }) => ({ lease: context.lease! }),
                    onDone: { target: "#actor.running.lease.valid", reenter: true, actions: assign({ lease: ({ event }) => event.output }) },
                    onError: [
                      {
                        guard: { type: "isLeaseLost", params: ({ event }) => ({ error: event.error }) },
                        target: "#actor.lost",
                        actions: { type: "recordError", params: ({ event }) => ({ error: event.error }) },
                      },
                      // a transient failure (timeout, reconnect): retry soon; the deadline still runs
                      { target: "retrying", actions: { type: "recordError", params: ({ event }) => ({ error: event.error }) } },
                    ],
                  },
                },
                retrying: { after: { RENEW_RETRY: "renewing" } },
              },
            },
          },
        },
        work: {
          initial: "active",
          states: {
            active: {
              invoke: { id: "work", src: "work", input: ({ context }) => ({ lease: context.lease!, id: context.input.id }) },
              initial: "running",
              on: {
                "WORK.READY": { actions: assign({ ready: true, attempt: 0 }) },
                "WORK.PROGRESS": { actions: assign({ position: ({ event }) => event.position }) },
                "WORK.FAILED": [
                  { guard: "ownershipLost", target: "#actor.lost", actions: assign({ lastError: ({ event }) => event.error.message, lastErrorAt: () => new Date().toISOString() }) },
                  {
                    guard: ({ event }) => event.type === "WORK.FAILED" && event.error.retryable === false,
                    target: "failed",
                    actions: assign({ lastError: ({ event }) => event.error.message, lastErrorAt: () => new Date().toISOString(), attempt: ({ context }) => context.attempt + 1, ready: false }),
                  },
                  { target: "backoff", actions: assign({ lastError: ({ event }) => event.error.message, lastErrorAt: () => new Date().toISOString(), attempt: ({ context }) => context.attempt + 1, ready: false }) },
                ],
              },
              states: {
                running: { on: { STOP: "draining" } },
                draining: {
                  entry: sendTo("work", { type: "STOP" }),
                  on: { "WORK.STOPPED": "#actor.releasing" },
                  after: { DRAIN_TIMEOUT: { target: "#actor.releasing", actions: assign({ lastError: "graceful stop timed out; releasing the lease anyway" }) } },
                },
              },
            },
            /** retryable error: keep the lease, retry with exponential backoff */
            backoff: { after: { BACKOFF: "active" }, on: { STOP: "#actor.releasing" } },
            /** non-retryable error (bad config, refused table…): keep the lease, retry at the slowest pace */
            failed: { after: { [30_000]: "active" }, on: { STOP: "#actor.releasing" } },
          },
        },
      },
    },
    /** ownership lost: the work was stopped on exit of `running`; contend again */
    lost: { entry: assign({ lease: null, ready: false }), after: { RETRY_ACQUIRE: "acquiring" }, on: { STOP: "stopped" } },
    releasing: {
      invoke: {
        src: "releaseLease",
        input: ({ context }) => ({ lease: context.lease! }),
        onDone: { target: "stopped" },
        onError: { target: "stopped" },
      },
    },
    stopped: { type: "final", entry: assign({ lease: null, ready: false }) },
  },
});

export type LeasedActorRef = ActorRefFrom<typeof leasedActorMachine>;
