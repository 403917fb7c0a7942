/**
 * Runs one leased actor on this node: builds the machine with the real side effects
 * (`machine.provide`), starts it, reports its state for /v1/actors, stops it gracefully.
 * Every failure it sees is logged at warn with the error itself (`{ err }`): a work that
 * failed, a lease request that failed, and the errors the machine detects (self-fence,
 * drain and release timeouts).
 */
import { createActor, fromPromise, type Actor } from "xstate";
import type { Logger } from "pino";
import { createLeasedActorMachine } from "../../actors/leased-actor.machine.js";
import type { ActorInfo } from "../admin/index.js";
import type { StreamSpec } from "../config/index.js";
import { jitter } from "../base/index.js";
import { workActor, type Work, type WorkFactory } from "../core/index.js";
import { actorId, type ActorRef, type Lease, type LeaseStore } from "../nats/index.js";
import type { SupervisedHost } from "./supervisor.js";

/** What one actor host runs and reports to. */
export interface ActorHostOptions {
  ref: ActorRef;
  spec: StreamSpec;
  leases: LeaseStore;
  leaseTtlMs: number;
  /** how long a graceful stop may take before the work is aborted (leases.drainTimeout) @default 30000 */
  drainTimeoutMs?: number;
  log: Logger;
  /** builds the work for a granted lease */
  work: WorkFactory;
  /** called once per new error the actor reports (metrics) */
  onError?: (message: string) => void;
  /** randomness of the retry delays' jitter @default Math.random */
  random?: () => number;
}

/** The machine's inputs that shape its retry delays (defaults of actors/leased-actor.machine.ts). */
interface RetryInput {
  leaseTtlMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  failedRetryMs: number;
}

/**
 * The retry delays the node provides to the machine (which decides when to retry; the node
 * how long): the machine's exponential backoff, its retry of a failed actor and its retry
 * of a held lease, each with equal jitter, so the actors of 100 streams that failed together
 * (one database down) do not retry in lockstep.
 */
export function retryDelays(random: () => number = Math.random) {
  return {
    BACKOFF: ({ context }: { context: { input: RetryInput; attempt: number } }) =>
      jitter(Math.min(context.input.backoffMaxMs, context.input.backoffBaseMs * 2 ** Math.min(context.attempt - 1, 16)), random),
    FAILED_RETRY: ({ context }: { context: { input: RetryInput } }) => jitter(context.input.failedRetryMs, random),
    RETRY_ACQUIRE: ({ context }: { context: { input: RetryInput } }) => jitter(Math.max(100, Math.floor(context.input.leaseTtlMs / 5)), random),
  };
}

/** "running.active.running" style summary of a state value, leaving out the lease region. */
function summarize(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  if (v.running) {
    const r = v.running as { work?: unknown };
    return `running.${typeof r.work === "string" ? r.work : Object.entries(r.work as Record<string, string>).map(([k, x]) => `${k}.${x}`).join(",")}`;
  }
  return JSON.stringify(value);
}

/** The machine for the lease store's leases: renew and release receive the key and CAS revision. */
const leasedActorMachine = createLeasedActorMachine<Lease>();

/** One leased actor on this node: its machine, provided with the real side effects. */
export class ActorHost implements SupervisedHost {
  readonly id: string;
  private readonly actor: Actor<typeof leasedActorMachine>;
  private readonly startedAt = new Date().toISOString();
  private readonly done: Promise<void>;

