/**
 * The SOURCE CONTRACT (ADR 0007). A source connector only opens its position (or
 * snapshots), yields changes in commit-bounded batches with the position after each
 * boundary, and is told which position is durable. The kernel (source-work.ts) does the
 * rest, once for every source: fencing, JetStream publishing, flow control, checkpoints,
 * graceful drain, the final checkpoint and the probes.
 *
 * Pull, not push: the kernel asks for the next batch only when it has published the
 * previous one, so a slow JetStream holds the source back without any queue growing.
 * Push-style drivers (pg-logical-replication's emitter, zongji) hand their changes to a
 * bounded queue the iterator drains (ChangeQueue, or the driver's own pause/resume).
 */
import type { ChangeEvent } from "../events/index.js";
import type { Logger } from "pino";
import type { Metrics } from "../metrics/index.js";
import type { KernelSettings, StreamIdentity } from "./deps.js";

/**
 * One change for the kernel to publish on the writer's subject for `schema`.`table`
 * (`cdc.<stream>.<schema>.<table>` for a reader). Either `event` (the kernel encodes it) or
 * `json` + `keyJson` (encoded by the source on its hot path) is set.
 */
export interface SourceChange {
  /** schema / database / source schema of a transformer's output: subject token 1 and Tributary-Table */
  schema: string;
  /** table / collection: subject token 2 and Tributary-Table */
  table: string;
  /** the Debezium op (c, u, d, r, t); a transformer's output may carry any text */
  op: string;
  /**
   * This event's position, strictly increasing in source order as strings (fixed-width
   * encodings): the Nats-Msg-Id, the Tributary-Pos header and the tail check use it.
   */
  pos: string;
  /** the event, when the source did not encode it */
  event?: ChangeEvent;
  /** JSON of the event's key (the Tributary-Key header), when the source encoded the event */
  keyJson?: string;
  /** the event's JSON (text or bytes), when the source encoded it */
  json?: string | Uint8Array;
  /** more headers for this message (e.g. Tributary-Source-Seq) */
  headers?: Record<string, string>;
}

/** A batch of changes, in source order. */
export interface SourceBatch<P> {
  changes: readonly SourceChange[];
  /**
   * A resume point: resuming from `position` loses nothing once this batch and everything
   * before it are acknowledged by JetStream. Absent in the middle of a large transaction.
   * A batch without changes and with a position advances an idle source.
   */
  position?: P;
  /**
   * Persist `position` before the next batch is pulled (a snapshot's start and end): the
   * kernel waits for every acknowledgement, then writes it.
   */
  durable?: boolean;
}

/** What the kernel tells a source when it starts reading. */
export interface SourceContext<P> {
  /** the fenced checkpoint; null: none yet (a first run: snapshot if configured) */
  checkpoint: P | null;
  /** Tributary-Pos of the last event the output stream already holds (null: empty); the kernel skips changes at or before it */
  tail: string | null;
  /**
   * Aborted at a graceful stop request, at an abort (ownership lost) and when the kernel
   * failed: the source must end its iteration promptly (a pending `next()` must settle).
   */
  signal: AbortSignal;
  /** events flow (for /readyz and the machine) */
  ready(): void;
  /** true when everything published so far is acknowledged and checkpointed (nothing in flight) */
  settled(): boolean;
}

/** A source of change batches, driven by the kernel. `P` is its position (a JSON value). */
export interface SourceConnector<P> {
  /** Opens at `ctx.checkpoint` (snapshotting when due) and yields batches until `ctx.signal` aborts or it fails. */
  read(ctx: SourceContext<P>): AsyncIterable<SourceBatch<P>>;
  /** `p` is durable in the positions bucket: acknowledge it to the database (e.g. PostgreSQL's flush LSN). */
  commit?(p: P): Promise<void>;
  /** Releases every connection. Called once after the final checkpoint, and after failures and aborts too. */
  close(): Promise<void>;
}

/** What a source connector is built with (the registry's factories receive it). */
export interface SourceDeps {
  stream: StreamIdentity;
  settings: KernelSettings;
  log: Logger;
  metrics: Metrics;
}
