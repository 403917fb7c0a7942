/**
 * MySQL/MariaDB positions. The reader resumes from a GTID position (MariaDB
 * `@@gtid_binlog_pos` form `0-1-42`, or a MySQL executed GTID set `uuid:1-42`) when it has
 * one, else from the binlog file:pos — both are stored in every checkpoint, taken at the
 * same transaction boundary.
 *
 * An event's position is (binlog file index, transaction offset, phase, index): the
 * offset is where the transaction's first event ends in that file (for snapshot rows, the
 * binlog position the stream's snapshot started at), phase `s` (snapshot) sorts before `t`
 * (transaction), and the index counts rows inside the transaction, or — for a snapshot —
 * the attempt and the row (see snapshotIndex). It is encoded fixed-width
 * ("0000000003:000000004316:t:00000000000002") so that string order is position order,
 * readable in `nats sub` and comparable without decoding. Positions are those of one
 * server's binlog: they order events of that server only.
 */

/** The reader's checkpoint as stored in the positions bucket. */
export interface MysqlCheckpoint {
  /** binlog file to resume from, e.g. `mariadb-bin.000003` */
  file: string;
  /** offset in `file` of the first event not yet fully published (a transaction boundary) */
  pos: number;
  /** executed GTIDs at the same boundary ('' or absent when the server has none) */
  gtid?: string;
  /** the initial snapshot completed (or was not wanted) */
  snapshotDone: boolean;
  /**
   * While the snapshot is unfinished: how many attempts have started. `file`/`pos`/`gtid`
   * then hold the binlog point of the FIRST attempt, which every later attempt streams from.
   */
  snapshotAttempt?: number;
  /** replication server id the reader connects with (for operators) */
  serverId: number;
}

const FILE_DIGITS = 10;
const OFFSET_DIGITS = 12;
const INDEX_DIGITS = 14;
/** Rows one snapshot attempt may number (the attempt takes the index's higher digits). */
const SNAPSHOT_ROWS_PER_ATTEMPT = 100_000_000_000;
/** Snapshot attempts the index can tell apart. */
const MAX_SNAPSHOT_ATTEMPTS = 999;

/**
 * The numeric extension of a binlog file name (`mariadb-bin.000042` -> 42); files of one
 * server share a base name and are numbered in order.
 * @throws TypeError when the name has no numeric extension.
 */
export function binlogFileIndex(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m) throw new TypeError(`binlog file name ${JSON.stringify(file)} has no numeric extension`);
  return Number(m[1]);
}

/** Encodes an event position (see the module comment). */
export function encodeEventPos(file: string, offset: number, phase: "s" | "t", index: number): string {
  return `${String(binlogFileIndex(file)).padStart(FILE_DIGITS, "0")}:${String(offset).padStart(OFFSET_DIGITS, "0")}:${phase}:${String(index).padStart(INDEX_DIGITS, "0")}`;
}

/**
 * The index of row `row` of snapshot attempt `attempt` (1, 2, …): a later attempt's rows
 * sort after every row an earlier, interrupted attempt published, so none is skipped as
 * "already in the stream".
 * @throws RangeError beyond MAX_SNAPSHOT_ATTEMPTS attempts or SNAPSHOT_ROWS_PER_ATTEMPT rows.
 */
export function snapshotIndex(attempt: number, row: number): number {
  if (attempt < 1 || attempt > MAX_SNAPSHOT_ATTEMPTS) throw new RangeError(`snapshot attempt ${attempt} is out of range 1-${MAX_SNAPSHOT_ATTEMPTS}`);
  if (row >= SNAPSHOT_ROWS_PER_ATTEMPT) throw new RangeError(`a snapshot of more than ${SNAPSHOT_ROWS_PER_ATTEMPT} rows is not supported`);
  return attempt * SNAPSHOT_ROWS_PER_ATTEMPT + row;
}

/** Compares two binlog coordinates (file, offset). */
export function compareBinlogPos(a: { file: string; pos: number }, b: { file: string; pos: number }): number {
  const fa = binlogFileIndex(a.file);
  const fb = binlogFileIndex(b.file);
  if (fa !== fb) return fa < fb ? -1 : 1;
  return a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0;
}

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Lowest default server id: far above the small ids real servers are usually given. */
export const SERVER_ID_MIN = 1_073_741_824;
/** Highest default server id (fits a signed 32-bit integer, which some tools assume). */
export const SERVER_ID_MAX = 2_147_483_647;

/**
 * The default replication server id of a stream: a hash of the cluster name and stream id
 * into [2^30, 2^31-1], stable across restarts and nodes (every owner of the stream connects
 * with the same id, so the server drops a stale owner's dump connection when a new one
 * arrives) and distinct between streams and clusters sharing one server.
 */
export function defaultServerId(cluster: string, streamId: string): number {
  return SERVER_ID_MIN + (fnv1a(`${cluster}/${streamId}`) % (SERVER_ID_MAX - SERVER_ID_MIN + 1));
}
