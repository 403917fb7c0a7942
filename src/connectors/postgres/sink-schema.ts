/**
 * The target side's catalog for the PostgreSQL sink: what a target table looks like
 * (columns with their exact types, unique keys), and the DDL `autoCreate` runs (create a
 * table from the events' source types, add columns). Also the identifier quoting every
 * statement of the sink uses.
 */
import type pg from "pg";
import type { SinkRecord, TargetTable } from "../../core/index.js";
import { columnTypesFrom as sharedColumnTypesFrom, type SinkTableMeta } from "../shared/index.js";
import { inferSqlType, sqlTypeFor } from "./type-map.js";

/** Quotes an identifier: `"…"` with inner quotes doubled (names may hold spaces, dots, capitals, quotes). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`, the form used in SQL and in error messages. */
export function qualifiedName(t: TargetTable): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

/** One column of a target table. */
export interface ColumnMeta {
  /** Type as SQL spells it (`format_type`, e.g. `numeric(10,2)`), used in casts. */
  sqlType: string;
  /** typname for toPgParam (a domain's base type), e.g. `int8`, `_text`. */
  typname: string;
  /** Generated column: never written. */
  generated: boolean;
  /** `GENERATED ALWAYS AS IDENTITY`: writing it needs OVERRIDING SYSTEM VALUE. */
  identityAlways: boolean;
}

/**
 * A target table as the catalog describes it: columns in attnum order; unique keys are the
 * valid, non-partial, column-only unique indexes (ON CONFLICT can infer only those).
 */
export type TableMeta = SinkTableMeta<ColumnMeta>;

/** Reads a table's description, or undefined when there is no such (plain or partitioned) table. */
export async function describeTable(client: pg.ClientBase, target: TargetTable): Promise<TableMeta | undefined> {
  const cols = await client.query<{ attname: string; sql_type: string; typname: string; attgenerated: string; attidentity: string }>(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS sql_type,
            CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS typname,
            a.attgenerated::text AS attgenerated, a.attidentity::text AS attidentity
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
      ORDER BY a.attnum`,
    [target.schema, target.table],
  );
  if (cols.rowCount === 0) return undefined;
  const keys = await client.query<{ primary: boolean; cols: string[] }>(
    `SELECT i.indisprimary AS primary,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS cols
       FROM pg_index i
      WHERE i.indrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 AND c.relname = $2)
        AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
      ORDER BY i.indisprimary DESC`,
    [target.schema, target.table],
  );
  const columns = new Map<string, ColumnMeta>();
  for (const r of cols.rows) {
    columns.set(r.attname, {
      sqlType: r.sql_type,
      typname: r.typname,
      generated: r.attgenerated !== "",
      identityAlways: r.attidentity === "a",
    });
  }
  return {
    target,
    columns,
    primaryKey: keys.rows.find((k) => k.primary)?.cols,
    uniqueKeys: keys.rows.map((k) => k.cols),
  };
}

/**
 * The SQL type for each named column, from the records' source `types` (sqlTypeFor, by the event's connector) where
 * one names it, else inferred from its first non-null value (inferSqlType).
 */
export function columnTypesFrom(records: readonly SinkRecord[], columns: Iterable<string>): Map<string, string> {
  return sharedColumnTypesFrom(records, columns, (sourceType, event) => sqlTypeFor(sourceType, event.source?.connector ?? "postgres"), inferSqlType);
}

/** CREATE SCHEMA/TABLE IF NOT EXISTS with the given column types and primary key. */
export async function createTable(
  client: pg.ClientBase,
  target: TargetTable,
  columns: ReadonlyMap<string, string>,
  primaryKey: readonly string[],
): Promise<void> {
  const defs = [...columns].map(([name, type]) => `${quoteIdent(name)} ${type}`);
  defs.push(`PRIMARY KEY (${primaryKey.map(quoteIdent).join(", ")})`);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target.schema)}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${qualifiedName(target)} (${defs.join(", ")})`);
}

/** ALTER TABLE … ADD COLUMN IF NOT EXISTS for each given column. */
export async function addColumns(client: pg.ClientBase, target: TargetTable, columns: ReadonlyMap<string, string>): Promise<void> {
  const adds = [...columns].map(([name, type]) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`);
  await client.query(`ALTER TABLE ${qualifiedName(target)} ${adds.join(", ")}`);
}
