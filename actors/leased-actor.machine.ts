/**
 * The lifecycle every Tributary actor (stream reader, transformer, sink) shares: hold a
 * fenced lease, run the work only while the lease is provably valid, back off on errors,
 * hand off gracefully on STOP — and stop for good once told, whatever fails meanwhile
 * (docs/adr/0014). The machine decides; the runtime provides the side effects
 * (`acquireLease`, `renewLease`, `releaseLease`, `work`) with `machine.provide(...)`, and
 * tests provide fakes and a SimulatedClock (docs/adr/0004).
 *
 * Lease validity is measured with the injected monotonic `now()` from *before* the request
 * that last confirmed the lease: past `confirmedAt + ttl - safety`, or on any CAS failure,
 * the work is stopped at once (self-fence) and the actor contends again.
 *
 * This module imports nothing from src/: it states the little it needs of a lease
 * (`ActorLease`) and of an error (`ActorFailure`), and the runtime's types satisfy them.
 */
import { assign, fromCallback, fromPromise, sendTo, setup, type ActorRefFrom } from "xstate";

/**
 * What the machine needs of a lease: when it was last confirmed (for the self-fence
 * deadline) and its epoch (shown by observers). The lease store's own lease type, with its
 * key and revision, satisfies this structurally; pick it with `createLeasedActorMachine<L>()`.
 */
export interface ActorLease {
  readonly epoch: number;
  /** `now()` taken before the request that last confirmed the lease */
  readonly confirmedAt: number;
}

/** What the machine knows of an error: its message, and the code and verdict of a TributaryError. */
export interface ActorFailure {
  message: string;
  code?: string;
  retryable?: boolean;
}

/** Static facts an actor is started with. */
export interface LeasedActorInput {
  id: string;
  kind: "stream" | "transformer" | "sink";
  stream: string;
  leaseTtlMs: number;
  /** monotonic clock in ms; tests pass the SimulatedClock's now @default performance.now */
  now?: () => number;
  /** wall clock in ms since the epoch, for `lastErrorAt` @default Date.now */
  wallNow?: () => number;
  /** first retry delay after a work error @default 1000 */
  backoffBaseMs?: number;
  /** cap of the retry delay @default 30000 */
  backoffMaxMs?: number;
  /** retry delay after a non-retryable work error (bad config, refused table…) @default 30000 */
  failedRetryMs?: number;
  /** how long a graceful stop may take before the lease is released anyway @default 30000 */
  drainTimeoutMs?: number;
  /** how long the lease release (a CAS delete) may take before the actor stops anyway; the lease then ages out @default 5000 */
  releaseTimeoutMs?: number;
}

/** Events the work sends to the machine. */
export type WorkEvent =
  | { type: "WORK.READY" }
  | { type: "WORK.PROGRESS"; position: unknown }
  | { type: "WORK.FAILED"; error: ActorFailure }
  | { type: "WORK.STOPPED" };

/** Events from outside. POKE: the lease was just released (a watcher saw the delete): try now. */
export type ControlEvent = { type: "START" } | { type: "STOP" } | { type: "POKE" };

/** The machine's context; `lease`, `ready`, `position`, `lastError(At)` are what observers read. */
export interface LeasedActorContext<L extends ActorLease = ActorLease> {
  input: Required<LeasedActorInput>;
  lease: L | null;
  /** failed work attempts since the work last became ready (drives the backoff) */
  attempt: number;
  lastError: string | null;
  /** ISO time of `lastError`, from `input.wallNow` */
  lastErrorAt: string | null;
  position: unknown;
  ready: boolean;
  /**
   * A STOP reached the running work: no later failure (of the work or of the lease) runs it
   * again; the actor ends in `stopped`, releasing the lease if it still holds it.
   */
  stopRequested: boolean;
}

/** Share of the TTL kept as a safety margin: the work stops at `confirmedAt + 0.9 × TTL`. */
const SAFETY_FRACTION = 0.1;

/** Messages of the errors the machine itself detects. */
export const SELF_FENCED = "lease deadline passed without a confirmed renew (self-fenced)";
export const DRAIN_TIMED_OUT = "graceful stop timed out; releasing the lease anyway";
export const RELEASE_TIMED_OUT = "lease release not answered in time; stopped anyway (the lease ages out after its TTL)";

/** Error codes after which we no longer own the actor (as opposed to errors to retry under the lease). */
const OWNERSHIP_LOST: ReadonlySet<string | undefined> = new Set(["LEASE_LOST", "FENCED"]);

