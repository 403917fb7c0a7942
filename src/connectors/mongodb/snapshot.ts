/**
 * The initial snapshot's reads: the collections a snapshot covers ("db.*" resolved when it
 * starts) and each collection's documents in `_id` order, in batches, from after the last
 * `_id` a previous attempt published. Resuming after an `_id` must not skip documents whose
 * `_id` has another BSON type: `$gt` only compares within one type bracket, so the filter
 * also takes every document whose `_id` type sorts after the last one's (BSON order).
 */
import { BSON, type Document, type MongoClient } from "mongodb";
import { EXACT_VALUES } from "./change-stream.js";
import { splitNamespace } from "./schema-source.js";

/** The BSON comparison order of `_id` types, as `$type` aliases (arrays cannot be an `_id`). */
const TYPE_ORDER: readonly string[][] = [
  ["minKey"],
  ["null", "undefined"],
  ["int", "long", "double", "decimal"],
  ["string", "symbol"],
  ["object"],
  ["binData"],
  ["objectId"],
  ["bool"],
  ["date"],
  ["timestamp"],
  ["regex"],
  ["javascript", "javascriptWithScope"],
  ["maxKey"],
];

/** `$type` bracket of a value read with exact values (see values-encode.ts). */
function bracketOf(v: unknown): number {
  const alias = (() => {
    if (v === null) return "null";
    if (v === undefined) return "undefined";
    if (typeof v === "string") return "string";
    if (typeof v === "number" || typeof v === "bigint") return "double";
    if (typeof v === "boolean") return "bool";
    if (v instanceof Date) return "date";
    const t = (v as { _bsontype?: string })._bsontype;
    const map: Record<string, string> = { ObjectId: "objectId", Int32: "int", Double: "double", Long: "long", Decimal128: "decimal", Binary: "binData", Timestamp: "timestamp", BSONRegExp: "regex", Code: "javascript", BSONSymbol: "symbol", MinKey: "minKey", MaxKey: "maxKey" };
    return t ? (map[t] ?? "object") : "object";
  })();
  return TYPE_ORDER.findIndex((b) => b.includes(alias));
}

/** The filter of the documents after `lastId` in `_id` order. */
export function afterIdFilter(lastId: unknown): Document {
  const later = TYPE_ORDER.slice(bracketOf(lastId) + 1).flat();
  return later.length ? { $or: [{ _id: { $gt: lastId } }, { _id: { $type: later } }] } : { _id: { $gt: lastId } };
}

/** The namespaces a snapshot reads, in order: "db.*" becomes the database's collections (views and system collections left out). */
export async function snapshotCollections(client: MongoClient, collections: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const ns of collections) {
    const [db, coll] = splitNamespace(ns);
    if (coll !== "*") {
      if (!out.includes(ns)) out.push(ns);
      continue;
    }
    const listed = await client.db(db).listCollections({ type: "collection" }, { nameOnly: true }).toArray();
    for (const name of listed.map((c) => String(c.name)).filter((n) => !n.startsWith("system.")).sort()) {
      if (!out.includes(`${db}.${name}`)) out.push(`${db}.${name}`);
    }
  }
  return out;
}

/** Documents of `ns` after `lastId` (all when undefined), in `_id` order, `batchSize` at a time; ends early once `signal` aborts. */
export async function* readCollection(client: MongoClient, ns: string, lastId: unknown, batchSize: number, signal: AbortSignal): AsyncGenerator<Document[]> {
  const [db, coll] = splitNamespace(ns);
  // raw documents, parsed here with exact values: the command itself keeps the driver's
  // default parsing, so its error codes stay numbers for the driver's retryable reads
  const cursor = client
    .db(db)
    .collection(coll)
    .find(lastId === undefined ? {} : afterIdFilter(lastId), { raw: true })
    .sort({ _id: 1 })
    .batchSize(batchSize);
  try {
    let batch: Document[] = [];
    for await (const raw of cursor) {
      if (signal.aborted) return;
      batch.push(BSON.deserialize(raw as unknown as Uint8Array, EXACT_VALUES));
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length && !signal.aborted) yield batch;
  } finally {
    await cursor.close().catch(() => undefined);
  }
}
