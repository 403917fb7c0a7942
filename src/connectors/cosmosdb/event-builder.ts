/**
 * Turns change feed items into change events in the common envelope (docs/types.md, Cosmos
 * DB section). The document's system properties (`_rid`, `_self`, `_etag`, `_attachments`,
 * `_ts`, `_lsn`) move to `source`; `before` and `after` hold the user's properties only.
 * The key is the document's identity: `id` plus the partition key value(s), one column per
 * partition key path (`/pk` → `pk`, `/a/b` → `a.b`).
 *
 * - latestVersion items are the documents themselves: op `u` ("the document now looks like
 *   this"; creates and updates are not told apart, deletes are never delivered), `before` null.
 * - allVersionsAndDeletes items are `{current, previous?, metadata}`: op `c` / `u` / `d` from
 *   `metadata.operationType`, `before` from the previous image when the service sends it.
 */
import type { ChangeEvent, EventSource, JsonValue, Row } from "../../events/index.js";

/** The Cosmos DB system properties a document carries. */
export const SYSTEM_PROPERTIES = ["_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"] as const;

/** `source` of a Cosmos DB event: the common fields plus the service's metadata. */
export interface CosmosEventSource extends EventSource {
  _rid?: string;
  _self?: string;
  _etag?: string;
  _attachments?: string;
  /** last modification, epoch seconds */
  _ts?: number;
  /** the change's log sequence number (per physical partition on the service) */
  _lsn?: number;
  /** allVersionsAndDeletes: the service's operation type (create, replace, delete) */
  operationType?: string;
  /** allVersionsAndDeletes: commit time, epoch seconds */
  crts?: number;
  /** allVersionsAndDeletes: the LSN of the previous image */
  previousImageLSN?: number;
  /** allVersionsAndDeletes: the delete was a TTL expiry */
  timeToLiveExpired?: boolean;
}

/** A Cosmos DB change event (the common envelope; `source` carries the system properties). */
export interface CosmosChangeEvent extends ChangeEvent {
  source: CosmosEventSource;
}

/** What every event of one container shares. */
export interface ContainerShape {
  stream: string;
  database: string;
  container: string;
  /** partition key paths of the container, e.g. ["/pk"] */
  pkPaths: readonly string[];
}

type Json = Record<string, unknown>;

/** Property names of a partition key path: `/a/b` → [a, b]; `/"odd name"` → [odd name]. */
export function pathParts(path: string): string[] {
  return path
    .split("/")
    .filter((p) => p !== "")
    .map((p) => (p.length >= 2 && p.startsWith('"') && p.endsWith('"') ? p.slice(1, -1) : p));
}

/** The key column of a partition key path: `/pk` → `pk`, `/a/b` → `a.b`. */
export function pkColumn(path: string): string {
  return pathParts(path).join(".");
}

/** The value at a partition key path of `doc` (undefined when absent or not a scalar). */
export function valueAt(doc: unknown, path: string): JsonValue | undefined {
  let cur: unknown = doc;
  for (const part of pathParts(path)) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Json)[part];
  }
  return cur === null || typeof cur === "string" || typeof cur === "number" || typeof cur === "boolean" ? cur : undefined;
}

/** Splits a document into its user properties and its system properties. */
export function splitSystem(doc: Json): { user: Row; system: Partial<Record<(typeof SYSTEM_PROPERTIES)[number], JsonValue>> } {
  const user: Row = {};
  const system: Partial<Record<(typeof SYSTEM_PROPERTIES)[number], JsonValue>> = {};
  for (const k in doc) {
    if ((SYSTEM_PROPERTIES as readonly string[]).includes(k)) system[k as (typeof SYSTEM_PROPERTIES)[number]] = doc[k] as JsonValue;
    else user[k] = doc[k] as JsonValue;
  }
  return { user, system };
}

/**
 * The key of a document: `id` and one column per partition key path (null when the
 * document lacks it). Values come from the first of `sources` that has them.
 */
export function keyOf(shape: ContainerShape, id: unknown, ...sources: unknown[]): Row {
  const key: Row = { id: typeof id === "string" ? id : id === undefined || id === null ? null : String(id) };
  for (const path of shape.pkPaths) {
    const col = pkColumn(path);
    if (col === "id") continue;
    let v: JsonValue | undefined;
    for (const s of sources) if (v === undefined) v = valueAt(s, path);
    key[col] = v ?? null;
  }
  return key;
}

function sourceOf(shape: ContainerShape, pos: string, tsMs: number, system: Json): CosmosEventSource {
  return {
    connector: "cosmosdb",
    stream: shape.stream,
    db: shape.database,
    schema: shape.database,
    table: shape.container,
    pos,
    txId: null,
    ts_ms: tsMs,
    snapshot: false,
    ...system,
  };
}

/** The event of a latestVersion item (the document itself). */
export function latestVersionEvent(shape: ContainerShape, doc: Json, pos: string, now: number = Date.now()): CosmosChangeEvent {
  const { user, system } = splitSystem(doc);
  const ts = typeof system._ts === "number" ? system._ts * 1000 : now;
  return {
    op: "u",
    before: null,
    after: user,
    key: keyOf(shape, doc.id, doc),
    source: sourceOf(shape, pos, ts, system),
    ts_ms: now,
  };
}

/** An allVersionsAndDeletes item as the service sends it (wire format 2021-09-15). */
export interface AvadItem {
  current?: Json | null;
  previous?: Json | null;
  metadata?: {
    operationType?: string;
    lsn?: number;
    crts?: number;
    previousImageLSN?: number;
    timeToLiveExpired?: boolean;
    id?: string;
    partitionKey?: Json;
  };
}

const OPS: Record<string, "c" | "u" | "d"> = { create: "c", replace: "u", delete: "d" };

/**
 * The event of an allVersionsAndDeletes item. Throws when the operation type is unknown
 * (a newer wire format: better to stop than to guess).
 */
export function allVersionsEvent(shape: ContainerShape, item: AvadItem, pos: string, now: number = Date.now()): CosmosChangeEvent {
  const m = item.metadata ?? {};
  const type = String(m.operationType ?? "").toLowerCase();
  const op = OPS[type];
  if (!op) throw new Error(`unknown change feed operationType ${JSON.stringify(m.operationType)} in container ${shape.database}/${shape.container}`);
  const current = op === "d" ? null : (item.current ?? null);
  const previous = item.previous ?? null;
  const cur = current ? splitSystem(current) : null;
  const prev = previous ? splitSystem(previous) : null;
  const id = current?.id ?? m.id ?? previous?.id;
  const system: Json = { ...(prev?.system ?? {}), ...(cur?.system ?? {}) };
  const meta: Json = { operationType: type };
  if (typeof m.lsn === "number") meta._lsn = m.lsn;
  if (typeof m.crts === "number") meta.crts = m.crts;
  if (typeof m.previousImageLSN === "number") meta.previousImageLSN = m.previousImageLSN;
  if (m.timeToLiveExpired === true) meta.timeToLiveExpired = true;
  const ts = typeof m.crts === "number" ? m.crts * 1000 : typeof system._ts === "number" ? system._ts * 1000 : now;
  return {
    op,
    before: prev?.user ?? null,
    after: cur?.user ?? null,
    key: keyOf(shape, id, current, previous, m.partitionKey),
    source: sourceOf(shape, pos, ts, { ...system, ...meta }),
    ts_ms: now,
  };
}
