/**
 * Turns change stream documents and snapshot reads into change events in the common
 * envelope (docs/types.md "MongoDB"): op c/u/d/r, `after` the full document, `before` the
 * pre-image when there is one (else only the key, for u and d), the key from
 * `documentKey`, the update description in `update`, every value encoded by
 * values-encode.ts with its BSON type in `types`.
 */
import type { ChangeEvent, EventSource, Op, Row, UpdateDescription } from "../../events/index.js";
import { encodeDoc, encodeFields } from "./values-encode.js";

type Doc = Record<string, unknown>;

/** `source` of a MongoDB event: the common fields plus the change's operation type. */
export interface MongoEventSource extends EventSource {
  /** the change stream's operationType (absent for snapshot reads and under compat cosmos) */
  operationType?: string;
}

/** A MongoDB change event. */
export interface MongoChangeEvent extends ChangeEvent {
  source: MongoEventSource;
}

/** What every event of a stream shares. */
export interface EventContext {
  stream: string;
  /** producing time, for `ts_ms` (injectable for tests) */
  now?: number;
}

/** Operation types that carry a document change. */
const OPS: Record<string, Op> = { insert: "c", update: "u", replace: "u", delete: "d" };

/** The op of a change stream document; undefined for events that are not document changes (drop, invalidate…). Under compat cosmos there is no operationType: every change is an upsert (u). */
export function opOf(change: Doc, cosmos: boolean): Op | undefined {
  if (cosmos && change.operationType === undefined) return "u";
  return OPS[String(change.operationType)];
}

/** Change stream events after which the stream cannot follow its documents (they vanish without delete events). */
const ENDING = new Set(["drop", "rename", "dropDatabase", "invalidate"]);

/** What an ending event (drop, rename, dropDatabase, invalidate) did, in words; undefined for any other event. */
export function endingOf(change: Doc): string | undefined {
  const type = change.operationType;
  if (typeof type !== "string" || !ENDING.has(type)) return undefined;
  if (type === "invalidate") return "the change stream was invalidated (its collection or database was dropped or renamed)";
  const ns = (change.ns ?? {}) as { db?: string; coll?: string };
  if (type === "dropDatabase") return `database ${ns.db ?? "?"} was dropped`;
  const to = change.to as { db?: string; coll?: string } | undefined;
  return type === "rename" ? `collection ${ns.db}.${ns.coll} was renamed${to ? ` to ${to.db}.${to.coll}` : ""}` : `collection ${ns.db}.${ns.coll} was dropped`;
}

/** `lsid.id` (hex) and `txnNumber` of a change made in a transaction, e.g. "6c0f…:3"; null outside one. */
export function txIdOf(change: Doc): string | null {
  const lsid = change.lsid as { id?: { toString?: (enc: string) => string } } | undefined;
  const n = change.txnNumber as { toString(): string } | number | undefined;
  if (!lsid?.id || n === undefined) return null;
  return `${lsid.id.toString?.("hex") ?? String(lsid.id)}:${String(n)}`;
}

/** Commit time of a change in ms: `clusterTime` seconds, else `wallTime`, else now. */
function tsOf(change: Doc, now: number): number {
  const ct = change.clusterTime as { t?: number } | undefined;
  if (typeof ct?.t === "number" && ct.t > 0) return ct.t * 1000;
  const wall = change.wallTime;
  return wall instanceof Date && !Number.isNaN(wall.getTime()) ? wall.getTime() : now;
}

function sourceOf(ctx: EventContext, db: string, coll: string, pos: string, txId: string | null, tsMs: number, snapshot: boolean, operationType?: string): MongoEventSource {
  const s: MongoEventSource = { connector: "mongodb", stream: ctx.stream, db, schema: db, table: coll, pos, txId, ts_ms: tsMs, snapshot };
  if (operationType !== undefined) s.operationType = operationType;
  return s;
}

/** The event of a document read by the snapshot (op r). */
export function snapshotEvent(ctx: EventContext, db: string, coll: string, doc: Doc, pos: string, tsMs: number): MongoChangeEvent {
  const { row, types } = encodeDoc(doc);
  return { op: "r", before: null, after: row, key: { _id: row._id ?? null }, source: sourceOf(ctx, db, coll, pos, null, tsMs, true), ts_ms: ctx.now ?? Date.now(), types };
}

function updateOf(d: unknown): UpdateDescription | undefined {
  const u = d as { updatedFields?: Doc; removedFields?: string[]; truncatedArrays?: Array<{ field: string; newSize: unknown }> } | undefined | null;
  if (!u) return undefined;
  const out: UpdateDescription = { updated: encodeFields(u.updatedFields ?? {}), removed: [...(u.removedFields ?? [])] };
  if (u.truncatedArrays?.length) out.truncated = u.truncatedArrays.map((t) => ({ field: t.field, newSize: Number(t.newSize) }));
  return out;
}

/**
 * The event of a change stream document that changed a document (`opOf` is defined).
 * `before`: the pre-image when the change carries one, else the key (u, d) or null (c).
 * `after`: the full document (null for a delete, and for an update whose post-image is
 * gone: whenAvailable, or updateLookup of a document deleted since).
 */
export function changeEvent(ctx: EventContext, change: Doc, op: Op, pos: string): MongoChangeEvent {
  const ns = (change.ns ?? {}) as { db?: string; coll?: string };
  const keyDoc = (change.documentKey ?? {}) as Doc;
  const key = encodeDoc(keyDoc);
  const full = change.fullDocument as Doc | null | undefined;
  const pre = change.fullDocumentBeforeChange as Doc | null | undefined;
  const after = op !== "d" && full ? encodeDoc(full) : null;
  const preImage = op !== "c" && pre ? encodeDoc(pre) : null;
  // compat cosmos names no operation: the "update" may be an insert, so no key-only before
  const upsert = change.operationType === undefined;
  const before: Row | null = op === "c" ? null : preImage ? preImage.row : upsert ? null : key.row;
  const now = ctx.now ?? Date.now();
  const event: MongoChangeEvent = {
    op,
    before,
    after: after?.row ?? null,
    key: key.row,
    source: sourceOf(ctx, ns.db ?? "", ns.coll ?? "", pos, txIdOf(change), tsOf(change, now), false, typeof change.operationType === "string" ? change.operationType : undefined),
    ts_ms: now,
    types: { ...key.types, ...preImage?.types, ...after?.types },
  };
  const update = change.operationType === "update" ? updateOf(change.updateDescription) : undefined;
  if (update) event.update = update;
  return event;
}
