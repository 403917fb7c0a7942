/**
 * Publishes change events of one writer (reader or transformer) to its JetStream stream
 * through the gap-free ChainPublisher, with the brief's headers. On start it reads the
 * position of the last event the stream holds; events at or before it are skipped, so a
 * restart from an older checkpoint never re-appends what is already there.
 *
 * Per event it does the least it can: one JSON encoding of the event, one of its key,
 * and a header block filled directly (docs/performance.md).
 */
import { MsgHdrsImpl, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { ChainPublisher } from "../nats/chain-publisher.js";
import type { ChangeEvent } from "../events/change-event.js";

export const HDR_EPOCH = "Tributary-Epoch";
export const HDR_POS = "Tributary-Pos";

const enc = new TextEncoder();
const CRLF = /[\r\n]/;

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
    await this.chain.publish(subject, enc.encode(JSON.stringify(event)), this.headers(event, pos, extra));
    return true;
  }

  private headers(event: ChangeEvent, pos: string, extra?: Record<string, string>): MsgHdrs {
    const m = new MsgHdrsImpl();
    const h = m.headers;
    const key = JSON.stringify(event.key); // JSON escapes CR/LF: safe in a header
    const table = `${event.source.schema}.${event.source.table}`;
    h.set("Nats-Msg-Id", [`${this.o.idPrefix}:${pos}`]);
    h.set(HDR_EPOCH, [this.epoch]);
    h.set(HDR_POS, [pos]);
    h.set("Tributary-Op", [event.op]);
    h.set("Tributary-Table", [CRLF.test(table) ? table.replace(/[\r\n]+/g, " ") : table]);
    h.set("Tributary-Key", [key.length > 512 ? key.slice(0, 509) + "..." : key]);
    if (extra) for (const k in extra) h.set(k, [extra[k]!.replace(/[\r\n]+/g, " ")]);
    return m;
  }

  get count(): number { return this.chain.count; }
  get acked(): number { return this.chain.acked; }
  drain(): Promise<void> { return this.chain.drain(); }
  close(): void { this.chain.close(); }
}