  constructor(readonly o: ActorHostOptions) {
    this.id = actorId(o.ref);
    const leases = o.leases;
    const log = o.log;
    /** logs a failed lease request with its error and passes the failure on to the machine */
    const logged = <T>(what: string, p: Promise<T>, quiet?: (err: unknown) => boolean): Promise<T> =>
      p.catch((err: unknown) => {
        if (!quiet?.(err)) log.warn({ err }, what);
        throw err;
      });
    const machine = leasedActorMachine.provide({
      actors: {
        // a lease held by another node is the normal state of a contender, not a failure
        acquireLease: fromPromise(({ input }) => logged("lease acquire failed", leases.acquire(input.id), (err) => (err as { code?: unknown }).code === "LEASE_HELD")),
        renewLease: fromPromise(({ input }) => logged("lease renew failed", leases.renew(input.lease))),
        releaseLease: fromPromise(({ input }) => leases.release(input.lease)),
        work: workActor((lease: Lease) => loggedWork(log, () => o.work(lease))),
      },
      delays: retryDelays(o.random),
    });
    this.actor = createActor(machine, { input: { id: this.id, kind: o.ref.kind, stream: o.ref.stream, leaseTtlMs: o.leaseTtlMs, ...(o.drainTimeoutMs !== undefined ? { drainTimeoutMs: o.drainTimeoutMs } : {}) } });
    let last = "";
    let lastErrorAt: string | null = null;
    let lastError: string | null = null;
    this.actor.subscribe((s) => {
      // log transitions of the work, not every lease renewal
      const summary = summarize(s.value);
      const v = `${summary}|${s.context.lastError}`;
      const counted = s.context.lastError !== null && s.context.lastErrorAt !== lastErrorAt;
      if (counted) {
        lastErrorAt = s.context.lastErrorAt;
        o.onError?.(s.context.lastError!);
      }
      // some errors (a self-fence, a drain timeout) are recorded without a time: a new message counts too
      const newError = counted || (s.context.lastError !== null && s.context.lastError !== lastError);
      lastError = s.context.lastError;
      if (v !== last || newError) {
        const line = { state: summary, epoch: s.context.lease?.epoch ?? null, lastError: s.context.lastError };
        // a transition that brings a new error is a failure (warn, with the error as `err`:
        // the machine keeps its message, the thrown error was logged where it was caught)
        if (newError) o.log.warn({ ...line, err: { type: "ActorFailure", message: s.context.lastError } }, "actor state");
        else o.log.info(line, "actor state");
        last = v;
      }
    });
    this.done = new Promise<void>((resolve) => this.actor.subscribe({ complete: () => resolve(), error: () => resolve() }));
  }

  start(): void {
    this.actor.start();
    this.actor.send({ type: "START" });
  }

  /** Graceful stop: drain, final checkpoint, release the lease. Resolves when finished. */
  async stop(): Promise<void> {
    this.actor.send({ type: "STOP" });
    await this.done;
  }

  /** The lease key was just deleted by its holder: contend now rather than at the next poll. */
  poke(): void {
    this.actor.send({ type: "POKE" });
  }

  /** Hard stop without releasing (tests, crash simulation): the work is aborted. */
  kill(): void {
    this.actor.stop();
  }

  /** What /v1/actors shows, from the machine's snapshot. */
  info(): ActorInfo {
    const s = this.actor.getSnapshot();
    return {
      id: this.id,
      kind: this.o.ref.kind,
      stream: this.o.ref.stream,
      name: this.o.ref.name ?? null,
      state: summarize(s.value),
      status: s.status,
      epoch: s.context.lease?.epoch ?? null,
      ready: s.context.ready,
      position: s.context.position,
      lastError: s.context.lastError,
      lastErrorAt: s.context.lastErrorAt,
      startedAt: this.startedAt,
    };
  }
}

/**
 * Wraps the work of one lease so that its failure is logged with the error itself, at warn
 * (the actor retries it). An abort (ownership lost, teardown) is not a failure of the work.
 */
function loggedWork(log: Logger, make: () => Work): Work {
  let w: Work;
  try {
    w = make();
  } catch (err) {
    log.warn({ err }, "actor work could not be built");
    throw err;
  }
  return {
    run: (ctl) =>
      w.run(ctl).catch((err: unknown) => {
        if (!ctl.signal.aborted) log.warn({ err }, "actor work failed");
        throw err;
      }),
  };
}
