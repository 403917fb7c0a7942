/**
 * Cursors of the fake MongoDB server: result cursors of find / aggregate / list commands and
 * change-stream cursors, with int64 ids (the driver rejects any other type), batches capped
 * by count and by size, and the getMore / killCursors commands.
 */
import { BSON, Long } from "mongodb";
import { bsonType, type Doc } from "./bson-values.js";
import { ChangeStreamCursor } from "./change-stream.js";
import { CommandError, fail } from "./errors.js";
import { intOption } from "./queries.js";

const MAX_BATCH_BYTES = 15 * 1024 * 1024;
/** mongod's default first batch of find and aggregate. */
export const DEFAULT_FIRST_BATCH = 101;

/** Takes the next batch of at most `max` documents and ~15 MiB (at least one document). */
export function takeBatch(docs: readonly Doc[], start: number, max: number): Doc[] {
  const out: Doc[] = [];
  let bytes = 0;
  for (let i = start; i < docs.length && out.length < max && bytes < MAX_BATCH_BYTES; i++) {
    const d = docs[i] as Doc;
    bytes += BSON.calculateObjectSize(d);
    out.push(d);
  }
  return out;
}

/** A cursor over a precomputed result. */
export class ResultCursor {
  private pos = 0;

  constructor(
    readonly id: Long,
    readonly ns: string,
    private readonly docs: readonly Doc[],
  ) {}

  /** The next batch; advances the cursor. */
  take(max: number): Doc[] {
    const batch = takeBatch(this.docs, this.pos, max);
    this.pos += batch.length;
    return batch;
  }

  /** True when every document has been returned. */
  get exhausted(): boolean {
    return this.pos >= this.docs.length;
  }
}

/** Open cursors by id. */
export class CursorRegistry {
  private lastId = 0;
  private readonly cursors = new Map<string, ResultCursor | ChangeStreamCursor>();

  /** A new cursor id (deterministic: 1, 2, 3 … as int64). */
  allocId(): Long {
    this.lastId += 1;
    return Long.fromNumber(this.lastId);
  }

  /** Number of open cursors. */
  get size(): number {
    return this.cursors.size;
  }

  add(cursor: ResultCursor | ChangeStreamCursor): void {
    this.cursors.set(cursor.id.toString(), cursor);
  }

  remove(id: Long): boolean {
    const c = this.cursors.get(id.toString());
    if (c instanceof ChangeStreamCursor) c.kill();
    return this.cursors.delete(id.toString());
  }

  get(id: Long): ResultCursor | ChangeStreamCursor | undefined {
    return this.cursors.get(id.toString());
  }

  /** Kills every cursor (server shutdown). */
  clear(): void {
    for (const c of this.cursors.values()) if (c instanceof ChangeStreamCursor) c.kill();
    this.cursors.clear();
  }

  /**
   * Replies to a find/aggregate with the first batch of `docs`, keeping a cursor open for the
   * rest unless `singleBatch`.
   */
  firstBatchReply(ns: string, docs: readonly Doc[], batchSize: number | undefined, singleBatch = false): Doc {
    const id = this.allocId();
    const cursor = new ResultCursor(id, ns, docs);
    const firstBatch = cursor.take(batchSize ?? DEFAULT_FIRST_BATCH);
    const open = !singleBatch && !cursor.exhausted;
    if (open) this.add(cursor);
    return { cursor: { firstBatch, id: open ? id : Long.ZERO, ns }, ok: 1 };
  }

  /** `getMore`: next batch of a result cursor, or awaited events of a change stream. */
  async getMore(body: Doc): Promise<Doc> {
    const id = body.getMore;
    if (bsonType(id) !== "Long") throw fail("TypeMismatch", "BSON field 'getMore.getMore' is the wrong type, expected type long");
    const cursor = this.get(id as Long);
    if (!cursor) throw fail("CursorNotFound", `cursor id ${String(id)} not found`);
    const max = intOption(body, "batchSize") || Number.MAX_SAFE_INTEGER;
    if (cursor instanceof ResultCursor) {
      const nextBatch = cursor.take(max);
      if (cursor.exhausted) this.remove(cursor.id);
      return { cursor: { nextBatch, id: cursor.exhausted ? Long.ZERO : cursor.id, ns: cursor.ns }, ok: 1 };
    }
    try {
      const r = await cursor.next(intOption(body, "maxTimeMS") ?? 1000, max);
      if (cursor.closed) this.remove(cursor.id);
      return {
        cursor: { nextBatch: r.batch, postBatchResumeToken: r.postBatchResumeToken, id: cursor.closed ? Long.ZERO : cursor.id, ns: cursor.ns },
        ok: 1,
      };
    } catch (err) {
      // mongod kills a change stream whose getMore failed.
      if (err instanceof CommandError) this.remove(cursor.id);
      throw err;
    }
  }

  /** `killCursors`: `{killCursors: coll, cursors: [Long]}`. */
  killCursors(body: Doc): Doc {
    const ids = Array.isArray(body.cursors) ? (body.cursors as unknown[]) : [];
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) {
      if (bsonType(id) !== "Long") continue;
      (this.remove(id as Long) ? killed : notFound).push(id as Long);
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }
}
