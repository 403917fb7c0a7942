/**
 * The MongoDB sink's pure planning (no I/O): one collection's share of a batch as the
 * operations of one ordered bulkWrite. Per key the last change wins:
 * - a delete → `deleteOne` by key;
 * - an insert, update or snapshot read → `replaceOne` by key with upsert, the whole
 *   document from `after` (a later full image replaces an earlier one, so a field a
 *   MongoDB update removed is removed);
 * - an image that lacks columns its source declares in `types` (PostgreSQL's unchanged
 *   TOAST values) → `updateOne` `$set` of the columns it has, with upsert, so the stored
 *   values of the others are kept;
 * - a truncate → `deleteMany({})` first, and the changes before it are dropped.
 * The document `_id` is the key's `_id` (a MongoDB source), else the key's only column's
 * value, else an embedded document of the key columns (a composite SQL key); the row's own
 * columns stay in the document. A record MongoDB would refuse for its data (a value its
 * type cannot take, a field name starting with `$` or holding NUL, an array `_id`, a
 * document over 16 MiB) is a {@link MongoRowError} naming it: the kernel dead-letters it.
 */
import { BSON, type AnyBulkWriteOperation, type Document } from "mongodb";
import type { ChangeEvent, Row } from "../../events/index.js";
import type { SinkRecord } from "../../core/index.js";
import { decodeRow } from "./values-decode.js";

/** Largest document MongoDB stores (BSON bytes). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** A record (or several) the target refuses for its data: dead-lettered with this message. */
export class MongoRowError extends Error {
  constructor(message: string, readonly seqs: readonly number[] = []) {
    super(message);
    this.name = "MongoRowError";
  }
}

/** One collection's share of a batch as bulkWrite operations, in order. */
export interface CollectionPlan {
  ops: AnyBulkWriteOperation<Document>[];
  /** the sequences of the records each operation comes from (for messages), index by index */
  seqs: number[][];
}

interface KeyState {
  key: Row;
  event: ChangeEvent;
  types: Record<string, string>;
  deleted: boolean;
  row: Row | null;
  /** the row lacks columns its source declared (keep the stored values of those) */
  partial: boolean;
  seqs: number[];
}

/**
 * Plans one collection's records (in sequence order).
 * @throws MongoRowError naming the record(s) the target cannot take
 */
export function planCollection(records: readonly SinkRecord[]): CollectionPlan {
  let truncateSeqs: number[] | undefined;
  let byKey = new Map<string, KeyState>();
  for (const { seq, event } of records) {
    if (event.op === "t") {
      truncateSeqs = [...(truncateSeqs ?? []), seq];
      byKey = new Map();
      continue;
    }
    const key = event.key ?? {};
    if (Object.keys(key).length === 0) throw new MongoRowError(`event seq ${seq} (op '${event.op}') has no key to find its document by`, [seq]);
    const id = JSON.stringify(Object.entries(key));
    const prev = byKey.get(id);
    byKey.delete(id); // re-inserted: the map's order is the order of each key's last change
    const state: KeyState = prev ?? { key, event, types: {}, deleted: false, row: null, partial: false, seqs: [] };
    state.seqs.push(seq);
    state.event = event;
    state.types = { ...state.types, ...(event.types ?? {}) };
    if (event.op === "d") {
      state.deleted = true;
      state.row = null;
      state.partial = false;
    } else if (!event.after) {
      // MongoDB with fullDocument: updateLookup finds nothing when the document was deleted
      // since: its delete event follows, so there is nothing to write for this one.
      if (!event.update) throw new MongoRowError(`event seq ${seq} (op '${event.op}') has no after image`, [seq]);
      if (!prev) continue;
    } else {
      const declared = Object.keys(event.types ?? {});
      const missing = declared.some((c) => !Object.hasOwn(event.after!, c));
      if (missing) {
        // merged onto this batch's earlier image of the key, if any: partial unless that one was whole
        state.partial = state.row ? state.partial : true;
        state.row = { ...(state.row ?? {}), ...event.after, ...key };
      } else {
        state.row = { ...event.after, ...key };
        state.partial = false;
      }
    }
    byKey.set(id, state);
  }
  const plan: CollectionPlan = { ops: [], seqs: [] };
  if (truncateSeqs) {
    plan.ops.push({ deleteMany: { filter: {} } });
    plan.seqs.push(truncateSeqs);
  }
  for (const s of byKey.values()) {
    const { filter, id } = filterOf(s);
    if (s.deleted && (!s.row || s.partial)) {
      plan.ops.push({ deleteOne: { filter } });
      plan.seqs.push(s.seqs);
    }
    if (!s.row) continue;
    const doc = documentOf(s, id);
    if (s.partial) {
      const { _id: _, ...fields } = doc;
      plan.ops.push({ updateOne: { filter, update: { $set: fields }, upsert: true } });
    } else {
      plan.ops.push({ replaceOne: { filter, replacement: doc, upsert: true } });
    }
    plan.seqs.push(s.seqs);
  }
  return plan;
}

/** Runs `fn`, turning a decoding failure into a MongoRowError naming the records. */
function forRecords<T>(s: KeyState, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new MongoRowError(`event seq ${s.seqs.join(", ")} (${s.event.source.schema}.${s.event.source.table}): ${what}: ${(err as Error).message}`, s.seqs);
  }
}

/** The filter finding a key's document, and its `_id` (see the module comment). */
function filterOf(s: KeyState): { filter: Document; id: unknown } {
  const keyDoc = forRecords(s, "its key", () => decodeRow(s.key, s.types, s.event.source.connector));
  const cols = Object.keys(keyDoc);
  let id: unknown;
  if (Object.hasOwn(keyDoc, "_id")) id = keyDoc._id;
  else if (cols.length === 1) id = keyDoc[cols[0]!];
  else id = keyDoc;
  if (Array.isArray(id)) throw new MongoRowError(`event seq ${s.seqs.join(", ")}: its key would make an array _id, which MongoDB does not allow`, s.seqs);
  return { filter: Object.hasOwn(keyDoc, "_id") ? keyDoc : { _id: id }, id };
}

/** The whole document of a key's row, `_id` first; checked for what MongoDB refuses. */
function documentOf(s: KeyState, id: unknown): Document {
  const row = s.row as Row;
  const fields = forRecords(s, "its document", () => decodeRow(row, s.types, s.event.source.connector));
  for (const f of Object.keys(fields)) {
    if (f.startsWith("$")) throw new MongoRowError(`event seq ${s.seqs.join(", ")}: field name ${JSON.stringify(f)} starts with "$", which MongoDB would read as an operator`, s.seqs);
    if (f.includes("\0")) throw new MongoRowError(`event seq ${s.seqs.join(", ")}: field name ${JSON.stringify(f)} holds a NUL character, which BSON cannot store`, s.seqs);
  }
  const { _id: _, ...rest } = fields;
  const doc: Document = { _id: id, ...rest };
  const bytes = forRecords(s, "its document", () => BSON.calculateObjectSize(doc));
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new MongoRowError(`event seq ${s.seqs.join(", ")}: the document would be ${bytes} bytes, over MongoDB's 16 MiB limit (${MAX_DOCUMENT_BYTES} bytes)`, s.seqs);
  }
  return doc;
}
