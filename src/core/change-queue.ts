/**
 * The hand-over from a push-style driver (its callbacks deliver changes one by one) to the
 * kernel's pull of batches. Changes accumulate in an open batch; a commit boundary makes
 * it ready. While the kernel is busy publishing, later transactions join the same batch
 * (up to `maxBatch` changes), so a busy source is pulled in large batches and an idle one
 * in one batch per transaction, handed over at once.
 *
 * Bounded: once `maxQueued` changes wait, `add`/`boundary` say so and the producer awaits
 * `space()` (the driver then stops reading its socket: flow control end to end). Nothing
 * here creates a promise per change.
 */
import type { SourceBatch, SourceChange } from "./source.js";

/** How large batches and the queue may grow. */
export interface ChangeQueueOptions {
  /** most changes in one batch @default 256 */
  maxBatch?: number;
  /** changes queued before the producer must wait @default 2 × maxBatch */
  maxQueued?: number;
}

interface OpenBatch<P> {
  changes: SourceChange[];
  position?: P;
}

/** A bounded FIFO of change batches between a driver's callbacks and the kernel. */
export class ChangeQueue<P> {
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly ready: Array<SourceBatch<P>> = [];
  private open: OpenBatch<P> = { changes: [] };
  private queued = 0;
  private puller?: { resolve: (b: SourceBatch<P> | undefined) => void; reject: (e: unknown) => void };
  private spaceWaiters: Array<() => void> = [];
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(o: ChangeQueueOptions = {}) {
    this.maxBatch = o.maxBatch ?? 256;
    this.maxQueued = o.maxQueued ?? 512;
  }

  /** Changes waiting to be pulled. */
  get size(): number {
    return this.queued;
  }

  /**
   * Appends a change. A full batch becomes ready even inside a transaction (a resume point
   * comes with a later batch). Returns true when the queue is full: await `space()`.
   */
  add(c: SourceChange): boolean {
    if (this.closed) return false;
    this.open.changes.push(c);
    this.queued++;
    if (this.open.changes.length >= this.maxBatch) this.cut();
    return this.queued >= this.maxQueued;
  }

  /**
   * Declares a resume point after every change added so far (a commit, or an idle source's
   * new position): the open batch may now be pulled. Returns true when the queue is full.
   */
  boundary(position: P): boolean {
    if (this.closed) return false;
    this.open.position = position;
    if (this.puller) this.cut();
    return this.queued >= this.maxQueued;
  }

  /** Resolves when the queue has room again (at once if it has). */
  space(): Promise<void> {
    if (this.queued < this.maxQueued || this.closed) return Promise.resolve();
    return new Promise((r) => this.spaceWaiters.push(r));
  }

  /**
   * The next batch: a ready one, else the open one once it holds a resume point; waits for
   * one otherwise. Resolves undefined once closed; rejects once failed. One puller at a time.
   */
  pull(): Promise<SourceBatch<P> | undefined> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ready.length === 0 && this.open.position !== undefined) this.cut();
    const b = this.ready.shift();
    if (b) {
      this.taken(b);
      return Promise.resolve(b);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => (this.puller = { resolve, reject }));
  }

  /** Ends the queue: a waiting puller gets undefined, producers are released, later changes are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseSpace();
    const p = this.puller;
    this.puller = undefined;
    p?.resolve(undefined);
  }

  /** Fails the queue: the waiting (or next) pull rejects with `error`. The first failure wins. */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.closed = true;
    this.releaseSpace();
    const p = this.puller;
    this.puller = undefined;
    p?.reject(error);
  }

  /** Makes the open batch ready (handing it to a waiting puller) and opens a new one. */
  private cut(): void {
    const b = this.open;
    if (b.changes.length === 0 && b.position === undefined) return;
    this.open = { changes: [] };
    const p = this.puller;
    if (p && this.ready.length === 0) {
      this.puller = undefined;
      this.taken(b);
      p.resolve(b);
    } else {
      this.ready.push(b);
    }
  }

  private taken(b: SourceBatch<P>): void {
    this.queued -= b.changes.length;
    if (this.spaceWaiters.length && this.queued < this.maxQueued) this.releaseSpace();
  }

  private releaseSpace(): void {
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const r of w) r();
  }
}
