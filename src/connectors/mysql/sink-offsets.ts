/**
 * The MySQL sink's checkpoint inside the target database: `tributary_sink_offsets` (in
 * the database of the sink's URL) holds, per sink, the last applied JetStream sequence and
 * the writer's epoch. It is written in the same transaction as the data, which is what
 * makes replays idempotent; its row lock serializes an old and a new owner of one sink.
 */
import type { Connection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Logger } from "pino";
import type { SinkOffset } from "../../core/index.js";

/** The epoch of an adopted legacy row (see the PostgreSQL sink's ADOPTED_EPOCH): older writers using it are FENCED. */
const ADOPTED_EPOCH = "9223372036854775807";

/** The offsets table's name (unqualified: it lives in the connection's database). */
const OFFSETS_TABLE = "tributary_sink_offsets";

/**
 * Creates the offsets table if missing and the sink's row in it, so that batches only ever
 * lock an existing row (no insert race inside a batch). The row is keyed `key`
 * (`<cluster>.<stream>.<sink>`); a legacy row keyed `legacyKey` (`<stream>.<sink>`) is
 * adopted by the first cluster that opens the sink, once, and kept fenced (docs/adr/0010).
 * Otherwise the row starts at seq 0, epoch 0.
 */
export async function ensureOffsets(c: Connection, legacyKey: string, key: string, log: Logger): Promise<void> {
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${OFFSETS_TABLE} (
       sink_id VARCHAR(255) NOT NULL PRIMARY KEY,
       seq BIGINT NOT NULL,
       epoch BIGINT NOT NULL,
       updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  );
  // a locking read of an absent row takes a gap lock, and sinks opening together would
  // deadlock on it: only a legacy row that exists (an upgrade) is read for update
  if (await legacyRow(c, legacyKey, false)) {
    await c.beginTransaction();
    try {
      const row = await legacyRow(c, legacyKey, true);
      if (row) {
        const [ins] = await c.query<ResultSetHeader>(`INSERT IGNORE INTO ${OFFSETS_TABLE} (sink_id, seq, epoch) VALUES (?, ?, ?)`, [key, row.seq, row.epoch]);
        if (ins.affectedRows) {
          await c.query(`UPDATE ${OFFSETS_TABLE} SET epoch = ? WHERE sink_id = ?`, [ADOPTED_EPOCH, legacyKey]);
          log.warn({ legacyKey, key, seq: row.seq, epoch: row.epoch }, "adopted the sink's offset row from before the cluster was part of its key (docs/adr/0010); the legacy row is kept, fenced");
        }
      }
      await c.commit();
    } catch (err) {
      await c.rollback().catch(() => undefined);
      throw err;
    }
  }
  await c.query(`INSERT IGNORE INTO ${OFFSETS_TABLE} (sink_id, seq, epoch) VALUES (?, 0, 0)`, [key]);
}

/** The legacy row `<stream>.<sink>` while no cluster has adopted it (undefined otherwise); `lock`: read for update. */
async function legacyRow(c: Connection, legacyKey: string, lock: boolean): Promise<{ seq: string; epoch: string } | undefined> {
  const [rows] = await c.query<RowDataPacket[]>(`SELECT CAST(seq AS CHAR) AS seq, CAST(epoch AS CHAR) AS epoch FROM ${OFFSETS_TABLE} WHERE sink_id = ?${lock ? " FOR UPDATE" : ""}`, [legacyKey]);
  const row = rows[0] as { seq: string; epoch: string } | undefined;
  return row && row.epoch !== ADOPTED_EPOCH ? row : undefined;
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
