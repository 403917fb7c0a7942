/**
 * The consistent initial snapshot: create the slot with an exported snapshot on a
 * replication connection, import that snapshot into a REPEATABLE READ transaction, and
 * read every table through a cursor in batches (bounded memory), so that the rows read
 * plus the changes streamed from the slot's consistent point are exactly the database.
 */
import pg from "pg";
import { qi } from "./catalog.js";
import { TributaryError } from "../../base/index.js";

/**
 * Creates the slot; with `exportSnapshot` returns the snapshot name, valid while `repl` stays
 * open and idle. A temporary slot (only for its snapshot) disappears with the connection.
 */
export async function createSlot(repl: pg.Client, slot: string, exportSnapshot: boolean, temporary = false): Promise<{ consistentPoint: string; snapshotName: string | null }> {
  try {
    const r = await repl.query(`CREATE_REPLICATION_SLOT ${qi(slot)}${temporary ? " TEMPORARY" : ""} LOGICAL pgoutput ${exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT"}`);
    const row = r.rows[0] as { consistent_point: string; snapshot_name: string | null };
    return { consistentPoint: row.consistent_point, snapshotName: row.snapshot_name };
  } catch (err) {
    const msg = (err as Error).message;
    if (/wal_level/i.test(msg)) throw new TributaryError("SOURCE_INVALID", `cannot create replication slot ${slot}: ${msg} (set wal_level=logical and restart PostgreSQL; scripts/setup-services.sh does it)`);
    if (/replication slots|max_replication_slots/i.test(msg)) throw new TributaryError("SOURCE_INVALID", `cannot create replication slot ${slot}: ${msg} (raise max_replication_slots)`);
    if (/permission|must be superuser|replication role/i.test(msg)) throw new TributaryError("SOURCE_INVALID", `cannot create replication slot ${slot}: ${msg} (the user needs the REPLICATION attribute)`);
    throw new TributaryError("SOURCE_UNAVAILABLE", `cannot create replication slot ${slot}: ${msg}`, { cause: err });
  }
}

/** Keeps every value as the server's text output (what pgoutput sends), not parsed by `pg`. */
const rawTypes = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

/**
 * Rows of one table, in batches of TEXT values (each type's output function — the same
 * text pgoutput sends; a `::text` cast would differ, e.g. bool gives 'true'), inside the
 * imported snapshot.
 */
export async function* readTable(c: pg.Client, schema: string, table: string, columns: string[], batchRows: number, signal: AbortSignal): AsyncGenerator<Array<Record<string, string | null>>> {
  const cur = `tributary_snap_${Math.random().toString(36).slice(2, 10)}`;
  const cols = columns.map(qi).join(", ");
  await c.query(`DECLARE ${cur} NO SCROLL CURSOR FOR SELECT ${cols} FROM ${qi(schema)}.${qi(table)}`);
  try {
    for (;;) {
      if (signal.aborted) return;
      const r = await c.query({ text: `FETCH ${batchRows} FROM ${cur}`, types: rawTypes });
      if (r.rows.length === 0) return;
      yield r.rows as Array<Record<string, string | null>>;
    }
  } finally {
    await c.query(`CLOSE ${cur}`).catch(() => undefined);
  }
}
