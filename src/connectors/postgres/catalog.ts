/**
 * Catalog look-ups and DDL the PostgreSQL reader needs: table checks (exists, has a
 * primary key or REPLICA IDENTITY FULL), column types, the publication and the slot.
 * Every refusal names the table and the fix.
 */
import type pg from "pg";
import { TributaryError } from "../../base/index.js";
import type { ColumnType } from "./type-map.js";

export const qi = (s: string): string => `"${s.replace(/"/g, '""')}"`;
export const ql = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export interface TableInfo {
  schema: string;
  table: string;
  columns: Array<{ name: string; type: ColumnType }>;
  keyColumns: string[];
  replicaIdentity: "d" | "f" | "i" | "n";
  /** no primary key: `keyColumns` are all columns (REPLICA IDENTITY FULL), which no target can key rows by */
  keyless: boolean;
}

/** Loads a table's columns and key, refusing tables that cannot be captured faithfully. */
export async function describeTable(c: pg.Client, qualified: string): Promise<TableInfo> {
  const [schema, table] = qualified.split(".") as [string, string];
  const rel = await c.query<{ oid: number; relreplident: TableInfo["replicaIdentity"] }>(
    `SELECT c.oid, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p')`,
    [schema, table],
  );
  const r = rel.rows[0];
  if (!r) throw new TributaryError("SOURCE_INVALID", `table ${qualified} does not exist (or is not a table) in the source database`);
  const cols = await c.query<{ attname: string; oid: number; typname: string; typcategory: string; elemoid: number; elemname: string | null; basetype: string | null }>(
    `SELECT a.attname, t.oid::int AS oid, t.typname, t.typcategory, t.typelem::int AS elemoid, e.typname AS elemname, b.typname AS basetype
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [r.oid],
  );
  const pk = await c.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [r.oid],
  );
  const keyColumns = pk.rows.map((x) => x.attname);
  if (keyColumns.length === 0 && r.relreplident !== "f") {
    throw new TributaryError(
      "SOURCE_INVALID",
      `table ${qualified} has no primary key: add one (or, to replicate it insert-only, run ALTER TABLE ${qi(schema)}.${qi(table)} REPLICA IDENTITY FULL so PostgreSQL accepts its updates and deletes, and set source.keylessTables: insert-only)`,
    );
  }
  return {
    schema,
    table,
    replicaIdentity: r.relreplident,
    keyless: keyColumns.length === 0,
    keyColumns: keyColumns.length ? keyColumns : cols.rows.map((x) => x.attname),
    columns: cols.rows.map((x) => ({
      name: x.attname,
      type: { oid: x.oid, name: x.basetype ?? x.typname, category: x.typcategory, elemOid: x.elemoid || undefined, elemName: x.elemname ?? undefined },
    })),
  };
}

/** Looks up type names for oids (relation messages carry only oids). */
export async function typesByOid(c: pg.Client, oids: number[]): Promise<Map<number, ColumnType>> {
  const res = await c.query<{ oid: number; typname: string; typcategory: string; elemoid: number; elemname: string | null; basetype: string | null }>(
    `SELECT t.oid::int AS oid, t.typname, t.typcategory, t.typelem::int AS elemoid, e.typname AS elemname, b.typname AS basetype
       FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
       LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
      WHERE t.oid = ANY($1::oid[])`,
    [oids],
  );
  return new Map(res.rows.map((x) => [x.oid, { oid: x.oid, name: x.basetype ?? x.typname, category: x.typcategory, elemOid: x.elemoid || undefined, elemName: x.elemname ?? undefined }]));
}

/** Creates the publication for the tables, or sets its table list if it exists. */
export async function ensurePublication(c: pg.Client, name: string, tables: string[]): Promise<void> {
  const list = tables.map((t) => t.split(".").map(qi).join(".")).join(", ");
  const exists = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [name]);
  if (exists.rowCount) await c.query(`ALTER PUBLICATION ${qi(name)} SET TABLE ${list}`);
  else await c.query(`CREATE PUBLICATION ${qi(name)} FOR TABLE ${list}`);
}

export interface SlotInfo {
  active: boolean;
  activePid: number | null;
  confirmedFlush: string | null;
  /** the database the slot decodes (a logical slot belongs to one database of the server) */
  database: string;
  /** it is this connection's database */
  sameDatabase: boolean;
}

/** Reads the slot's state, or null when it does not exist. */
export async function slotInfo(c: pg.Client, slot: string): Promise<SlotInfo | null> {
  const r = await c.query<{ active: boolean; active_pid: number | null; confirmed_flush_lsn: string | null; plugin: string; database: string | null; same: boolean }>(
    `SELECT active, active_pid, confirmed_flush_lsn::text, plugin, database::text, database IS NOT DISTINCT FROM current_database() AS same FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const s = r.rows[0];
  if (!s) return null;
  if (s.plugin !== "pgoutput") throw new TributaryError("SOURCE_INVALID", `replication slot ${slot} exists with plugin ${s.plugin}; Tributary needs pgoutput (drop the slot or configure another name)`);
  return { active: s.active, activePid: s.active_pid, confirmedFlush: s.confirmed_flush_lsn, database: s.database ?? "", sameDatabase: s.same };
}

/** Drops a slot, terminating a stale walsender that still holds it. */
export async function dropSlot(c: pg.Client, slot: string): Promise<void> {
  await c.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [slot]);
  for (let i = 0; i < 50; i++) {
    const r = await c.query(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    if (!r.rowCount) return;
    if (!r.rows[0].active) {
      await c.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
      return;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new TributaryError("SOURCE_UNAVAILABLE", `replication slot ${slot} stays active; cannot drop it`);
}

/** Session settings under which pgoutput TEXT values have the shape type-map expects. */
export const SESSION_OPTIONS = "-c DateStyle=ISO,MDY -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres -c bytea_output=hex";
