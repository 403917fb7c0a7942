/**
 * The sink's checkpoint inside the target database: `tributary.sink_offsets` holds, per
 * sink of a cluster (key `<cluster>.<stream>.<sink>`, docs/adr/0010), the last applied
 * JetStream sequence and the writer's epoch. It is written in the same transaction as the
 * data, which is what makes replays idempotent.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { SinkOffset } from "../../core/index.js";

/**
 * The epoch a legacy row (`<stream>.<sink>`, before the cluster was part of the key) gets
 * once a cluster adopted it: no writer has it, so a writer of an older version that still
 * uses the legacy key is FENCED, and nobody adopts the row again.
 */
export const ADOPTED_EPOCH = "9223372036854775807";

/** Serializes concurrent first-time creation by several sinks (CREATE … IF NOT EXISTS can race). */
const CREATE_LOCK = 7_310_575_213_948_134_001n;

/** Creates schema `tributary` and table `sink_offsets` unless the table exists already. */
export async function ensureOffsetsTable(client: pg.ClientBase): Promise<void> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('tributary.sink_offsets')::text AS t");
  if (exists.rows[0]?.t) return;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [CREATE_LOCK.toString()]);
    await client.query("CREATE SCHEMA IF NOT EXISTS tributary");
    await client.query(
      `CREATE TABLE IF NOT EXISTS tributary.sink_offsets (
         sink_id text PRIMARY KEY,
         seq bigint NOT NULL,
         epoch bigint NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/**
 * The upgrade from `<stream>.<sink>` keys: the first cluster whose sink opens while the
 * legacy row exists (and its own does not) takes the legacy row's seq and epoch as its own,
 * once; the legacy row stays, fenced with ADOPTED_EPOCH. Other clusters start at seq 0.
 */
export async function adoptLegacyOffset(client: pg.ClientBase, legacyKey: string, key: string, log: Logger): Promise<void> {
  // nothing to adopt (no upgrade pending): no transaction at all
  const pending = await client.query("SELECT 1 FROM tributary.sink_offsets WHERE sink_id = $1 AND epoch <> $2", [legacyKey, ADOPTED_EPOCH]);
  if (!pending.rowCount) return;
  await client.query("BEGIN");
  try {
    const old = await client.query<{ seq: string; epoch: string }>("SELECT seq::text AS seq, epoch::text AS epoch FROM tributary.sink_offsets WHERE sink_id = $1 FOR UPDATE", [legacyKey]);
    const row = old.rows[0];
    if (row && row.epoch !== ADOPTED_EPOCH) {
      const ins = await client.query("INSERT INTO tributary.sink_offsets (sink_id, seq, epoch) VALUES ($1, $2, $3) ON CONFLICT (sink_id) DO NOTHING", [key, row.seq, row.epoch]);
      if (ins.rowCount) {
        await client.query("UPDATE tributary.sink_offsets SET epoch = $2, updated_at = now() WHERE sink_id = $1", [legacyKey, ADOPTED_EPOCH]);
        log.warn({ legacyKey, key, seq: row.seq, epoch: row.epoch }, "adopted the sink's offset row from before the cluster was part of its key (docs/adr/0010); the legacy row is kept, fenced");
      }
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** The stored checkpoint, `{0, 0}` when the sink has none. */
export async function readOffsets(client: pg.ClientBase, sinkId: string): Promise<SinkOffset> {
  const r = await client.query<{ seq: string; epoch: string }>(
    "SELECT seq::text AS seq, epoch::text AS epoch FROM tributary.sink_offsets WHERE sink_id = $1",
    [sinkId],
  );
  const row = r.rows[0];
  return row ? { seq: Number(row.seq), epoch: Number(row.epoch) } : { seq: 0, epoch: 0 };
}

/**
 * Inside an open transaction: reads the checkpoint and locks its row until commit, so two
 * writers of one sink (an old and a new owner) apply batches one after the other and the
 * second sees what the first stored.
 */
export async function lockOffsets(client: pg.ClientBase, sinkId: string): Promise<SinkOffset> {
  const select = () =>
    client.query<{ seq: string; epoch: string }>(
      "SELECT seq::text AS seq, epoch::text AS epoch FROM tributary.sink_offsets WHERE sink_id = $1 FOR UPDATE",
      [sinkId],
    );
  let r = await select();
  if (r.rowCount === 0) {
    // First batch of this sink: create the row (a concurrent writer may win; then we wait on its lock).
    await client.query(
      "INSERT INTO tributary.sink_offsets (sink_id, seq, epoch) VALUES ($1, 0, 0) ON CONFLICT (sink_id) DO NOTHING",
      [sinkId],
    );
    r = await select();
  }
  const row = r.rows[0];
  return row ? { seq: Number(row.seq), epoch: Number(row.epoch) } : { seq: 0, epoch: 0 };
}

/** Inside the transaction that applied the data: stores the new checkpoint. */
export async function writeOffsets(client: pg.ClientBase, sinkId: string, cp: SinkOffset): Promise<void> {
  await client.query("UPDATE tributary.sink_offsets SET seq = $2, epoch = $3, updated_at = now() WHERE sink_id = $1", [
    sinkId,
    cp.seq,
    cp.epoch,
  ]);
}
