/**
 * Publishes change events of one writer (reader or transformer) to its JetStream stream
 * through the gap-free ChainPublisher, with the brief's headers. On start it reads the
 * position of the last event the stream holds; events at or before it are skipped, so a
 * restart from an older checkpoint never re-appends what is already there.
 *
 * Per event it does the least it can: one JSON encoding of the event (none through
 * `publishEncoded`, for callers that already have it), one of its key, and the header block written as one string
 * (docs/performance.md).
 */
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { ChainPublisher } from "../nats/chain-publisher.js";
import { HeaderBlock, headerValue } from "../nats/header-block.js";
import type { ChangeEvent } from "../events/change-event.js";

export const HDR_EPOCH = "Tributary-Epoch";
export const HDR_POS = "Tributary-Pos";

/** What the publisher needs of an event the caller has encoded itself. */
export interface EncodedEvent {
  op: string;
  schema: string;
  table: string;
  /** JSON of the event's key (for the Tributary-Key header) */
  keyJson: string;
  /** the event's JSON, as text or bytes */
  json: string | Uint8Array;
}

export interface EventPublisherOptions {
  stream: string;
  /** prefix of Nats-Msg-Id, e.g. the stream id */
  idPrefix: string;
  epoch: number;
  window?: number;
}

export class EventPublisher {
  readonly chain: ChainPublisher;
  /** position of the last event already in the stream (null: empty) */
  tailPos: string | null = null;
  skipped = 0;

  private readonly epoch: string;

  constructor(nc: NatsConnection, private readonly o: EventPublisherOptions) {
    this.epoch = String(o.epoch);
    this.chain = new ChainPublisher(nc, { stream: o.stream, window: o.window ?? 1024 });
  }

  async start(): Promise<string | null> {
    const tail = await this.chain.start();
    this.tailPos = tail.last?.header?.get(HDR_POS) || null;
    return this.tailPos;
  }

  /** Publishes unless the stream already holds `pos`. Returns false when skipped. */
  async publish(subject: string, event: ChangeEvent, pos: string, extra?: Record<string, string>): Promise<boolean> {
    if (this.tailPos !== null && pos <= this.tailPos) {
      this.skipped++;
      return false;
    }
    return this.publishEncoded(
      subject,
      { op: event.op, schema: event.source.schema, table: event.source.table, keyJson: JSON.stringify(event.key), json: JSON.stringify(event) },
      pos,
      extra,
    );
  }

  /** Like `publish`, for an event the caller has encoded itself. */
  async publishEncoded(subject: string, e: EncodedEvent, pos: string, extra?: Record<string, string>): Promise<boolean> {
    if (this.tailPos !== null && pos <= this.tailPos) {
      this.skipped++;
      return false;
    }
    // Buffer.from: ~2.5x cheaper than TextEncoder.encode on Node 20
    await this.chain.publish(subject, typeof e.json === "string" ? Buffer.from(e.json) : e.json, this.headers(e, pos, extra));
    return true;
  }

  private headers(e: EncodedEvent, pos: string, extra?: Record<string, string>): MsgHdrs {
    const key = e.keyJson.length > 512 ? e.keyJson.slice(0, 509) + "..." : e.keyJson; // JSON escapes CR/LF
    let lines =
      `Nats-Msg-Id: ${this.o.idPrefix}:${pos}\r\n${HDR_EPOCH}: ${this.epoch}\r\n${HDR_POS}: ${pos}\r\n` +
      `Tributary-Op: ${headerValue(String(e.op))}\r\nTributary-Table: ${headerValue(`${e.schema}.${e.table}`)}\r\nTributary-Key: ${key}\r\n`;
    if (extra) for (const k in extra) lines += `${k}: ${headerValue(extra[k]!)}\r\n`;
    return new HeaderBlock(lines);
  }

  get count(): number { return this.chain.count; }
  get acked(): number { return this.chain.acked; }
  drain(): Promise<void> { return this.chain.drain(); }
  close(): void { this.chain.close(); }
}
