/**
 * The DML the PostgreSQL sink runs inside its batch transaction: TRUNCATE, DELETE by key,
 * and upsert (INSERT … ON CONFLICT DO UPDATE) of rows sharing one set of present columns,
 * either as multi-row VALUES statements or, for large groups, COPY into a temporary staging
 * table followed by one INSERT … SELECT. Every value goes through toPgParam for its target
 * column type and is cast to that type in SQL, so text forms (numeric, int8 beyond 2^53,
 * timestamps) are parsed by the server exactly.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { JsonValue, Row } from "../../events/index.js";
import { qualifiedName, quoteIdent, type ColumnMeta, type TableMeta } from "./sink-schema.js";
import { toPgParam } from "./type-map.js";

/** Bind parameters per statement: the protocol's limit is 65535. */
const MAX_PARAMS = 65_000;
/** Rows per VALUES statement, so one statement stays cheap to parse and plan. */
const MAX_ROWS_PER_STATEMENT = 1000;

function column(meta: TableMeta, name: string): ColumnMeta {
  const col = meta.columns.get(name);
  if (!col) throw new Error(`column ${quoteIdent(name)} is missing from ${qualifiedName(meta.target)}`);
  return col;
}

function param(col: ColumnMeta, value: JsonValue | undefined): unknown {
  return value === undefined || value === null ? null : toPgParam(value, col.typname);
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Rows per statement for `width` parameters per row. */
function rowsPerStatement(width: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / Math.max(1, width))));
}

/** Empties the table (TRUNCATE: the source truncated it). */
export async function truncateTable(client: pg.ClientBase, meta: TableMeta): Promise<void> {
  await client.query(`TRUNCATE TABLE ${qualifiedName(meta.target)}`);
}

/** Deletes the rows with the given keys (each row holds exactly the key columns). */
export async function deleteKeys(client: pg.ClientBase, meta: TableMeta, keyColumns: readonly string[], keys: readonly Row[]): Promise<void> {
  const cols = keyColumns.map((c) => column(meta, c));
  const aliases = keyColumns.map((_, i) => `k${i}`);
  const match = keyColumns.map((c, i) => `t.${quoteIdent(c)} = d.${aliases[i]}`).join(" AND ");
  for (const chunk of chunks(keys, rowsPerStatement(cols.length))) {
    const values: unknown[] = [];
    const tuples = chunk.map((key) => {
      const ph = keyColumns.map((c, i) => {
        const col = cols[i] as ColumnMeta;
        values.push(param(col, key[c]));
        return `$${values.length}::${col.sqlType}`;
      });
      return `(${ph.join(", ")})`;
    });
    await client.query(
      `DELETE FROM ${qualifiedName(meta.target)} AS t USING (VALUES ${tuples.join(", ")}) AS d(${aliases.join(", ")}) WHERE ${match}`,
      values,
    );
  }
}

/** How upsertRows writes: COPY through a staging table from `copyThreshold` rows on. */
export interface UpsertOptions {
  copyThreshold: number;
}

/**
 * Upserts rows that all carry exactly `columns` (key columns included): inserted when the key
 * is new, else the present non-key columns are overwritten and absent ones keep their value.
 * @returns which way the rows went.
 */
export async function upsertRows(
  client: pg.ClientBase,
  meta: TableMeta,
  keyColumns: readonly string[],
  columns: readonly string[],
  rows: readonly Row[],
  opts: UpsertOptions,
): Promise<"copy" | "values"> {
  const cols = columns.map((c) => column(meta, c));
  const target = qualifiedName(meta.target);
  const colList = columns.map(quoteIdent).join(", ");
  const overriding = cols.some((c) => c.identityAlways) ? " OVERRIDING SYSTEM VALUE" : "";
  const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`);
  const conflict = `ON CONFLICT (${keyColumns.map(quoteIdent).join(", ")}) ${updates.length ? `DO UPDATE SET ${updates.join(", ")}` : "DO NOTHING"}`;

  if (rows.length >= opts.copyThreshold) {
    // Dropped again below (and by ON COMMIT DROP on rollback), so one name serves every group.
    const stage = quoteIdent("tributary_stage");
    const defs = columns.map((c, i) => `${quoteIdent(c)} ${(cols[i] as ColumnMeta).sqlType}`).join(", ");
    await client.query(`CREATE TEMP TABLE ${stage} (${defs}) ON COMMIT DROP`);
    await pipeline(Readable.from(copyLines(cols, columns, rows)), client.query(copyFrom(`COPY pg_temp.${stage} (${colList}) FROM STDIN`)));
    await client.query(`INSERT INTO ${target} (${colList})${overriding} SELECT ${colList} FROM pg_temp.${stage} ${conflict}`);
    await client.query(`DROP TABLE pg_temp.${stage}`);
    return "copy";
  }

  for (const chunk of chunks(rows, rowsPerStatement(cols.length))) {
    const values: unknown[] = [];
    const tuples = chunk.map((row) => {
      const ph = columns.map((c, i) => {
        const col = cols[i] as ColumnMeta;
        values.push(param(col, row[c]));
        return `$${values.length}::${col.sqlType}`;
      });
      return `(${ph.join(", ")})`;
    });
    await client.query(`INSERT INTO ${target} (${colList})${overriding} VALUES ${tuples.join(", ")} ${conflict}`, values);
  }
  return "values";
}

/** COPY text-format lines for the rows, in chunks of about 64 KiB. */
function* copyLines(cols: readonly ColumnMeta[], columns: readonly string[], rows: readonly Row[]): Generator<string> {
  let buf = "";
  const n = columns.length;
  for (const row of rows) {
    for (let i = 0; i < n; i++) buf += (i ? "\t" : "") + copyField(param(cols[i] as ColumnMeta, row[columns[i]!]));
    buf += "\n";
    if (buf.length >= 65_536) {
      yield buf;
      buf = "";
    }
  }
  if (buf) yield buf;
}

const COPY_SPECIAL = /[\\\n\r\t]/;

/** One field in COPY text format: `\N` for NULL, bytea as `\x<hex>`, backslash and controls escaped. */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  let text: string;
  if (Buffer.isBuffer(value)) text = "\\x" + value.toString("hex");
  else if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") text = String(value);
  else text = JSON.stringify(value);
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/[\\\n\r\t]/g, (ch) => (ch === "\\" ? "\\\\" : ch === "\n" ? "\\n" : ch === "\r" ? "\\r" : "\\t"));
}
