/**
 * The consistent initial snapshot: one REPEATABLE READ transaction started WITH CONSISTENT
 * SNAPSHOT whose binlog position is known exactly, so the rows it reads plus the binlog
 * from that position are exactly the database — no gap, no double apply.
 *
 * - MariaDB reports the snapshot's own binlog position (`Binlog_snapshot_file/position`)
 *   without any lock, and BINLOG_GTID_POS() gives the GTID position there.
 * - MySQL needs a brief FLUSH TABLES WITH READ LOCK around starting the transaction and
 *   reading the binary log status (and gtid_executed), then UNLOCK TABLES.
 *
 * Tables are read through a streaming query ordered by the primary key (bounded memory;
 * the same order on a re-run, so positions of re-read rows repeat).
 */
import type { Connection as CoreConnection } from "mysql2";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { TributaryError } from "../../base/index.js";
import type { ServerInfo, TableInfo } from "./catalog.js";
import { qi } from "./catalog.js";
import { snapshotExpr } from "./type-map.js";

/** Where the snapshot sits in the binlog. */
export interface SnapshotPoint {
  file: string;
  pos: number;
  /** GTID position at that point ('' when the server has none yet) */
  gtid: string;
}

/** Starts the snapshot transaction on `c` and returns its binlog position. */
export async function beginSnapshot(c: Connection, server: ServerInfo): Promise<SnapshotPoint> {
  await c.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  if (server.mariadb) {
    await c.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    const [rows] = await c.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
    const st = Object.fromEntries(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
    const file = st.binlog_snapshot_file;
    const pos = Number(st.binlog_snapshot_position);
    if (!file || !Number.isFinite(pos)) throw new TributaryError("SOURCE_INVALID", "MariaDB did not report the snapshot's binlog position (Binlog_snapshot_file); is the binary log enabled?");
    const [g] = await c.query<RowDataPacket[]>("SELECT BINLOG_GTID_POS(?, ?) AS gtid", [file, pos]);
    return { file, pos, gtid: String(g[0]?.gtid ?? "") };
  }
  try {
    await c.query("FLUSH TABLES WITH READ LOCK");
  } catch (err) {
    throw new TributaryError("SOURCE_INVALID", `cannot take the brief global read lock the snapshot needs (${(err as Error).message}): grant the user RELOAD, or use snapshot: never`, { cause: err });
  }
  try {
    await c.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    const [rows] = await c.query<RowDataPacket[]>("SHOW MASTER STATUS").catch(() => c.query<RowDataPacket[]>("SHOW BINARY LOG STATUS"));
    const st = rows[0];
    if (!st) throw new TributaryError("SOURCE_INVALID", "SHOW MASTER STATUS returned nothing: is the binary log enabled?");
    let gtid = "";
    if (server.gtid) {
      const [g] = await c.query<RowDataPacket[]>("SELECT @@GLOBAL.gtid_executed AS gtid");
      gtid = String(g[0]?.gtid ?? "").replace(/\s/g, "");
    }
    return { file: String(st.File), pos: Number(st.Position), gtid };
  } finally {
    await c.query("UNLOCK TABLES");
  }
}

/** Ends the snapshot transaction. */
export async function endSnapshot(c: Connection): Promise<void> {
  await c.query("COMMIT");
}

/**
 * Rows of one table, in batches, inside the snapshot transaction, ordered by the primary
 * key (a keyless table, replicated insert-only, in the server's order). The query streams:
 * the connection is paused while a batch is being published.
 */
export async function* readTable(c: Connection, t: TableInfo, batchRows: number, signal: AbortSignal): AsyncGenerator<Array<Record<string, unknown>>> {
  const cols = t.columns.map((col) => `${snapshotExpr(qi(col.name), col.type)} AS ${qi(col.name)}`).join(", ");
  const order = t.keyColumns.length ? ` ORDER BY ${t.keyColumns.map(qi).join(", ")}` : "";
  const sql = `SELECT ${cols} FROM ${qi(t.schema)}.${qi(t.table)}${order}`;
  // the promise API has no streaming query: use the callback connection it wraps
  const core = (c as unknown as { connection: CoreConnection }).connection;
  const stream = core.query(sql).stream({ highWaterMark: batchRows });
  let batch: Array<Record<string, unknown>> = [];
  try {
    for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
      if (signal.aborted) return;
      batch.push(row);
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } finally {
    stream.destroy();
  }
}
