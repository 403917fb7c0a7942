/**
 * The fake's global change log (its "oplog"): every committed write as an entry with a sequence
 * number, a cluster time and the images a change stream may need. Resume tokens encode the
 * sequence number as fixed-width hex so they sort in log order; an invalidate token sorts right
 * after the event that caused it. A floor marks how much history was truncated.
 */
import { Timestamp, type Long } from "mongodb";
import type { Doc } from "./bson-values.js";
import type { Ns } from "./store.js";

/** Operation types stored in the log (invalidate is derived per stream, never stored). */
export type ChangeOp = "insert" | "update" | "replace" | "delete" | "drop" | "rename" | "dropDatabase";

/** What a write produces before it is committed to the log. */
export interface ChangeDraft {
  op: ChangeOp;
  /** `coll` is absent for dropDatabase. */
  ns: { db: string; coll?: string };
  /** Target of a rename. */
  to?: Ns;
  documentKey?: Doc;
  /** Document after the write (insert/replace/update). */
  post?: Doc;
  /** Document before the write (update/replace/delete). */
  pre?: Doc;
  /** Whether the collection had changeStreamPreAndPostImages enabled at write time. */
  images?: boolean;
  updateDescription?: Doc;
  /** Set for writes committed by a multi-document transaction. */
  txn?: { lsid: Doc; txnNumber: Long };
}

/** A committed change. */
export interface LogEntry extends ChangeDraft {
  seq: number;
  ts: Timestamp;
  wall: Date;
}

/** A decoded resume token. */
export interface TokenPosition {
  seq: number;
  invalidate: boolean;
}

/** Monotonic cluster clock: seconds from the wall clock, increment within a second. */
export class ClusterClock {
  private last = new Timestamp({ t: Math.floor(Date.now() / 1000), i: 0 });

  /** The latest issued time. */
  now(): Timestamp {
    return this.last;
  }

  /** Issues a new time, strictly greater than every earlier one. */
  tick(): Timestamp {
    const secs = Math.floor(Date.now() / 1000);
    const t = this.last.t;
    this.last = secs > t ? new Timestamp({ t: secs, i: 1 }) : new Timestamp({ t, i: this.last.i + 1 });
    return this.last;
  }
}

/** Hex `_data` of the token for a log position. */
export function tokenData(seq: number, invalidate = false): string {
  return `82${seq.toString(16).padStart(16, "0")}${invalidate ? "01" : "00"}04`;
}

/** Decodes a token `_data` written by {@link tokenData}; undefined for foreign tokens. */
export function decodeToken(data: unknown): TokenPosition | undefined {
  if (typeof data !== "string") return undefined;
  const m = /^82([0-9a-f]{16})(0[01])04$/i.exec(data);
  if (!m) return undefined;
  return { seq: parseInt(m[1] as string, 16), invalidate: m[2] === "01" };
}

/** The global change log. */
export class ChangeLog {
  readonly clock = new ClusterClock();
  private entries: LogEntry[] = [];
  /** Sequence number of the first entry still in `entries` minus one. */
  private base = 0;
  private last = 0;
  private floorSeq = 0;
  private floorTs: Timestamp | undefined;
  private readonly waiters = new Set<() => void>();

  /** Sequence number of the newest entry (0 when empty). */
  get lastSeq(): number {
    return this.last;
  }

  /** Resume points with a smaller sequence number are lost (ChangeStreamHistoryLost). */
  get floor(): number {
    return this.floorSeq;
  }

  /** Number of entries still held. */
  get size(): number {
    return this.entries.length;
  }

  /** Commits drafts as consecutive entries sharing one cluster time (one transaction or one write). */
  append(drafts: readonly ChangeDraft[], ts: Timestamp = this.clock.tick()): LogEntry[] {
    const wall = new Date();
    const added = drafts.map((d) => ({ ...d, seq: ++this.last, ts, wall }));
    this.entries.push(...added);
    if (added.length > 0) this.wake();
    return added;
  }

  /** The entry with this sequence number, if still held. */
  get(seq: number): LogEntry | undefined {
    return this.entries[seq - this.base - 1];
  }

  /** Position just before the first entry at or after `ts`; undefined when history was lost. */
  positionAt(ts: Timestamp): number | undefined {
    if (this.floorTs && this.floorSeq > 0 && ts.lessThanOrEqual(this.floorTs)) return undefined;
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid] as LogEntry).ts.lessThan(ts)) lo = mid + 1;
      else hi = mid;
    }
    return this.base + lo;
  }

  /** Drops all history: every resume point before the current end is lost from now on. */
  truncate(): void {
    this.floorSeq = this.last;
    this.floorTs = this.entries.at(-1)?.ts ?? this.floorTs ?? this.clock.now();
    this.base = this.last;
    this.entries = [];
  }

  /** Resolves on the next append, on {@link wake}, or after `ms`. */
  waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }

  /** Wakes every waiter (new entries, a killed cursor, or shutdown). */
  wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
