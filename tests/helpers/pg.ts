/** Test databases on the machine's real PostgreSQL: unique names, dropped afterwards. */
import type pg from "pg";
import { adminQuery as adminQueryAt, createDb as createBenchDb, uniqueName, type BenchDb } from "../../bench/services.js";

export const PG_BASE = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

export { uniqueName };

/** Runs one statement on the maintenance database. */
export const adminQuery = (sql: string, params: unknown[] = []): Promise<pg.QueryResult> => adminQueryAt(PG_BASE, sql, params);

export interface TestDb extends BenchDb {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** A database with a unique name and one open client; drop() removes it with its replication slots. */
export async function createDb(prefix: string): Promise<TestDb> {
  const db = await createBenchDb(PG_BASE, prefix);
  return Object.assign(db, { query: <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => db.client.query<R>(sql, params) });
}

/** Every row of a table as canonical JSON text, ordered by the given key columns. */
export async function tableRows(db: TestDb, table: string, orderBy: string): Promise<string[]> {
  const r = await db.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${table} t ORDER BY ${orderBy}`);
  return r.rows.map((x) => x.j);
}

/** Compares a table in two databases; returns a description of the first differences, or null when equal. */
export async function diffTables(a: TestDb, b: TestDb, table: string, orderBy: string, targetTable = table): Promise<string | null> {
  const [x, y] = await Promise.all([tableRows(a, table, orderBy), tableRows(b, targetTable, orderBy).catch((e) => [`<error: ${(e as Error).message}>`])]);
  if (x.length === y.length && x.every((v, i) => v === y[i])) return null;
  const sx = new Set(x);
  const sy = new Set(y);
  const missing = x.filter((v) => !sy.has(v)).slice(0, 3);
  const extra = y.filter((v) => !sx.has(v)).slice(0, 3);
  return `${table}: source ${x.length} rows, target ${targetTable} ${y.length} rows; source-only: ${missing.join(" | ").slice(0, 1500)}; target-only: ${extra.join(" | ").slice(0, 1500)}`;
}
