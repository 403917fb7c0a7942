/**
 * The MongoDB sink's offset: one document per (cluster, stream, sink) in the offsets
 * collection (`_id` `<cluster>.<stream>.<sink>`), holding the last applied input sequence
 * and the writer's lease epoch (ADR 0005, 0009). It is written with an epoch-checked
 * upsert: `{_id, epoch: {$lte: ours}}` matches only while no newer owner has written, and
 * when a newer one has, the upsert's insert collides on `_id` (11000) → FENCED. On a
 * replica set this runs inside the batch's transaction; on a standalone server after it.
 */
import { Long, MongoServerError, type ClientSession, type Collection } from "mongodb";
import { TributaryError } from "../../base/index.js";
import type { SinkOffset } from "../../core/index.js";

/** The offset document. */
export interface OffsetDoc {
  _id: string;
  cluster: string;
  sink: string;
  seq: Long;
  epoch: Long;
  updatedAt: Date;
}

/** Reads and writes one sink's offset document. */
export class OffsetStore {
  constructor(
    private readonly coll: Collection<OffsetDoc>,
    /** the document `_id`: `<cluster>.<stream>.<sink>` */
    readonly id: string,
    private readonly cluster: string,
    private readonly sinkId: string,
  ) {}

  /** The stored offset, `{seq: 0, epoch: 0}` when there is no document. */
  async read(session?: ClientSession): Promise<SinkOffset> {
    const doc = await this.coll.findOne({ _id: this.id }, session ? { session } : {});
    if (!doc) return { seq: 0, epoch: 0 };
    return { seq: Number(doc.seq), epoch: Number(doc.epoch) };
  }

  /**
   * Stores `next` unless a newer epoch is stored (the seq only grows).
   * @throws TributaryError FENCED when another owner with a newer epoch has written.
   */
  async write(next: SinkOffset, session?: ClientSession): Promise<void> {
    try {
      await this.coll.updateOne(
        { _id: this.id, epoch: { $lte: Long.fromNumber(next.epoch) } },
        {
          $set: { cluster: this.cluster, sink: this.sinkId, epoch: Long.fromNumber(next.epoch), updatedAt: new Date() },
          $max: { seq: Long.fromNumber(next.seq) },
        },
        { upsert: true, ...(session ? { session } : {}) },
      );
    } catch (err) {
      if (!(err instanceof MongoServerError) || err.code !== 11000) throw err;
      const now = await this.read(session).catch(() => undefined);
      throw new TributaryError(
        "FENCED",
        `sink ${this.sinkId}: its offset document ${this.id} holds a newer epoch${now ? ` (now seq ${now.seq}, epoch ${now.epoch})` : ""} than this writer's ${next.epoch}: another owner has written`,
      );
    }
  }
}
