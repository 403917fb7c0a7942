/** Throw-away databases on the machine's real PostgreSQL: unique names, dropped afterwards with their replication slots; table comparison. */
import pg from "pg";
import { uniqueName } from "./names.js";

/** The shared server, without a database (TEST_PG_URL overrides). */
export const PG_BASE = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

/** Runs one statement on the maintenance database of `base`. */
export async function adminQuery(sql: string, params: unknown[] = [], base = PG_BASE): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: `${base}/postgres` });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** A database of the test's own with one open client. */
export interface TestDb {
  name: string;
  url: string;
  client: pg.Client;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** drops the database, its replication slots first */
  drop(): Promise<void>;
}

/** Creates a database with a unique name on `base`. */
export async function createDb(prefix: string, base = PG_BASE): Promise<TestDb> {
  const name = uniqueName(prefix);
  await adminQuery(`CREATE DATABASE ${name}`, [], base);
  const url = `${base}/${name}`;
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  return {
    name,
    url,
    client,
    query: <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => client.query<R>(sql, params),
    async drop() {
      await client.end().catch(() => undefined);
      await adminQuery(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [name], base).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await adminQuery(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [name], base).catch(() => undefined);
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, [], base).catch(() => undefined);
    },
  };
}

/** Every row of a table as canonical JSON text, ordered by the given key columns. */
export async function tableRows(db: TestDb, table: string, orderBy: string): Promise<string[]> {
  const r = await db.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${table} t ORDER BY ${orderBy}`);
  return r.rows.map((x) => x.j);
}

/** Compares a table in two databases; returns a description of the first differences, or null when equal. */
export async function diffTables(a: TestDb, b: TestDb, table: string, orderBy: string, targetTable = table): Promise<string | null> {
  const [x, y] = await Promise.all([tableRows(a, table, orderBy), tableRows(b, targetTable, orderBy).catch((e: unknown) => [`<error: ${(e as Error).message}>`])]);
  if (x.length === y.length && x.every((v, i) => v === y[i])) return null;
  const sx = new Set(x);
  const sy = new Set(y);
  const missing = x.filter((v) => !sy.has(v)).slice(0, 3);
  const extra = y.filter((v) => !sx.has(v)).slice(0, 3);
  return `${table}: source ${x.length} rows, target ${targetTable} ${y.length} rows; source-only: ${missing.join(" | ").slice(0, 1500)}; target-only: ${extra.join(" | ").slice(0, 1500)}`;
}