/** Reads whatever a side effect threw as an ActorFailure (foreign errors keep their message). */
export function failureOf(e: unknown): ActorFailure {
  const x: { message?: unknown; code?: unknown; retryable?: unknown } = typeof e === "object" && e !== null ? e : {};
  return {
    message: typeof x.message === "string" ? x.message : String(e),
    code: typeof x.code === "string" ? x.code : undefined,
    retryable: typeof x.retryable === "boolean" ? x.retryable : undefined,
  };
}

/** Guard/action params of a transition taken on a thrown error (invoke onError). */
const thrown = ({ event }: { event: { error: unknown } }): ActorFailure => failureOf(event.error);
/** Guard/action params of a transition taken on WORK.FAILED. */
const reported = ({ event }: { event: { error: ActorFailure } }): ActorFailure => event.error;

/**
 * Builds the machine for a lease type `L`: the runtime passes its lease store's lease, so
 * the provided `renewLease`/`releaseLease`/`work` receive the full lease they need.
 */
export function createLeasedActorMachine<L extends ActorLease>() {
  return setup({
    // Stryker disable next-line ObjectLiteral: only carries TypeScript types; xstate never reads it at run time
    types: {
      input: {} as LeasedActorInput,
      context: {} as LeasedActorContext<L>,
      events: {} as WorkEvent | ControlEvent,
    },
    // Stryker disable all: placeholders that give the side effects their types; the runtime and the tests always provide them
    actors: {
      acquireLease: fromPromise<L, { id: string }>(async () => {
        throw new Error("acquireLease not provided");
      }),
      renewLease: fromPromise<L, { lease: L }>(async () => {
        throw new Error("renewLease not provided");
      }),
      releaseLease: fromPromise<boolean, { lease: L }>(async () => false),
      work: fromCallback<{ type: "STOP" }, { lease: L; id: string }>(() => () => undefined),
    },
    // Stryker restore all
    delays: {
      RENEW_INTERVAL: ({ context }) => Math.max(1, Math.floor(context.input.leaseTtlMs / 3)),
      LEASE_DEADLINE: ({ context }) => {
        const validUntil = context.lease!.confirmedAt + context.input.leaseTtlMs * (1 - SAFETY_FRACTION);
        return Math.max(0, validUntil - context.input.now());
      },
      RETRY_ACQUIRE: ({ context }) => Math.max(100, Math.floor(context.input.leaseTtlMs / 5)),
      RENEW_RETRY: ({ context }) => Math.max(50, Math.floor(context.input.leaseTtlMs / 15)),
      BACKOFF: ({ context }) => Math.min(context.input.backoffMaxMs, context.input.backoffBaseMs * 2 ** Math.min(context.attempt - 1, 16)),
      FAILED_RETRY: ({ context }) => context.input.failedRetryMs,
      DRAIN_TIMEOUT: ({ context }) => context.input.drainTimeoutMs,
      RELEASE_TIMEOUT: ({ context }) => context.input.releaseTimeoutMs,
    },
    guards: {
      /** someone else holds the lease: contend quietly, it is not an error */
      leaseHeld: (_, f: ActorFailure) => f.code === "LEASE_HELD",
      /** the lease is gone or a write was fenced: we are no longer the owner */
      ownershipLost: (_, f: ActorFailure) => OWNERSHIP_LOST.has(f.code),
      /** retrying cannot help (bad config, refused table, CAS conflict) */
      nonRetryable: (_, f: ActorFailure) => f.retryable === false,
      /** a STOP reached the work: failures end the actor instead of retrying */
      stopRequested: ({ context }) => context.stopRequested,
    },
    actions: {
      recordError: assign(({ context }, f: ActorFailure) => ({
        lastError: f.message,
        lastErrorAt: new Date(context.input.wallNow()).toISOString(),
      })),
      storeLease: assign((_, p: { lease: L }) => ({ lease: p.lease })),
      resetAttempts: assign({ attempt: 0 }),
      /** the work failed: it is no longer ready and the next backoff is longer */
      countFailure: assign(({ context }) => ({ attempt: context.attempt + 1, ready: false })),
      markReady: assign({ ready: true, attempt: 0 }),
      recordProgress: assign((_, p: { position: unknown }) => ({ position: p.position })),
      clearLease: assign({ lease: null, ready: false }),
      askWorkToDrain: sendTo("work", { type: "STOP" }),
      rememberStop: assign({ stopRequested: true }),
    },
  }).createMachine({
    id: "actor",
    context: ({ input }) => ({
      input: {
        backoffBaseMs: 1000,
        backoffMaxMs: 30_000,
        failedRetryMs: 30_000,
        drainTimeoutMs: 30_000,
        releaseTimeoutMs: 5000,
        ...input,
        now: input.now ?? (() => performance.now()),
        wallNow: input.wallNow ?? Date.now,
      },
      lease: null,
      attempt: 0,
      lastError: null,
      lastErrorAt: null,
      position: null,
      ready: false,
      stopRequested: false,
    }),
    initial: "idle",
    states: {
      idle: { on: { START: "acquiring", STOP: "stopped" } },
      acquiring: {
        invoke: {
          src: "acquireLease",
          input: ({ context }) => ({ id: context.input.id }),
          onDone: {
            target: "running",
            actions: [{ type: "storeLease", params: ({ event }) => ({ lease: event.output }) }, "resetAttempts"],
          },
          onError: [
            { guard: { type: "leaseHeld", params: thrown }, target: "contending" },
            { target: "contending", actions: { type: "recordError", params: thrown } },
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
                after: { LEASE_DEADLINE: { target: "#actor.lost", actions: { type: "recordError", params: { message: SELF_FENCED } } } },
                initial: "waiting",
                states: {
                  waiting: { after: { RENEW_INTERVAL: "renewing" } },
                  renewing: {
                    invoke: {
                      src: "renewLease",
                      input: ({ context }) => ({ lease: context.lease! }),
                      onDone: {
                        // targeting the enclosing `valid` exits and re-enters it (xstate always
                        // re-enters an ancestor target): the deadline restarts from the new confirmation
                        target: "#actor.running.lease.valid",
                        actions: { type: "storeLease", params: ({ event }) => ({ lease: event.output }) },
                      },
                      onError: [
                        { guard: { type: "ownershipLost", params: thrown }, target: "#actor.lost", actions: { type: "recordError", params: thrown } },
                        { guard: { type: "nonRetryable", params: thrown }, target: "#actor.lost", actions: { type: "recordError", params: thrown } },
                        // a transient failure (timeout, reconnect): retry soon; the deadline still runs
                        { target: "retrying", actions: { type: "recordError", params: thrown } },
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
                  "WORK.READY": { actions: "markReady" },
                  "WORK.PROGRESS": { actions: { type: "recordProgress", params: ({ event }) => ({ position: event.position }) } },
                  "WORK.FAILED": [
                    { guard: { type: "ownershipLost", params: reported }, target: "#actor.lost", actions: { type: "recordError", params: reported } },
                    // failing while draining: the STOP wins over any retry
                    { guard: "stopRequested", target: "#actor.releasing", actions: { type: "recordError", params: reported } },
                    { guard: { type: "nonRetryable", params: reported }, target: "failed", actions: [{ type: "recordError", params: reported }, "countFailure"] },
                    { target: "backoff", actions: [{ type: "recordError", params: reported }, "countFailure"] },
                  ],
                },
                states: {
                  running: { on: { STOP: { target: "draining", actions: "rememberStop" } } },
                  draining: {
                    entry: "askWorkToDrain",
                    on: { "WORK.STOPPED": "#actor.releasing" },
                    after: { DRAIN_TIMEOUT: { target: "#actor.releasing", actions: { type: "recordError", params: { message: DRAIN_TIMED_OUT } } } },
                  },
                },
              },
              /** retryable error: keep the lease, retry with exponential backoff */
              backoff: { after: { BACKOFF: "active" }, on: { STOP: "#actor.releasing" } },
              /** non-retryable error (bad config, refused table…): keep the lease, retry at the slowest pace */
              failed: { after: { FAILED_RETRY: "active" }, on: { STOP: "#actor.releasing" } },
            },
          },
        },
      },
      /** ownership lost: the work was stopped on exit of `running`; contend again, unless told to stop */
      lost: { entry: "clearLease", always: { guard: "stopRequested", target: "stopped" }, after: { RETRY_ACQUIRE: "acquiring" }, on: { STOP: "stopped" } },
      releasing: {
        invoke: {
          src: "releaseLease",
          input: ({ context }) => ({ lease: context.lease! }),
          onDone: { target: "stopped" },
          onError: { target: "stopped" },
        },
        // a release that never answers (NATS gone) must not keep the actor, or a node's drain, waiting
        after: { RELEASE_TIMEOUT: { target: "stopped", actions: { type: "recordError", params: { message: RELEASE_TIMED_OUT } } } },
      },
      stopped: { type: "final", entry: "clearLease" },
    },
  });
}

export type LeasedActorMachine<L extends ActorLease = ActorLease> = ReturnType<typeof createLeasedActorMachine<L>>;
export type LeasedActorRef<L extends ActorLease = ActorLease> = ActorRefFrom<LeasedActorMachine<L>>;
