/**
 * The contract between the leased-actor machine and the kind-specific work (reader,
 * transformer, sink), and the adapter that turns a Work into the machine's `work`
 * callback actor: STOP asks the work to drain; the callback's cleanup aborts it at once.
 */
import { fromCallback } from "xstate";
import type { WorkEvent } from "../../actors/leased-actor.machine.js";
import type { Lease } from "../nats/index.js";
import { toTributaryError } from "../base/index.js";

/** What a running work can do and observe. */
export interface WorkControl {
  /** aborted when ownership is lost or the actor is torn down: stop now, write nothing more */
  readonly signal: AbortSignal;
  /** resolves when a graceful stop is requested: stop intake, await acks, final checkpoint, return */
  readonly stopping: Promise<void>;
  readonly isStopping: () => boolean;
  /** resolves at the first of a stop request or an abort (what loops wait on besides their own failure) */
  readonly ended: Promise<void>;
  /** the source is connected and events flow */
  ready(): void;
  /** the latest checkpointed position (for /v1/actors) */
  progress(position: unknown): void;
}

/** A unit of work run under a lease. `run` resolves after a graceful stop and rejects on error. */
export interface Work {
  run(ctl: WorkControl): Promise<void>;
}

/** Creates the Work for a lease. */
export type WorkFactory = (lease: Lease) => Work;

/** Adapts a WorkFactory to the machine's `work` actor. */
export function workActor(factory: WorkFactory) {
  return fromCallback<{ type: "STOP" }, { lease: Lease; id: string }>(({ sendBack, receive, input }) => {
    const abort = new AbortController();
    let requestStop!: () => void;
    let stopRequested = false;
    const stopping = new Promise<void>((r) => (requestStop = r));
    const aborted = new Promise<void>((r) => abort.signal.addEventListener("abort", () => r(), { once: true }));
    const ended = Promise.race([stopping, aborted]);
    receive((e) => {
      if (e.type === "STOP") {
        stopRequested = true;
        requestStop();
      }
    });
    const ctl: WorkControl = {
      signal: abort.signal,
      stopping,
      isStopping: () => stopRequested || abort.signal.aborted,
      ended,
      ready: () => !abort.signal.aborted && sendBack({ type: "WORK.READY" } satisfies WorkEvent),
      progress: (position) => !abort.signal.aborted && sendBack({ type: "WORK.PROGRESS", position } satisfies WorkEvent),
    };
    let work: Work;
    try {
      work = factory(input.lease);
    } catch (err) {
      const e = toTributaryError(err);
      queueMicrotask(() => sendBack({ type: "WORK.FAILED", error: { message: e.message, code: e.code, retryable: e.retryable } }));
      return () => abort.abort();
    }
    work.run(ctl).then(
      () => {
        if (!abort.signal.aborted) sendBack({ type: stopRequested ? "WORK.STOPPED" : "WORK.FAILED", ...(stopRequested ? {} : { error: { message: "work ended without being asked to stop", retryable: true } }) } as WorkEvent);
      },
      (err) => {
        if (abort.signal.aborted) return;
        const e = toTributaryError(err);
        sendBack({ type: "WORK.FAILED", error: { message: e.message, code: e.code, retryable: e.retryable } });
      },
    );
    return () => abort.abort();
  });
}

/**
 * The first failure of a work's background parts (timers, driver callbacks): `fail(e)`
 * records it in `error`, sets `halted` and calls `onFail` (e.g. to abort what the main loop
 * waits on). Later failures are ignored; the work also sets `halted` itself when it stops
 * intake.
 */
export class FailLatch {
  halted = false;
  /** the first failure, if any */
  error: unknown = undefined;
  private failedOnce = false;
  constructor(private readonly onFail?: (e: unknown) => void) {}
  readonly fail = (e: unknown): void => {
    this.halted = true;
    if (this.failedOnce) return;
    this.failedOnce = true;
    this.error = e;
    this.onFail?.(e);
  };
  /** True once `fail` was called. */
  get failed(): boolean {
    return this.failedOnce;
  }
}
