/**
 * The target side's catalog for the MySQL sink: what a target table looks like (columns
 * with their types, unique keys) and the DDL `autoCreate` runs (create a table from the
 * events' source types, add columns). DDL commits implicitly in MySQL, so the writer runs
 * it before a batch's transaction, never inside it.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";
import type { ChangeEvent } from "../../events/index.js";
import type { SinkRecord, TargetTable } from "../../core/index.js";
import { columnTypesFrom as sharedColumnTypesFrom, type SinkTableMeta } from "../shared/index.js";
import { qi } from "./catalog.js";
import { inferMysqlType, keyColumnType, mysqlTypeFor, type MysqlColumnType } from "./type-map.js";

/** `` `db`.`table` ``, the form used in SQL and in error messages. */
export function qualifiedName(t: TargetTable): string {
  return `${qi(t.schema)}.${qi(t.table)}`;
}

/** One column of a target table. */
export interface ColumnMeta extends MysqlColumnType {
  /** Generated (virtual or stored) column: never written. */
  generated: boolean;
}

/** A target table as information_schema describes it (columns in ordinal order). */
export type TableMeta = SinkTableMeta<ColumnMeta>;

/** Reads a table's description, or undefined when there is no such base table. */
export async function describeTable(c: Connection, target: TargetTable): Promise<TableMeta | undefined> {
  const [cols] = await c.query<RowDataPacket[]>(
    `SELECT c.COLUMN_NAME AS name, c.DATA_TYPE AS dataType, c.COLUMN_TYPE AS columnType, c.EXTRA AS extra
       FROM information_schema.COLUMNS c JOIN information_schema.TABLES t
         ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
      WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION`,
    [target.schema, target.table],
  );
  if (cols.length === 0) return undefined;
  const [idx] = await c.query<RowDataPacket[]>(
    `SELECT INDEX_NAME AS indexName, COLUMN_NAME AS name FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [target.schema, target.table],
  );
  const json = new Set<string>();
  try {
    const [checks] = await c.query<RowDataPacket[]>(`SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, [target.schema, target.table]);
    for (const r of checks) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(r.clause).trim());
      if (m?.[1]) json.add(m[1].replace(/``/g, "`"));
    }
  } catch {
    // no CHECK_CONSTRAINTS (older MySQL): JSON is a real type there
  }
  const columns = new Map<string, ColumnMeta>();
  for (const r of cols) {
    const name = String(r.name);
    const isJson = json.has(name);
    columns.set(name, {
      dataType: isJson ? "json" : String(r.dataType).toLowerCase(),
      columnType: isJson ? "json" : String(r.columnType).toLowerCase(),
      generated: /GENERATED|VIRTUAL|PERSISTENT|STORED/i.test(String(r.extra ?? "")),
    });
  }
  const keys = new Map<string, string[]>();
  for (const r of idx) {
    const k = String(r.indexName);
    if (!keys.has(k)) keys.set(k, []);
    keys.get(k)!.push(String(r.name));
  }
  return { target, columns, primaryKey: keys.get("PRIMARY"), uniqueKeys: [...keys.values()] };
}

/**
 * The column type for each named column, from the records' source `types` (mysqlTypeFor,
 * by the event's connector) where one names it, else inferred from its first non-null value.
 */
export function columnTypesFrom(records: readonly SinkRecord[], columns: Iterable<string>): Map<string, string> {
  return sharedColumnTypesFrom(records, columns, mysqlTypeOf, inferMysqlType);
}

/** mysqlTypeFor by the connector that produced the event (MySQL and PostgreSQL type names differ). */
function mysqlTypeOf(sourceType: string, event: ChangeEvent): string {
  return mysqlTypeFor(sourceType, event.source?.connector ?? "");
}

/** CREATE DATABASE/TABLE IF NOT EXISTS with the given column types and primary key (InnoDB, utf8mb4). */
export async function createTable(c: Connection, target: TargetTable, columns: ReadonlyMap<string, string>, primaryKey: readonly string[]): Promise<void> {
  const defs = [...columns].map(([name, type]) => `${qi(name)} ${primaryKey.includes(name) ? `${keyColumnType(type)} NOT NULL` : type}`);
  defs.push(`PRIMARY KEY (${primaryKey.map(qi).join(", ")})`);
  await c.query(`CREATE DATABASE IF NOT EXISTS ${qi(target.schema)} DEFAULT CHARACTER SET utf8mb4`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${qualifiedName(target)} (${defs.join(", ")}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
}

/** ALTER TABLE … ADD COLUMN for each given column (one statement; a column another writer added meanwhile is tolerated). */
export async function addColumns(c: Connection, target: TargetTable, columns: ReadonlyMap<string, string>): Promise<void> {
  for (const [name, type] of columns) {
    try {
      await c.query(`ALTER TABLE ${qualifiedName(target)} ADD COLUMN ${qi(name)} ${type}`);
    } catch (err) {
      if ((err as { errno?: number }).errno !== 1060) throw err; // 1060: duplicate column name
    }
  }
}
