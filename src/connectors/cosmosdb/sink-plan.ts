/**
 * The Cosmos DB sink's pure planning (no I/O): which document each event is about and the
 * one operation per document a batch comes down to. A document is `(id, partition key
 * value)`:
 * - `id`: the event key's `id` column if it has one, else its only column, else the JSON
 *   array of its values (a composite key) — as a string (`5` → "5");
 * - the partition key: the value at the sink's `partitionKey` path of the document body
 *   (the event's image merged with its key and the id).
 * Per document the last change wins: a delete, or an upsert of the merged images since the
 * last delete (Cosmos replaces a document whole, so a delete followed by an upsert is just
 * the upsert). An update that moves a row to another partition key value (seen in its
 * `before` image) also deletes the document under the old value. A record the target can
 * never take (no key, no partition key value, a bad id, over 2 MB, a truncate) is a
 * {@link CosmosRowError}: the kernel dead-letters it and the stream goes on.
 */
import type { JsonValue, Row } from "../../events/index.js";
import type { SinkRecord } from "../../core/index.js";
import { SYSTEM_PROPERTIES, valueAt } from "./event-builder.js";

/** Largest document Cosmos DB stores: 2 MB of JSON. */
export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;

/** A partition key value (a missing property is refused, not written as "none"). */
export type PkValue = string | number | boolean | null;

/** One operation on one document. */
export interface DocOp {
  kind: "upsert" | "delete";
  id: string;
  pk: PkValue;
  /** the whole document (upserts) */
  body?: Row;
  /**
   * the body lacks columns the source declares (`types`) but did not send (PostgreSQL's
   * unchanged TOAST values): the stored document's values are kept for them (read, merge, upsert)
   */
  partial?: boolean;
  /** the sequences of the records it comes from (for messages) */
  seqs: number[];
}

/** A record (or an operation) the target refuses for its data: dead-lettered with this message. */
export class CosmosRowError extends Error {
  constructor(message: string, readonly seqs: readonly number[] = []) {
    super(message);
    this.name = "CosmosRowError";
  }
}

const SYSTEM = new Set<string>(SYSTEM_PROPERTIES);

