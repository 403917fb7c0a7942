/**
 * The change event: the Debezium-compatible JSON body Tributary publishes on
 * `cdc.<stream>.<schema>.<table>` and that transformers and sinks consume.
 * Value representation per source type is documented in docs/types.md.
 */

/** A JSON value as carried in an event (no `undefined`; absent columns are omitted keys). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/**
 * A row image. A column that is absent (key not present) means "not sent, keep the
 * target's value" (Postgres unchanged TOAST); `null` means SQL NULL.
 */
export type Row = Record<string, JsonValue>;

/** Debezium op codes: create, update, delete, read (snapshot), truncate. */
export type Op = "c" | "u" | "d" | "r" | "t";

/** Where the event came from. `pos` is the source-specific position, encoded as a string. */
export interface EventSource {
  connector: string;
  stream: string;
  db: string;
  schema: string;
  table: string;
  /** Encoded source position of this change (totally ordered per stream). */
  pos: string;
  txId: number | string | null;
  /** Commit time at the source (ms since epoch), or the snapshot time. */
  ts_ms: number;
  /** true for rows read by the initial snapshot. */
  snapshot: boolean;
}

/** The envelope. */
export interface ChangeEvent {
  op: Op;
  before: Row | null;
  after: Row | null;
  /** Primary-key (or replica identity) columns and values; `{}` for truncate. */
  key: Row;
  source: EventSource;
  /** Time Tributary produced the event (ms since epoch). */
  ts_ms: number;
  /**
   * Source column types by column name (e.g. `{"id":"int8","tags":"_text"}`), so sinks can
   * create or evolve target tables. Optional: transformer output may drop it.
   */
  types?: Record<string, string>;
  /**
   * What an update changed, when the source tells (MongoDB's update description): fields
   * set (dotted paths, values encoded like the row's), fields removed, arrays truncated.
   */
  update?: UpdateDescription;
}

/** An update's description (MongoDB change streams; docs/types.md "MongoDB"). */
export interface UpdateDescription {
  /** dotted path → new value */
  updated: Row;
  /** dotted paths removed */
  removed: string[];
  /** arrays shortened to `newSize` */
  truncated?: Array<{ field: string; newSize: number }>;
}
