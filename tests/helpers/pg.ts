/** Test databases on the machine's real PostgreSQL: unique names, dropped afterwards. */
import pg from "pg";

export const PG_BASE = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`.toLowerCase();
}

export async function adminQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

export interface TestDb {
  name: string;
  url: string;
  client: pg.Client;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

export async function createDb(prefix: string): Promise<TestDb> {
  const name = uniqueName(prefix);
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = `${PG_BASE}/${name}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  client.on("error", () => undefined);
  return {
    name,
    url,
    client,
    query: (sql, params) => client.query(sql, params),
    async drop() {
      await client.end().catch(() => undefined);
      await adminQuery(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [name]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await adminQuery(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [name]).catch(() => undefined);
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
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
  const [x, y] = await Promise.all([tableRows(a, table, orderBy), tableRows(b, targetTable, orderBy).catch((e) => [`<error: ${(e as Error).message}>`])]);
  if (x.length === y.length && x.every((v, i) => v === y[i])) return null;
  const sx = new Set(x);
  const sy = new Set(y);
  const missing = x.filter((v) => !sy.has(v)).slice(0, 3);
  const extra = y.filter((v) => !sx.has(v)).slice(0, 3);
  return `${table}: source ${x.length} rows, target ${targetTable} ${y.length} rows; source-only: ${missing.join(" | ").slice(0, 1500)}; target-only: ${extra.join(" | ").slice(0, 1500)}`;
}
