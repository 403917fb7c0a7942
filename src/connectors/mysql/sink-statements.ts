/**
 * The DML the MySQL sink runs inside its batch transaction: empty a table (DELETE, since
 * TRUNCATE would commit the transaction), DELETE by key, and upsert (INSERT … ON DUPLICATE
 * KEY UPDATE) of rows sharing one set of present columns, in multi-row statements. Every
 * value goes through toMysqlParam for its target column; mysql2 escapes it client-side.
 */
import type { Connection } from "mysql2/promise";
import type { JsonValue, Row } from "../../events/index.js";
import { qi } from "./catalog.js";
import { qualifiedName, type ColumnMeta, type TableMeta } from "./sink-schema.js";
import { toMysqlParam } from "./type-map.js";

/** Rows per statement: keeps each statement well below max_allowed_packet for ordinary rows. */
const MAX_ROWS_PER_STATEMENT = 500;
/** Values per statement. */
const MAX_VALUES = 20_000;

function column(meta: TableMeta, name: string): ColumnMeta {
  const col = meta.columns.get(name);
  if (!col) throw new Error(`column ${qi(name)} is missing from ${qualifiedName(meta.target)}`);
  return col;
}

function param(col: ColumnMeta, value: JsonValue | undefined): unknown {
  return value === undefined || value === null ? null : toMysqlParam(value, col);
}

function* chunks<T>(items: readonly T[], width: number): Generator<T[]> {
  const size = Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_VALUES / Math.max(1, width))));
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Empties the table (the source truncated it), inside the transaction. */
export async function emptyTable(c: Connection, meta: TableMeta): Promise<void> {
  await c.query(`DELETE FROM ${qualifiedName(meta.target)}`);
}

/** Deletes the rows with the given keys (each row holds exactly the key columns). */
export async function deleteKeys(c: Connection, meta: TableMeta, keyColumns: readonly string[], keys: readonly Row[]): Promise<void> {
  const cols = keyColumns.map((k) => column(meta, k));
  for (const chunk of chunks(keys, cols.length)) {
    const values: unknown[] = [];
    let where: string;
    if (keyColumns.length === 1) {
      const k = keyColumns[0]!;
      for (const key of chunk) values.push(param(cols[0]!, key[k]));
      where = `${qi(k)} IN (${chunk.map(() => "?").join(", ")})`;
    } else {
      where = chunk
        .map((key) => `(${keyColumns.map((k, i) => (values.push(param(cols[i]!, key[k])), `${qi(k)} = ?`)).join(" AND ")})`)
        .join(" OR ");
    }
    await c.query(`DELETE FROM ${qualifiedName(meta.target)} WHERE ${where}`, values);
  }
}

/**
 * Upserts rows that all carry exactly `columns` (key columns included): inserted when the
 * key is new, else the present non-key columns are overwritten and absent ones keep their
 * value.
 */
export async function upsertRows(c: Connection, meta: TableMeta, keyColumns: readonly string[], columns: readonly string[], rows: readonly Row[]): Promise<void> {
  const cols = columns.map((name) => column(meta, name));
  const nonKey = columns.filter((name) => !keyColumns.includes(name));
  const updates = (nonKey.length ? nonKey : [keyColumns[0]!]).map((name) => `${qi(name)} = VALUES(${qi(name)})`).join(", ");
  const head = `INSERT INTO ${qualifiedName(meta.target)} (${columns.map(qi).join(", ")}) VALUES `;
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  for (const chunk of chunks(rows, columns.length)) {
    const values: unknown[] = [];
    for (const row of chunk) columns.forEach((name, i) => values.push(param(cols[i]!, row[name])));
    await c.query(`${head}${chunk.map(() => tuple).join(", ")} ON DUPLICATE KEY UPDATE ${updates}`, values);
  }
}
