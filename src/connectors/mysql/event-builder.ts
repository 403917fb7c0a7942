/**
 * Turns MySQL/MariaDB rows (snapshot rows from mysql2, row images from zongji) into
 * change events. The database is both the event's `db` and its `schema`, so subjects read
 * `cdc.<stream>.<database>.<table>`.
 */
import type { ChangeEvent, Op, Row } from "../../events/index.js";
import { SYNTHETIC_KEY } from "../shared/index.js";
import { decodeValue } from "./type-map.js";

/** What the builder knows about a table. */
export interface TableShape {
  /** database */
  schema: string;
  table: string;
  /** columns in order, with COLUMN_TYPE text */
  columns: Array<{ name: string; type: string }>;
  keyColumns: string[];
  /** column name -> type, carried in events so sinks can create or evolve tables */
  types: Record<string, string>;
  /** a table without a primary key replicated insert-only: rows are keyed by their position (SYNTHETIC_KEY) */
  keyless?: boolean;
}

/** A shape from column descriptions. */
export function shapeOf(schema: string, table: string, columns: TableShape["columns"], keyColumns: string[]): TableShape {
  const types: Record<string, string> = {};
  for (const c of columns) types[c.name] = c.type;
  return { schema, table, columns, keyColumns, types };
}

/** The shape of a keyless table replicated insert-only: keyed by SYNTHETIC_KEY (a varchar(64): positions are fixed-width, about 40 characters). */
export function insertOnlyShape(shape: TableShape): TableShape {
  return { ...shape, keyColumns: [SYNTHETIC_KEY], types: { ...shape.types, [SYNTHETIC_KEY]: "varchar(64)" }, keyless: true };
}

/**
 * Converts a row object (column name -> driver value) into a Row of JSON values, decoding
 * each value by `decodeTypes[name]` (the type the row was written with) or, failing that,
 * the shape's type. Columns the row lacks are left out.
 */
export function toRow(shape: TableShape, raw: Record<string, unknown>, decodeTypes?: ReadonlyMap<string, string>): Row {
  const row: Row = {};
  for (const name of Object.keys(raw)) {
    const type = decodeTypes?.get(name) ?? shape.types[name] ?? "";
    row[name] = decodeValue(raw[name], type);
  }
  return row;
}

/** Picks the key columns out of a row. */
export function keyOf(shape: TableShape, row: Row | null): Row {
  const key: Row = {};
  if (!row) return key;
  for (const k of shape.keyColumns) if (k in row) key[k] = row[k]!;
  return key;
}

/** True when two keys differ (primary-key update). */
export function keysDiffer(a: Row, b: Row): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return true;
  return ka.some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** Where an event comes from. */
export interface EventMeta {
  stream: string;
  pos: string;
  /** GTID of the transaction, when the server has one */
  txId: string | null;
  tsMs: number;
  snapshot: boolean;
}

/** Assembles the Debezium-compatible envelope (connector `mysql`). */
export function makeEvent(shape: TableShape, op: Op, before: Row | null, after: Row | null, key: Row, m: EventMeta): ChangeEvent {
  return {
    op,
    before,
    after,
    key,
    source: { connector: "mysql", stream: m.stream, db: shape.schema, schema: shape.schema, table: shape.table, pos: m.pos, txId: m.txId, ts_ms: m.tsMs, snapshot: m.snapshot },
    ts_ms: Date.now(),
    types: shape.types,
  };
}
