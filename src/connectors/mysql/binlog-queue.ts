/**
 * The bounded queue between zongji and the publisher. zongji pushes binlog events from a
 * socket callback and cannot wait, so the queue never refuses an item; instead, when the
 * queued weight (rows) reaches the high-water mark it calls `pause` (the reader pauses the
 * binlog socket, so TCP flow control holds the server back), and when the consumer has
 * taken it down to the low-water mark it calls `resume`. Memory stays bounded by the high
 * water mark plus what one socket read already held.
 */

/** How full the queue may get, and how to hold its producer back. */
export interface BoundedQueueOptions<T> {
  /** pause the producer at this queued weight */
  highWater: number;
  /** resume it once the queued weight falls to this @default highWater / 2 */
  lowWater?: number;
  /** weight of an item (e.g. its rows) @default 1 */
  weight?: (item: T) => number;
  pause: () => void;
  resume: () => void;
}

/** A FIFO that never refuses an item but pauses its producer above a weight (see the module comment). */
export class BoundedQueue<T> {
  private readonly items: Array<{ item: T; weight: number }> = [];
  private head = 0;
  private queued = 0;
  private paused = false;
  private waiter: ((v: T | undefined) => void) | undefined;
  private closed = false;
  /** how often the producer was paused (for logs and tests) */
  pauses = 0;

  constructor(private readonly o: BoundedQueueOptions<T>) {}

  /** Weight currently queued. */
  get size(): number {
    return this.queued;
  }

  /** True while the producer is paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Adds an item; pauses the producer when the queue is full. Ignored after close. */
  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(item);
      return;
    }
    const weight = this.o.weight?.(item) ?? 1;
    this.items.push({ item, weight });
    this.queued += weight;
    if (!this.paused && this.queued >= this.o.highWater) {
      this.paused = true;
      this.pauses++;
      this.o.pause();
    }
  }

  /** The next item if one is queued (no waiting, no promise); undefined otherwise. */
  poll(): T | undefined {
    return this.shift()?.item;
  }

  /** The next item; waits for one. Resolves undefined once closed and empty. */
  take(): Promise<T | undefined> {
    const next = this.shift();
    if (next !== undefined || this.closed) return Promise.resolve(next?.item);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Wakes a waiting consumer with undefined and drops everything queued. */
  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.head = 0;
    this.queued = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }

  private shift(): { item: T; weight: number } | undefined {
    if (this.head >= this.items.length) return undefined;
    const e = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    this.queued -= e.weight;
    if (this.paused && this.queued <= (this.o.lowWater ?? Math.floor(this.o.highWater / 2))) {
      this.paused = false;
      this.o.resume();
    }
    return e;
  }
}