/** The document id of a key (see the module comment); throws CosmosRowError when none can be made. */
export function documentId(key: Row, image: Row | null, seq: number): string {
  const cols = Object.keys(key);
  let v: JsonValue | undefined;
  if (Object.hasOwn(key, "id")) v = key.id;
  else if (cols.length === 1) v = key[cols[0]!];
  else if (cols.length > 1) v = cols.map((c) => key[c]!);
  else v = image?.id; // a transformer's output without a key: the image's own id
  if (v === undefined || v === null) throw new CosmosRowError(`event seq ${seq} has no key (and no id) to name its document`, [seq]);
  const id = typeof v === "string" ? v : JSON.stringify(v);
  if (id === "") throw new CosmosRowError(`event seq ${seq}: the document id would be empty`, [seq]);
  if (/[/\\?#]/.test(id)) throw new CosmosRowError(`event seq ${seq}: document id ${JSON.stringify(id)} contains / \\ ? or #, which Cosmos DB ids cannot`, [seq]);
  if (Buffer.byteLength(id) > 1023) throw new CosmosRowError(`event seq ${seq}: document id is longer than Cosmos DB allows (1023 bytes)`, [seq]);
  return id;
}

/** The body of a document: user properties of `image` and `key`, with the id; system properties dropped. */
function bodyOf(image: Row | null, key: Row, id: string): Row {
  const body: Row = {};
  for (const src of [image, key]) {
    if (!src) continue;
    for (const k in src) if (!SYSTEM.has(k)) body[k] = src[k]!;
  }
  body.id = id;
  return body;
}

/** The partition key value of `body` at `path`; throws CosmosRowError when absent. */
function pkOf(body: Row, path: string, seq: number): PkValue {
  const v = valueAt(body, path);
  if (v === undefined) {
    throw new CosmosRowError(`event seq ${seq} (document id ${JSON.stringify(body.id)}) has no value at the partition key path ${path}: make it a key column, send full row images (PostgreSQL: REPLICA IDENTITY FULL), or choose another partitionKey`, [seq]);
  }
  return v as PkValue;
}

/** Byte size of a document's JSON. */
export function documentBytes(body: Row): number {
  return Buffer.byteLength(JSON.stringify(body));
}

interface DocState {
  op: DocOp;
  /** columns the source declared for this document's table */
  declared: Set<string>;
}

/**
 * One operation per document for `records` (one target container's share of a batch, in
 * sequence order).
 * @param pkPath the sink's partition key path, e.g. `/pk`
 * @throws CosmosRowError naming the record that cannot become a document operation
 */
export function planDocuments(records: readonly SinkRecord[], pkPath: string): DocOp[] {
  const docs = new Map<string, DocState>();
  const touch = (id: string, pk: PkValue): [string, DocState | undefined] => {
    const k = `${id}\u0000${JSON.stringify(pk)}`;
    const s = docs.get(k);
    docs.delete(k); // re-inserted below: the map's order is the order of each document's last change
    return [k, s];
  };
  for (const { seq, event } of records) {
    if (event.op === "t") throw new CosmosRowError(`event seq ${seq} truncates ${event.source.schema}.${event.source.table}: the Cosmos DB sink cannot empty a container (delete it, or filter truncates out with a transformer)`, [seq]);
    const key = event.key ?? {};
    if (event.op === "d") {
      const image = event.before;
      const id = documentId(key, image, seq);
      const pk = pkOf(bodyOf(image, key, id), pkPath, seq);
      const [k, s] = touch(id, pk);
      docs.set(k, { op: { kind: "delete", id, pk, seqs: [...(s?.op.seqs ?? []), seq] }, declared: s?.declared ?? new Set() });
      continue;
    }
    if (!event.after) throw new CosmosRowError(`event seq ${seq} (op '${event.op}') has no after image`, [seq]);
    const id = documentId(key, event.after, seq);
    const after = bodyOf(event.after, key, id);
    const pk = pkOf(after, pkPath, seq);
    if (event.before) {
      // a row moved to another partition key value: its old document goes away
      const oldPk = valueAt(bodyOf(event.before, key, id), pkPath);
      if (oldPk !== undefined && JSON.stringify(oldPk) !== JSON.stringify(pk)) {
        const [ok, os] = touch(id, oldPk as PkValue);
        docs.set(ok, { op: { kind: "delete", id, pk: oldPk as PkValue, seqs: [...(os?.op.seqs ?? []), seq] }, declared: os?.declared ?? new Set() });
      }
    }
    const [k, s] = touch(id, pk);
    const merged = s && s.op.kind === "upsert" && s.op.body ? { ...s.op.body, ...after } : after;
    const declared = s && s.op.kind === "upsert" ? s.declared : new Set<string>();
    for (const c of Object.keys(event.types ?? {})) declared.add(c);
    docs.set(k, { op: { kind: "upsert", id, pk, body: merged, seqs: [...(s?.op.seqs ?? []), seq] }, declared });
  }
  const ops: DocOp[] = [];
  for (const { op, declared } of docs.values()) {
    if (op.kind === "upsert" && op.body) {
      const bytes = documentBytes(op.body);
      if (bytes > MAX_DOCUMENT_BYTES) {
        throw new CosmosRowError(`document id ${JSON.stringify(op.id)} would be ${bytes} bytes, over Cosmos DB's 2 MB limit (${MAX_DOCUMENT_BYTES} bytes): event seq ${op.seqs.join(", ")}`, op.seqs);
      }
      for (const c of declared) {
        if (!Object.hasOwn(op.body, c)) {
          op.partial = true;
          break;
        }
      }
    }
    ops.push(op);
  }
  return ops;
}
