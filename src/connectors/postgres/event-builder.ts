/**
 * Turns pgoutput tuples (TEXT values, see catalog SESSION_OPTIONS) and snapshot rows into
 * change events. Unchanged-TOAST values arrive as `undefined` and become absent keys.
 */
import type { ChangeEvent, JsonValue, Op, Row } from "../../events/index.js";
import { SYNTHETIC_KEY } from "../shared/index.js";
import { textDecoderFor, type ColumnType } from "./type-map.js";

/** What the builder knows about a table. */
export interface RelationShape {
  schema: string;
  table: string;
  columns: Array<{ name: string; type: ColumnType }>;
  keyColumns: string[];
  /** column name -> typname, carried in events so sinks can create tables */
  types: Record<string, string>;
  /** per column, the TEXT -> JSON conversion (resolved on first use) */
  decoders?: Array<(text: string) => JsonValue>;
  /** a table without a primary key replicated insert-only: rows are keyed by their position (SYNTHETIC_KEY) */
  keyless?: boolean;
  /** JSON pieces of the envelope that are the same for every event (see encodeEvent) */
  fragments?: { stream: string; db: string; sourceHead: string; types: string };
}

/** Converts a tuple of TEXT values into a Row (absent keys for unchanged TOAST). */
export function toRow(shape: RelationShape, tuple: Record<string, unknown> | null | undefined): Row | null {
  if (!tuple) return null;
  const row: Row = {};
  const decoders = (shape.decoders ??= shape.columns.map((c) => textDecoderFor(c.type)));
  const columns = shape.columns;
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!.name;
    const raw = tuple[name];
    if (raw === undefined) continue; // unchanged TOAST (or not in the tuple): not sent, keep the target's value
    row[name] = raw === null ? null : decoders[i]!(String(raw));
  }
  return row;
}

/** Picks the key columns out of a row. */
export function keyOf(shape: RelationShape, row: Row | null): Row {
  const key: Row = {};
  if (!row) return key;
  for (const k of shape.keyColumns) if (k in row) key[k] = row[k]!;
  return key;
}

export interface EventMeta {
  stream: string;
  db: string;
  pos: string;
  txId: number | string | null;
  tsMs: number;
  snapshot: boolean;
}

/** Assembles the Debezium-compatible envelope. */
export function makeEvent(shape: RelationShape, op: Op, before: Row | null, after: Row | null, key: Row, m: EventMeta): ChangeEvent {
  return {
    op,
    before,
    after,
    key,
    source: { connector: "postgres", stream: m.stream, db: m.db, schema: shape.schema, table: shape.table, pos: m.pos, txId: m.txId, ts_ms: m.tsMs, snapshot: m.snapshot },
    ts_ms: Date.now(),
    types: shape.types,
  };
}

/**
 * The same envelope as `JSON.stringify(makeEvent(...))`, byte for byte, built from JSON
 * fragments cached on the shape (source fields and column types are fixed per relation
 * and reader), so only the row images, the key and a few scalars are encoded per event.
 * Also returns the key's JSON, which the publisher puts in a header.
 */
export function encodeEvent(shape: RelationShape, op: Op, before: Row | null, after: Row | null, key: Row, m: EventMeta): { json: string; keyJson: string } {
  let f = shape.fragments;
  if (f === undefined || f.stream !== m.stream || f.db !== m.db) {
    const j = JSON.stringify;
    f = shape.fragments = {
      stream: m.stream,
      db: m.db,
      sourceHead: `{"connector":"postgres","stream":${j(m.stream)},"db":${j(m.db)},"schema":${j(shape.schema)},"table":${j(shape.table)},"pos":`,
      types: j(shape.types),
    };
  }
  const keyJson = JSON.stringify(key);
  const json =
    `{"op":"${op}","before":${before === null ? "null" : JSON.stringify(before)},"after":${after === null ? "null" : JSON.stringify(after)},"key":${keyJson},` +
    `"source":${f.sourceHead}${JSON.stringify(m.pos)},"txId":${JSON.stringify(m.txId)},"ts_ms":${JSON.stringify(m.tsMs)},"snapshot":${m.snapshot}},` +
    `"ts_ms":${Date.now()},"types":${f.types}}`;
  return { json, keyJson };
}

/** Shape from catalog columns. */
export function shapeOf(schema: string, table: string, columns: RelationShape["columns"], keyColumns: string[]): RelationShape {
  const types: Record<string, string> = {};
  for (const c of columns) types[c.name] = c.type.name;
  return { schema, table, columns, keyColumns, types };
}

/** The shape of a keyless table replicated insert-only: keyed by SYNTHETIC_KEY (a text column). */
export function insertOnlyShape(shape: RelationShape): RelationShape {
  return { ...shape, keyColumns: [SYNTHETIC_KEY], types: { ...shape.types, [SYNTHETIC_KEY]: "text" }, keyless: true };
}

/** True when two keys differ (primary-key update). */
export function keysDiffer(a: Row, b: Row): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return true;
  return ka.some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
