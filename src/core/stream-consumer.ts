/**
 * Reads a JetStream stream in order from a given sequence with an ordered consumer (no
 * server-side ack state: the reader's own checkpoint is the truth), in batches bounded by
 * size and time, and drops events written by a stale owner (lower Tributary-Epoch).
 *
 * Speed (docs/performance.md): a message the client already holds is taken without a
 * timer or a race (one timer per wait, not per message); the epoch is read straight from
 * the header bytes, and the headers are decoded only when someone asks (the dead-letter
 * path).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, DeliverPolicy, type JsMsg, type Consumer, type ConsumerMessages } from "@nats-io/jetstream";
import { HDR_EPOCH } from "./event-publisher.js";

export interface ConsumedMsg {
  seq: number;
  subject: string;
  data: Uint8Array;
  /** every header, first value each (built on first use) */
  readonly headers: Record<string, string>;
  epoch: number;
}

/** A consumed message; `headers` is decoded from the client's message on first use. */
class Consumed implements ConsumedMsg {
  private record?: Record<string, string>;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  constructor(private readonly m: JsMsg, readonly epoch: number) {
    this.seq = m.seq;
    this.subject = m.subject;
    this.data = m.data;
  }
  get headers(): Record<string, string> {
    if (!this.record) {
      const r: Record<string, string> = {};
      if (this.m.headers) for (const [k, v] of this.m.headers) r[k] = v[0] ?? "";
      this.record = r;
    }
    return this.record;
  }
}

const EPOCH_LINE = Buffer.from(`\r\n${HDR_EPOCH}:`);

/**
 * The writer's epoch from the message's Tributary-Epoch header (0 when absent). Decoding
 * the whole header block with the client costs more than the rest of consuming a message,
 * so when the client's message exposes its raw bytes (nats.js v3 `MsgImpl`), the one line
 * is found directly; otherwise the client decodes the headers.
 */
function epochOf(m: JsMsg): number {
  const inner = (m as unknown as { msg?: { _rdata?: Uint8Array; _msg?: { hdr?: number } } }).msg;
  const hdr = inner?._msg?.hdr;
  const raw = inner?._rdata;
  if (!(raw instanceof Uint8Array) || typeof hdr !== "number") return Number(m.headers?.get(HDR_EPOCH) || 0);
  if (hdr < 0) return 0; // no headers at all
  const block = Buffer.from(raw.buffer, raw.byteOffset, Math.min(hdr, raw.length));
  const at = block.indexOf(EPOCH_LINE);
  if (at < 0) return 0;
  let i = at + EPOCH_LINE.length;
  while (block[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (let c = block[i]; c !== undefined && c >= 0x30 && c <= 0x39; c = block[++i]) {
    n = n * 10 + (c - 0x30);
    digits++;
  }
  return digits ? n : Number(m.headers?.get(HDR_EPOCH) || 0);
}

export interface StreamReaderOptions {
  stream: string;
  filter: string;
  /** first sequence to deliver */
  fromSeq: number;
  /** buffered messages @default 1024 */
  buffer?: number;
  /**
   * Prefix of the ordered consumer's name, so `nats consumer ls <stream>` tells whose it is
   * (e.g. `sink_orders_copy_e17_k3`; the client appends `_<n>`) @default the client's `oc_<nuid>`
   */
  name?: string;
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
      ...(this.o.name ? { name_prefix: this.o.name } : {}),
      deliver_policy: this.o.fromSeq > 1 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
      ...(this.o.fromSeq > 1 ? { opt_start_seq: this.o.fromSeq } : {}),
    });
    this.consumer = c;
  }

  /** The next message, or null when a fetch ended (expired) without more. */
  private async next(): Promise<IteratorResult<JsMsg> | null> {
    if (!this.iter) {
      // expires 5 s, not 1: a fetch that ends by expiry races with a message the server is
      // delivering to it; when that message lands after the client closed the fetch, the
      // ordered consumer sees a gap, resets, and the next fetch stays empty until it expires
      // (seen as ~1 s stalls of the sink at 1k events/s, every few seconds). Longer fetches
      // make those boundaries 5x rarer (full fetches end by count, without the race), and an
      // idle consumer pulls 5x less often. batch() does not wait for it: its own timers bound
      // every call.
      this.messages = await this.consumer!.fetch({ max_messages: this.o.buffer ?? 1024, expires: 5000 });
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
   * Collects up to `max` messages; returns early `maxWaitMs` after the first one was stored
   * (at the latest `maxWaitMs` after it arrives), or with an empty batch after `idleMs` (so
   * callers can check for stop requests).
   */
  async batch(max: number, maxWaitMs: number, idleMs = 500): Promise<ConsumedMsg[]> {
    const out: ConsumedMsg[] = [];
    let deadline = performance.now() + idleMs;
    // one short-lived promise per batch (made only if the batch has to wait), settled by
    // interruptOn or dropped when we return
    let woken: Promise<typeof TIMEOUT> | undefined;
    try {
      while (out.length < max && !this.interrupted) {
        let r: IteratorResult<JsMsg> | null | typeof TIMEOUT;
        if (this.pending === undefined && this.iter !== undefined && this.messages!.getPending() > 0) {
          r = await this.next(); // already received: no timer, no race
        } else {
          this.pending ??= this.next();
          woken ??= new Promise<typeof TIMEOUT>((res) => (this.wake = () => res(TIMEOUT)));
          const wait = Math.max(0, deadline - performance.now());
          let timer: NodeJS.Timeout | undefined;
          r = await Promise.race([
            this.pending,
            new Promise<typeof TIMEOUT>((res) => (timer = setTimeout(() => res(TIMEOUT), wait))),
            woken,
          ]);
          clearTimeout(timer);
          if (r === TIMEOUT) break;
          this.pending = undefined;
        }
        if (r === null) continue; // this fetch expired; the next call pulls again
        if (r.done) throw new Error(`consumer of ${this.o.stream} ended`);
        const m = r.value;
        const epoch = epochOf(m);
        if (epoch < this.maxEpoch) {
          this.staleDropped++;
          continue;
        }
        this.maxEpoch = epoch;
        if (out.length === 0) {
          // the batch may wait maxWaitMs counted from when its first event was stored, not
          // from when we got to it (it may have queued behind the previous batch's
          // transaction); never longer than maxWaitMs from now, whatever the clocks say
          const age = Date.now() - m.info.timestampNanos / 1e6;
          deadline = performance.now() + Math.max(0, maxWaitMs - Math.max(0, age));
        }
        out.push(new Consumed(m, epoch));
      }
    } finally {
      this.wake = undefined;
    }
    return out;
  }

  /**
   * Stops pulling. `stop()` unsubscribes at once; the client's `close()` would only settle
   * after the iterator drained every buffered message — which nobody reads after a stop, so a
   * busy consumer's graceful stop hung until the drain timeout (30 s). The ephemeral ordered
   * consumer is removed by the server after its inactivity threshold.
   */
  async close(): Promise<void> {
    this.messages?.stop();
    this.messages = undefined;
    this.iter = undefined;
    this.pending = undefined;
  }
}
