/**
 * Publishes change events of one writer (reader or transformer) to its JetStream stream
 * through the gap-free ChainPublisher, with the brief's headers. On start it reads the
 * position of the last event the stream holds; events at or before it are skipped, so a
 * restart from an older checkpoint never re-appends what is already there.
 *
 * A change larger than the connection's max_payload (headers included) is not published:
 * `publishChange` returns an `Oversized` for the kernel to dead-letter (ADR 0011), since
 * the client would refuse it and the writer would retry it forever.
 *
 * Per event it does the least it can: one JSON encoding of the event and one of its key
 * (none when the source encoded them already), and the header block written as one string
 * (docs/performance.md).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { ChainPublisher, HeaderBlock, headerValue } from "../nats/index.js";
import type { SourceChange } from "./source.js";

/** Header carrying the writer's lease epoch (consumers drop a stale writer's events by it). */
export const HDR_EPOCH = "Tributary-Epoch";
/** Header carrying the event's source position (the tail check on restart reads it). */
const HDR_POS = "Tributary-Pos";

/** A change too large to publish: its size (payload and headers) and the server's limit. */
export class Oversized {
  constructor(readonly size: number, readonly limit: number, readonly keyJson: string) {}
}

/** Room for the header the chain adds (Nats-Expected-Last-Sequence) and the block's framing. */
const CHAIN_HEADER_BYTES = 64;

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

/** Where and as whom an EventPublisher writes. */
export interface EventPublisherOptions {
  stream: string;
  /** prefix of Nats-Msg-Id, e.g. the stream id */
  idPrefix: string;
  epoch: number;
  window?: number;
}

/** The publisher of one writer (reader or transformer): gap-free, with the tail check and the brief's headers. */
export class EventPublisher {
  readonly chain: ChainPublisher;
  /** position of the last event already in the stream (null: empty) */
  tailPos: string | null = null;
  skipped = 0;

  private readonly epoch: string;

  constructor(private readonly nc: NatsConnection, private readonly o: EventPublisherOptions) {
    this.epoch = String(o.epoch);
    this.chain = new ChainPublisher(nc, { stream: o.stream, window: o.window ?? 1024 });
  }

  /** Reads the stream's tail and arms the chain; returns the tail's position (null: empty stream). */
  async start(): Promise<string | null> {
    const tail = await this.chain.start();
    this.tailPos = tail.last?.header?.get(HDR_POS) || null;
    return this.tailPos;
  }

  /**
   * Publishes a source change unless the stream already holds its position: returns false
   * when skipped, true when handed to the chain, and only when the publish window is full a
   * promise (of true) that settles once it is — so the hot path makes no promise per event.
   * A change larger than the server's max_payload is not published: returns `Oversized`.
   * A change without JSON is encoded here, once (and only when published). Throws (or
   * rejects) when the chain has failed.
   */
  publishChange(subject: string, c: SourceChange): boolean | Promise<boolean> | Oversized {
    if (this.tailPos !== null && c.pos <= this.tailPos) {
      this.skipped++;
      return false;
    }
    let { json, keyJson } = c;
    if (json === undefined || keyJson === undefined) {
      json = JSON.stringify(c.event);
      keyJson = JSON.stringify(c.event?.key ?? {});
    }
    // Buffer.from: ~2.5x cheaper than TextEncoder.encode on Node 20
    const data = typeof json === "string" ? Buffer.from(json) : json;
    const hdrs = this.headers(c.op, c.schema, c.table, keyJson, c.pos, c.headers);
    // read from the connection each time: a reconnect may reach a server with another limit
    const limit = this.nc.info?.max_payload;
    if (limit !== undefined && data.length + 8192 > limit) {
      const size = data.length + hdrs.encode().length + CHAIN_HEADER_BYTES;
      if (size > limit) return new Oversized(size, limit, keyJson);
    }
    if (this.chain.offer(subject, data, hdrs) >= 0) return true;
    return this.chain.publish(subject, data, hdrs).then(() => true);
  }

  /** Like `publishChange`, for an event the caller has encoded itself (the benchmark's floor). */
  async publishEncoded(subject: string, e: EncodedEvent, pos: string, extra?: Record<string, string>): Promise<boolean> {
    if (this.tailPos !== null && pos <= this.tailPos) {
      this.skipped++;
      return false;
    }
    await this.send(subject, e.op, e.schema, e.table, e.keyJson, e.json, pos, extra);
    return true;
  }

  private send(subject: string, op: string, schema: string, table: string, keyJson: string, json: string | Uint8Array, pos: string, extra?: Record<string, string>): Promise<number> {
    // Buffer.from: ~2.5x cheaper than TextEncoder.encode on Node 20
    return this.chain.publish(subject, typeof json === "string" ? Buffer.from(json) : json, this.headers(op, schema, table, keyJson, pos, extra));
  }

  private headers(op: string, schema: string, table: string, keyJson: string, pos: string, extra?: Record<string, string>): HeaderBlock {
    const key = keyJson.length > 512 ? keyJson.slice(0, 509) + "..." : keyJson; // JSON escapes CR/LF
    let lines =
      `Nats-Msg-Id: ${this.o.idPrefix}:${pos}\r\n${HDR_EPOCH}: ${this.epoch}\r\n${HDR_POS}: ${pos}\r\n` +
      `Tributary-Op: ${headerValue(String(op))}\r\nTributary-Table: ${headerValue(`${schema}.${table}`)}\r\nTributary-Key: ${key}\r\n`;
    if (extra) for (const k in extra) lines += `${k}: ${headerValue(extra[k]!)}\r\n`;
    return new HeaderBlock(lines);
  }

  /** messages handed to the chain so far */
  get count(): number { return this.chain.count; }
  /** messages acknowledged, contiguous from the first */
  get acked(): number { return this.chain.acked; }
  /** Resolves when everything published so far is acknowledged; rejects when the chain failed. */
  drain(): Promise<void> { return this.chain.drain(); }
  close(): void { this.chain.close(); }
}
