/**
 * The MySQL sink's checkpoint inside the target database: `tributary_sink_offsets` (in
 * the database of the sink's URL) holds, per sink, the last applied JetStream sequence and
 * the writer's epoch. It is written in the same transaction as the data, which is what
 * makes replays idempotent; its row lock serializes an old and a new owner of one sink.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";
import type { SinkOffset } from "../../core/index.js";

/** The offsets table's name (unqualified: it lives in the connection's database). */
const OFFSETS_TABLE = "tributary_sink_offsets";

/**
 * Creates the offsets table if missing and the sink's row in it (seq 0, epoch 0), so that
 * batches only ever lock an existing row (no insert race inside a batch).
 */
export async function ensureOffsets(c: Connection, sinkId: string): Promise<void> {
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${OFFSETS_TABLE} (
       sink_id VARCHAR(255) NOT NULL PRIMARY KEY,
       seq BIGINT NOT NULL,
       epoch BIGINT NOT NULL,
       updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  );
  await c.query(`INSERT IGNORE INTO ${OFFSETS_TABLE} (sink_id, seq, epoch) VALUES (?, 0, 0)`, [sinkId]);
}

function toCheckpoint(rows: RowDataPacket[]): SinkOffset {
  const r = rows[0];
  return r ? { seq: Number(r.seq), epoch: Number(r.epoch) } : { seq: 0, epoch: 0 };
}

/** The stored checkpoint, `{0, 0}` when the sink has none. */
export async function readOffsets(c: Connection, sinkId: string): Promise<SinkOffset> {
  const [rows] = await c.query<RowDataPacket[]>(`SELECT seq, epoch FROM ${OFFSETS_TABLE} WHERE sink_id = ?`, [sinkId]);
  return toCheckpoint(rows);
}

/** Inside an open transaction: reads the checkpoint and locks its row until commit. */
export async function lockOffsets(c: Connection, sinkId: string): Promise<SinkOffset> {
  const [rows] = await c.query<RowDataPacket[]>(`SELECT seq, epoch FROM ${OFFSETS_TABLE} WHERE sink_id = ? FOR UPDATE`, [sinkId]);
  if (!rows[0]) {
    // the row was deleted by hand since open(): recreate it inside this transaction
    await c.query(`INSERT INTO ${OFFSETS_TABLE} (sink_id, seq, epoch) VALUES (?, 0, 0)`, [sinkId]);
  }
  return toCheckpoint(rows);
}

/** Inside the batch's transaction: stores the new checkpoint. */
export async function writeOffsets(c: Connection, sinkId: string, cp: SinkOffset): Promise<void> {
  await c.query(`UPDATE ${OFFSETS_TABLE} SET seq = ?, epoch = ? WHERE sink_id = ?`, [cp.seq, cp.epoch, sinkId]);
}
