/**
 * A pipelined JetStream publisher that keeps a JetStream stream a gap-free prefix of what
 * its single writer produced (docs/adr/0003):
 *
 * - core publishes with a reply subject and one ack subscription, a bounded window of
 *   un-acked messages (backpressure: `publish` waits while the window is full);
 * - every message carries `Nats-Expected-Last-Sequence`, so if one message is lost
 *   (disconnect, leader change), every later one is refused instead of landing after the
 *   hole — per-key order can never be broken by a retry;
 * - the first failure poisons the publisher: the owner restarts from its checkpoint and
 *   skips what the stream already holds (see `tail()`).
 *
 * Progress is reported as a count: `acked` = number of messages, in publish order, whose
 * ack arrived; everything with index < acked is durably stored.
 */
import { createInbox, headers as natsHeaders, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import { TributaryError } from "../errors.js";

export interface ChainPublisherOptions {
  /** JetStream stream the subjects are captured by */
  stream: string;
  /** most un-acked messages in flight @default 1024 */
  window?: number;
  /** a message not acked after this long fails the publisher @default 10000 */
  ackTimeoutMs?: number;
}

interface Pending {
  index: number;
  sentAt: number;
}

/** The last message a stream holds, read before the first publish. */
export interface StreamTail {
  lastSeq: number;
  last: StoredMsg | null;
}

export class ChainPublisher {
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  private readonly inbox = createInbox();
  private sub?: Subscription;
  private expected = 0;
  private sent = 0;
  /** number of messages acked, contiguous from the first */
  acked = 0;
  private readonly pending = new Map<string, Pending>();
  private failure?: TributaryError;
  private waiters: Array<() => void> = [];
  private ackWaiters: Array<{ upTo: number; resolve: () => void; reject: (e: Error) => void }> = [];
  private timer?: NodeJS.Timeout;
  private jsm?: JetStreamManager;
  /** called with the new `acked` count whenever it advances */
  onAcked?: (acked: number) => void;

  constructor(private readonly nc: NatsConnection, private readonly opts: ChainPublisherOptions) {
    this.window = opts.window ?? 1024;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
  }

  /** Reads the stream's last sequence and message, and arms the publisher to append after it. */
  async start(): Promise<StreamTail> {
    this.jsm ??= await jetstreamManager(this.nc);
    const info = await this.jsm.streams.info(this.opts.stream);
    const lastSeq = info.state.last_seq;
    let last: StoredMsg | null = null;
    if (lastSeq > 0 && info.state.messages > 0) {
      last = await this.jsm.streams.getMessage(this.opts.stream, { seq: lastSeq }).catch(() => null);
    }
    this.expected = lastSeq;
    this.sub = this.nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => (err ? this.fail(err.message) : this.onAck(msg.subject, msg.data, msg.headers)) });
    this.timer = setInterval(() => this.checkTimeouts(), Math.min(1000, this.ackTimeoutMs / 4));
    this.timer.unref?.();
    return { lastSeq, last };
  }

  /** Number of messages handed to publish so far. */
  get count(): number {
    return this.sent;
  }

  /** The error that poisoned this publisher, if any. */
  get error(): TributaryError | undefined {
    return this.failure;
  }

  /**
   * Publishes one message after the previous ones. Resolves once it is sent and the window
   * has room again; rejects when the publisher has failed. Returns the message's index.
   */
  async publish(subject: string, data: Uint8Array, hdrs: MsgHdrs): Promise<number> {
    while (this.sent - this.acked >= this.window && !this.failure) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.failure) throw this.failure;
    const index = this.sent++;
    hdrs.set("Nats-Expected-Last-Sequence", String(this.expected++));
    const token = index.toString(36);
    this.pending.set(token, { index, sentAt: performance.now() });
    this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: hdrs });
    return index;
  }

  /** Resolves when every message published so far is acked; rejects on failure. */
  async drain(timeoutMs = this.ackTimeoutMs): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.acked >= this.sent) return;
    const upTo = this.sent;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new TributaryError("PUBLISH_FAILED", `publish acks for ${this.opts.stream} not received within ${timeoutMs} ms`)), timeoutMs);
      this.ackWaiters.push({ upTo, resolve: () => (clearTimeout(t), resolve()), reject: (e) => (clearTimeout(t), reject(e)) });
    });
  }

  /** Stops listening for acks. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
    this.fail("publisher closed");
  }

  private onAck(subject: string, data: Uint8Array, hdrs?: MsgHdrs): void {
    const token = subject.slice(this.inbox.length + 1);
    const p = this.pending.get(token);
    if (!p) return;
    this.pending.delete(token);
    if (hdrs?.hasError) {
      return this.fail(`no JetStream stream answered for message ${p.index} (${hdrs.code} ${hdrs.description}); is ${this.opts.stream} missing?`);
    }
    let ack: { seq?: number; duplicate?: boolean; error?: { description?: string; err_code?: number } };
    try {
      ack = JSON.parse(new TextDecoder().decode(data));
    } catch {
      return this.fail(`unreadable publish ack: ${new TextDecoder().decode(data).slice(0, 200)}`);
    }
    if (ack.error) return this.fail(`JetStream refused message ${p.index} on ${this.opts.stream}: ${ack.error.description} (err_code ${ack.error.err_code})`);
    if (ack.duplicate) return this.fail(`JetStream reported message ${p.index} on ${this.opts.stream} as a duplicate (seq ${ack.seq}); the chain is broken, restarting from the checkpoint`);
    // acks arrive in publish order (one connection, one stream); advance the contiguous count
    if (p.index !== this.acked) return this.fail(`publish ack out of order on ${this.opts.stream}: got ${p.index}, expected ${this.acked}`);
    this.acked = p.index + 1;
    this.onAcked?.(this.acked);
    if (this.waiters.length && this.sent - this.acked < this.window) {
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    }
    if (this.ackWaiters.length) {
      const keep = [];
      for (const w of this.ackWaiters) (this.acked >= w.upTo ? w.resolve() : keep.push(w));
      this.ackWaiters = keep;
    }
  }

  private checkTimeouts(): void {
    if (this.failure || this.pending.size === 0) return;
    const now = performance.now();
    for (const p of this.pending.values()) {
      if (now - p.sentAt > this.ackTimeoutMs) return this.fail(`no publish ack for message ${p.index} on ${this.opts.stream} within ${this.ackTimeoutMs} ms`);
      break; // oldest first: Map keeps insertion order
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new TributaryError("PUBLISH_FAILED", reason);
    for (const r of this.waiters) r();
    this.waiters = [];
    for (const w of this.ackWaiters) w.reject(this.failure);
    this.ackWaiters = [];
  }
}

/** Builds message headers from a plain record. */
export function buildHeaders(h: Record<string, string>): MsgHdrs {
  const m = natsHeaders();
  for (const [k, v] of Object.entries(h)) m.set(k, v);
  return m;
}
