/**
 * Reads a JetStream stream in order from a given sequence with an ordered consumer (no
 * server-side ack state: the reader's own checkpoint is the truth), in batches bounded by
 * size and time, and drops events written by a stale owner (lower Tributary-Epoch).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, DeliverPolicy, type JsMsg, type Consumer, type ConsumerMessages } from "@nats-io/jetstream";
import { HDR_EPOCH } from "./event-publisher.js";

export interface ConsumedMsg {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
  epoch: number;
}

export interface StreamReaderOptions {
  stream: string;
  filter: string;
  /** first sequence to deliver */
  fromSeq: number;
  /** buffered messages @default 1024 */
  buffer?: number;
}

const TIMEOUT = Symbol("timeout");

/**
 * Pulls with `fetch` one buffer at a time and asks for the next only when the previous is
 * consumed: `consume()` re-pulls as messages *arrive*, so a slow sink would buffer the
 * whole stream in memory (measured: +1 GB behind a 200k-row transaction).
 */
export class StreamReader {
  private consumer?: Consumer;
  private messages?: ConsumerMessages;
  private iter?: AsyncIterator<JsMsg>;
  private pending?: Promise<IteratorResult<JsMsg> | null>;
  private maxEpoch = 0;
  /** events dropped because their writer's epoch was lower than one already seen */
  staleDropped = 0;

  constructor(private readonly nc: NatsConnection, private readonly o: StreamReaderOptions) {}

  async open(): Promise<void> {
    const js = jetstream(this.nc);
    // no subject filter: each input stream holds only its own writer's subjects, and
    // filter_subjects needs nats-server 2.10
    const c = await js.consumers.get(this.o.stream, {
      deliver_policy: this.o.fromSeq > 1 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
      ...(this.o.fromSeq > 1 ? { opt_start_seq: this.o.fromSeq } : {}),
    });
    this.consumer = c;
  }

  /** The next message, or null when a fetch ended (expired) without more. */
  private async next(): Promise<IteratorResult<JsMsg> | null> {
    if (!this.iter) {
      this.messages = await this.consumer!.fetch({ max_messages: this.o.buffer ?? 1024, expires: 1000 });
      this.iter = this.messages[Symbol.asyncIterator]();
    }
    const r = await this.iter.next();
    if (r.done) {
      this.iter = undefined;
      return null;
    }
    return r;
  }

  private interrupted = false;
  private wake?: () => void;

  /**
   * Makes `batch` return early once `p` settles. Registered once: racing every message
   * against a long-lived promise would leave one reaction per message on it, each keeping
   * its message alive (a leak of the whole stream).
   */
  interruptOn(p: Promise<unknown>): void {
    void p.then(() => {
      this.interrupted = true;
      this.wake?.();
    });
  }

  /**
   * Collects up to `max` messages; returns early `maxWaitMs` after the first one arrives,
   * or with an empty batch after `idleMs` (so callers can check for stop requests).
   */
  async batch(max: number, maxWaitMs: number, idleMs = 500): Promise<ConsumedMsg[]> {
    const out: ConsumedMsg[] = [];
    let deadline = performance.now() + idleMs;
    // one short-lived promise per batch, settled by interruptOn or dropped when we return
    const woken = new Promise<typeof TIMEOUT>((res) => (this.wake = () => res(TIMEOUT)));
    try {
      while (out.length < max && !this.interrupted) {
        this.pending ??= this.next();
        const wait = Math.max(0, deadline - performance.now());
        let timer: NodeJS.Timeout | undefined;
        const r: IteratorResult<JsMsg> | null | typeof TIMEOUT = await Promise.race([
          this.pending,
          new Promise<typeof TIMEOUT>((res) => (timer = setTimeout(() => res(TIMEOUT), wait))),
          woken,
        ]);
        clearTimeout(timer);
        if (r === TIMEOUT) break;
        this.pending = undefined;
        if (r === null) continue; // this fetch expired; the next call pulls again
        if (r.done) throw new Error(`consumer of ${this.o.stream} ended`);
        const m = r.value;
        const headers: Record<string, string> = {};
        if (m.headers) for (const [k, v] of m.headers) headers[k] = v[0] ?? "";
        const epoch = Number(headers[HDR_EPOCH] ?? 0);
        if (epoch < this.maxEpoch) {
          this.staleDropped++;
          continue;
        }
        this.maxEpoch = epoch;
        if (out.length === 0) deadline = performance.now() + maxWaitMs;
        out.push({ seq: m.seq, subject: m.subject, data: m.data, headers, epoch });
      }
    } finally {
      this.wake = undefined;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
  }
}
