/**
 * The SINK CONTRACT (ADR 0007). A sink connector applies one batch in ONE target
 * transaction together with the sink's offset, and reads that offset back; the kernel
 * (sink-work.ts) does the rest for every sink: consuming in order from the offset, parsing,
 * dead-lettering unreadable events, per-key coalescing (coalesce.ts), retrying, isolating
 * refused rows record by record, and the epoch rule (`checkOffset`, one implementation).
 */
import type { Logger } from "pino";
import { TributaryError } from "../base/index.js";
import type { Metrics } from "../metrics/index.js";
import { coalesceTable, declaredKeyColumns, groupByTarget, type SinkRecord, type TablePlan, type TargetTable } from "./coalesce.js";

/** A sink's offset in its target: the last applied input sequence and the writer's lease epoch (ADR 0005). */
export interface SinkOffset {
  seq: number;
  epoch: number;
}

/** One target's share of a batch (records in sequence order) and its per-key plan. */
export interface TargetGroup {
  target: TargetTable;
  records: SinkRecord[];
  /** the key columns the events declare (the first non-truncate event with a key), if any */
  declaredKey: string[] | undefined;
  /** The per-key plan for these key columns (computed once per key). @throws Error naming the seq of an event without its key or image */
  plan(keyColumns: readonly string[]): TablePlan;
}

/** A batch for a sink: its records in input order and their grouping per target. */
export interface SinkBatch {
  readonly records: readonly SinkRecord[];
  /** The records above `afterSeq` (default: all), grouped by target in order of first appearance. */
  groups(afterSeq?: number): TargetGroup[];
}

/** A sink target, driven by the sink kernel. Methods are called one at a time. */
export interface SinkConnector {
  /** The target of a source table (e.g. the compiled `table` template): the batch is grouped by it. */
  target(source: { schema: string; table: string }): TargetTable;
  /** The offset stored in the target; `{ seq: 0, epoch: 0 }` when none. */
  readOffset(): Promise<SinkOffset>;
  /**
   * Applies the batch in ONE target transaction together with `offset`. Inside it, reads
   * (and locks) the stored offset and calls `checkOffset(stored, offset)`: a newer epoch
   * refuses the batch (FENCED); records at or below the stored seq are skipped
   * (`batch.groups(stored.seq)`), so a replay has no effect. Nothing is committed when it throws.
   */
  apply(batch: SinkBatch, offset: SinkOffset): Promise<void>;
  /**
   * True when `err` (thrown by `apply`) means the target refused a record for its data
   * (constraint, value): the kernel then applies the batch record by record and
   * dead-letters the refused ones. Anything else fails the batch.
   */
  isRowError(err: unknown): boolean;
  /** Closes the connection(s); called once, also after failures. */
  close(): Promise<void>;
}

/**
 * The key of a sink's offset in its target (docs/adr/0010): `<cluster>.<stream>.<sink>`.
 * Cluster, stream and sink names hold no dot, so the key names exactly one sink of one
 * cluster: two clusters writing into one target database keep their offsets apart.
 */
export function sinkOffsetKey(cluster: string, sinkId: string): string {
  return `${cluster}.${sinkId}`;
}

/** What a sink connector is opened with (the registry's factories receive it). */
export interface SinkDeps {
  /** the sink's identity in its target, `<stream>.<sink name>` */
  sinkId: string;
  /** the cluster name (a target shared by several clusters keeps their offsets apart) */
  cluster: string;
  log: Logger;
  /** the node's metrics (a connector may register its own on `metrics.registry`) */
  metrics: Metrics;
}

/**
 * The epoch rule every connector applies inside its transaction, after reading (locking)
 * the stored offset: throws FENCED (built by `fenced`, so a connector can use its own
 * error class) when the stored epoch is newer than ours; otherwise returns the offset to
 * store, or null when the stored one already says it all.
 */
export function checkOffset(stored: SinkOffset, ours: SinkOffset, fenced: (message: string) => Error = (m) => new TributaryError("FENCED", m)): SinkOffset | null {
  if (ours.epoch < stored.epoch) throw fenced(`epoch ${ours.epoch} is older than the stored epoch ${stored.epoch}: another owner has written`);
  const next = { seq: Math.max(stored.seq, ours.seq), epoch: Math.max(stored.epoch, ours.epoch) };
  return next.seq === stored.seq && next.epoch === stored.epoch ? null : next;
}

/** Builds a SinkBatch over `records` (in sequence order), grouped by `target`. */
export function sinkBatch(records: readonly SinkRecord[], target: (source: { schema: string; table: string }) => TargetTable): SinkBatch {
  const cache = new Map<number, TargetGroup[]>();
  return {
    records,
    groups(afterSeq = 0) {
      let g = cache.get(afterSeq);
      if (!g) cache.set(afterSeq, (g = groupsOf(afterSeq > 0 ? records.filter((r) => r.seq > afterSeq) : records, target)));
      return g;
    },
  };
}

function groupsOf(records: readonly SinkRecord[], target: (source: { schema: string; table: string }) => TargetTable): TargetGroup[] {
  return [...groupByTarget(records, target).values()].map(({ target: t, records: rs }) => {
    const plans = new Map<string, TablePlan>();
    return {
      target: t,
      records: rs,
      declaredKey: declaredKeyColumns(rs),
      plan(keyColumns) {
        const k = keyColumns.join("\u0000");
        let p = plans.get(k);
        if (!p) plans.set(k, (p = coalesceTable(rs, keyColumns)));
        return p;
      },
    };
  });
}
