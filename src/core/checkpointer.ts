/**
 * Commits the low-watermark (STYLE §5): the highest position below which every published
 * event is acknowledged by JetStream is CAS-written to the positions bucket, debounced by
 * time and count. Only after that write succeeds is `onCommitted` told (e.g. to acknowledge
 * the LSN to PostgreSQL). A CAS failure surfaces as FENCED: ownership is lost.
 */
import type { PositionStore, FencedPosition } from "../nats/index.js";

/** What a Checkpointer writes to and how often. */
export interface CheckpointerOptions<P> {
  /** the compare-and-set write of the positions bucket (a PositionStore) */
  store: Pick<PositionStore, "checkpoint">;
  fenced: FencedPosition<P>;
  /** a fully acknowledged boundary is written once this long (ms) has passed since the last write */
  intervalMs: number;
  /** ... or once this many more events are acknowledged than at the last write */
  maxEvents: number;
  /** called after a successful write with the wall-clock time taken *before* the request */
  onCommitted?: (p: P, requestedAt: number) => void | Promise<void>;
  /** monotonic clock in ms for the interval; tests pass their own @default performance.now */
  now?: () => number;
  /** wall clock in ms for `requestedAt` @default Date.now */
  wallNow?: () => number;
}

/** The low-watermark checkpointer of one writer (see the module comment). */
export class Checkpointer<P> {
  private boundaries: Array<{ count: number; position: P }> = [];
  private fenced: FencedPosition<P>;
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private lastAt: number;
  private lastCount = 0;
  private inflight?: Promise<void>;
  /** position of the last successful write */
  committed: P | null;

  constructor(private readonly o: CheckpointerOptions<P>) {
    this.fenced = o.fenced;
    this.committed = o.fenced.position;
    this.now = o.now ?? (() => performance.now());
    this.wallNow = o.wallNow ?? Date.now;
    this.lastAt = this.now();
  }

  /** Declares that once `count` messages are acked, `position` is safe to resume from. */
  boundary(count: number, position: P): void {
    const last = this.boundaries[this.boundaries.length - 1];
    if (last && last.count === count) last.position = position;
    else this.boundaries.push({ count, position });
  }

  /** True when no boundary is waiting to be written. */
  get idle(): boolean {
    return this.boundaries.length === 0 && !this.inflight;
  }

  /**
   * Writes the newest fully-acked boundary if due (or `force`). Serialized with every other
   * write: a call that finds a write in flight waits for it and then writes only when
   * forced. Throws FENCED/NATS errors.
   */
  async maybe(acked: number, force = false): Promise<void> {
    if (this.inflight) {
      // `while`: two forced callers waiting on one write must not both write after it
      while (this.inflight) await this.inflight;
      if (!force) return;
    }
    let i = -1;
    for (let j = 0; j < this.boundaries.length && this.boundaries[j]!.count <= acked; j++) i = j;
    if (i < 0) return;
    const due = force || this.now() - this.lastAt >= this.o.intervalMs || acked - this.lastCount >= this.o.maxEvents;
    if (!due) return;
    const b = this.boundaries[i]!;
    this.boundaries.splice(0, i + 1);
    await this.commit(b.position, acked);
  }

  /** Writes a position directly (idle slot advance, snapshot completion), after any write in flight. */
  async write(position: P): Promise<void> {
    while (this.inflight) await this.inflight;
    await this.commit(position);
  }

  /**
   * The one CAS write, marked in flight until it and `onCommitted` are done, so that no
   * other write starts from the same revision meanwhile (it would be refused as FENCED and
   * the actor would fall to `lost`: issue 10, item 8).
   */
  private async commit(position: P, acked?: number): Promise<void> {
    const run = (async () => {
      const requestedAt = this.wallNow();
      this.fenced = await this.o.store.checkpoint(this.fenced, position);
      this.committed = position;
      this.lastAt = this.now();
      if (acked !== undefined) this.lastCount = acked;
      await this.o.onCommitted?.(position, requestedAt);
    })();
    this.inflight = run;
    try {
      await run;
    } finally {
      this.inflight = undefined;
    }
  }
}
