/**
 * PostgreSQL positions. An event's position is (LSN, phase, index): the commit LSN of its
 * transaction (or the snapshot's consistent point), phase `s` (snapshot) before `t`
 * (transaction), and its index inside the transaction or snapshot. It is encoded as a
 * fixed-width string ("00000000016B3748:t:0000000003") so that string order is position
 * order — readable in `nats sub` and comparable without decoding.
 */

/** Parses "16/B374D848" into a bigint. */
export function lsnToBigInt(lsn: string): bigint {
  const [hi, lo] = lsn.split("/");
  if (hi === undefined || lo === undefined) throw new TypeError(`invalid LSN ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** Formats a bigint as "16/B374D848". */
export function bigIntToLsn(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Compares two LSN strings. */
export function compareLsn(a: string, b: string): number {
  const x = lsnToBigInt(a);
  const y = lsnToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Encodes an event position. */
export function encodeEventPos(lsn: string, phase: "s" | "t", index: number): string {
  return eventPos(eventPosPrefix(lsn, phase), index);
}

/** The part of an event position shared by every event of one transaction (or snapshot). */
export function eventPosPrefix(lsn: string, phase: "s" | "t"): string {
  return `${lsnToBigInt(lsn).toString(16).toUpperCase().padStart(16, "0")}:${phase}:`;
}

/** An event position from its transaction's prefix (see eventPosPrefix) and its index. */
export function eventPos(prefix: string, index: number): string {
  return prefix + String(index).padStart(10, "0");
}

/**
 * Position of the index-th row of snapshot attempt `attempt` taken for consistent point
 * `lsn`: after every earlier attempt's rows, before every transaction streamed from `lsn`.
 */
export function encodeSnapshotPos(lsn: string, attempt: number, index: number): string {
  return `${eventPosPrefix(lsn, "s")}${String(attempt).padStart(4, "0")}:${String(index).padStart(10, "0")}`;
}

/** The reader's checkpoint as stored in the positions bucket. */
export interface PgCheckpoint {
  /** resume point: commit LSN of the last fully published transaction, or the consistent point */
  lsn: string;
  /** the initial snapshot completed (or was not wanted) */
  snapshotDone: boolean;
  slot: string;
  /** snapshot attempts taken for this consistent point (a retry keeps the first point) */
  attempt?: number;
}
