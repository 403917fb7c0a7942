/**
 * Turns pgoutput tuples (TEXT values, see catalog SESSION_OPTIONS) and snapshot rows into
 * change events. Unchanged-TOAST values arrive as `undefined` and become absent keys.
 */
import type { ChangeEvent, Op, Row } from "../../events/change-event.js";
import { decodeText, type ColumnType } from "./type-map.js";

/** What the builder knows about a table. */
export interface RelationShape {
  schema: string;
  table: string;
  columns: Array<{ name: string; type: ColumnType }>;
  keyColumns: string[];
  /** column name -> typname, carried in events so sinks can create tables */
  types: Record<string, string>;
}

/** Converts a tuple of TEXT values into a Row (absent keys for unchanged TOAST). */
export function toRow(shape: RelationShape, tuple: Record<string, unknown> | null | undefined): Row | null {
  if (!tuple) return null;
  const row: Row = {};
  for (const c of shape.columns) {
    if (!(c.name in tuple)) continue;
    const raw = tuple[c.name];
    if (raw === undefined) continue; // unchanged TOAST: not sent, keep the target's value
    const v = decodeText(raw === null ? null : String(raw), c.type);
    if (v !== undefined) row[c.name] = v;
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

/** Shape from catalog columns. */
export function shapeOf(schema: string, table: string, columns: RelationShape["columns"], keyColumns: string[]): RelationShape {
  const types: Record<string, string> = {};
  for (const c of columns) types[c.name] = c.type.name;
  return { schema, table, columns, keyColumns, types };
}

/** True when two keys differ (primary-key update). */
export function keysDiffer(a: Row, b: Row): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return true;
  return ka.some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
