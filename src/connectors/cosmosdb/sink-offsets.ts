/**
 * The Cosmos DB sink's offset: one document per (cluster, stream, sink) in the offsets
 * container (partition key `/id`), holding the last applied input sequence and the
 * writer's lease epoch (ADR 0005, 0008). It is written after a batch's documents with
 * optimistic concurrency: `If-Match` the etag read before the batch, so a writer that is no
 * longer the only one (a stale owner, or a newer one) is refused with 412 → FENCED.
 */
import type { Container } from "@azure/cosmos";
import { TributaryError } from "../../base/index.js";
import type { SinkOffset } from "../../core/index.js";
import { statusOf } from "./errors.js";

/** The stored offset and the etag it was read with (undefined: no document yet). */
export interface StoredOffset extends SinkOffset {
  etag?: string;
}

/** The offset document. */
interface OffsetDoc {
  id: string;
  cluster: string;
  sink: string;
  seq: number;
  epoch: number;
  updatedAt: string;
}

/** Reads and writes one sink's offset document. */
export class OffsetStore {
  constructor(
    private readonly container: Container,
    /** the document id: `sinkOffsetKey(cluster, sinkId)`, `<cluster>.<stream>.<sink>` (docs/adr/0010) */
    readonly id: string,
    private readonly cluster: string,
    private readonly sinkId: string,
  ) {}

  /**
   * The stored offset, `{seq: 0, epoch: 0}` without etag when there is no document. Throws
   * the SDK's error otherwise, and SINK_INVALID for a document of another cluster or sink
   * under this id (written by hand or by a tool that keys offsets differently): using it
   * would skip or refuse this sink's events.
   */
  async read(): Promise<StoredOffset> {
    try {
      const r = await this.container.item(this.id, this.id).read<OffsetDoc>();
      if (r.statusCode === 404 || !r.resource) return { seq: 0, epoch: 0 };
      if (r.resource.cluster !== this.cluster || r.resource.sink !== this.sinkId) {
        throw new TributaryError(
          "SINK_INVALID",
          `sink ${this.sinkId} of cluster ${this.cluster}: its offset document ${this.id} belongs to sink ${String(r.resource.sink)} of cluster ${String(r.resource.cluster)}; remove that document or the sink's offsets container is shared with something else`,
        );
      }
      return { seq: Number(r.resource.seq), epoch: Number(r.resource.epoch), etag: r.etag };
    } catch (err) {
      if (statusOf(err).status === 404) return { seq: 0, epoch: 0 };
      throw err;
    }
  }

  /**
   * Writes `next` if the document is still what `prev` read (etag), creating it when there
   * was none. A lost race is FENCED — unless the stored document already says `next` (our
   * own write landed and only its reply was lost, then the SDK's retry met the new etag).
   */
  async write(prev: StoredOffset, next: SinkOffset): Promise<StoredOffset> {
    const doc: OffsetDoc = { id: this.id, cluster: this.cluster, sink: this.sinkId, seq: next.seq, epoch: next.epoch, updatedAt: new Date().toISOString() };
    try {
      const r = prev.etag === undefined
        ? await this.container.items.create(doc)
        : await this.container.item(this.id, this.id).replace(doc, { accessCondition: { type: "IfMatch", condition: prev.etag } });
      return { ...next, ...(r.etag ? { etag: r.etag } : {}) };
    } catch (err) {
      const status = statusOf(err).status;
      if (status !== 412 && status !== 409) throw err;
      const now = await this.read();
      if (now.seq === next.seq && now.epoch === next.epoch) return now;
      throw new TributaryError(
        "FENCED",
        `sink ${this.sinkId}: its offset document ${this.id} changed under it (now seq ${now.seq}, epoch ${now.epoch}; this writer read seq ${prev.seq}, epoch ${prev.epoch} and has epoch ${next.epoch}): another owner has written`,
      );
    }
  }
}
