/**
 * Positions of the MongoDB source (docs/adr/0009). The checkpoint holds where the change
 * stream resumes (its resume token, or the operation time it was opened at when the server
 * gave no token) and, while the initial snapshot runs, how far it got (collection and last
 * `_id`), so a crash resumes the snapshot instead of starting it over.
 *
 * Event positions (`pos`: the Nats-Msg-Id and the kernel's tail check) are fixed-width
 * strings whose order is publication order:
 * - `<epoch>:s:<attempt>:<seq>` for snapshot reads; a resumed snapshot is a new attempt, so
 *   its reads sort after every earlier one (they are published again, applied idempotently);
 * - `<epoch>:t:<resume token _data>` for changes: MongoDB's tokens are hex KeyStrings in
 *   oplog order, so a restart from a checkpoint recognises what the stream already holds;
 * - `<epoch>:u:<gen>:<seq>` for changes under `compat: cosmos`, whose tokens have no
 *   order: each run is a new generation and republishes what came after the checkpoint.
 * The epoch changes only when a stream starts without a checkpoint (the first run, or after
 * a re-snapshot cleared it): it is one past the stream's tail, so nothing new is mistaken
 * for something already published.
 */
import type { JsonValue } from "../../events/index.js";

/** Where the change stream resumes: a resume token (canonical Extended JSON) or an operation time. */
export type ResumePoint = { token: JsonValue } | { at: { t: number; i: number } };

/** An initial snapshot in progress. */
export interface SnapshotProgress {
  /** attempts so far (a resumed snapshot is the next attempt) */
  attempt: number;
  /** the namespaces read, in order, fixed when the snapshot started ("db.*" resolved) */
  collections: string[];
  /** index in `collections` of the collection being read */
  index: number;
  /** `_id` (canonical Extended JSON) of the last document published of that collection; null: none yet */
  lastId: JsonValue | null;
}

/** The source's checkpoint as stored in the positions bucket. */
export interface MongoPosition {
  /** format version */
  v: 1;
  /** see the module comment */
  epoch: number;
  resume: ResumePoint;
  /** present while the initial snapshot runs */
  snapshot?: SnapshotProgress;
  /** compat cosmos: the run generation of the last events published before this checkpoint */
  gen?: number;
}

const EPOCH_WIDTH = 8;
const SEQ_WIDTH = 12;
const pad = (n: number, w: number) => String(n).padStart(w, "0");

/** Position of the `seq`-th document read by snapshot attempt `attempt`. */
export function snapshotPos(epoch: number, attempt: number, seq: number): string {
  return `${pad(epoch, EPOCH_WIDTH)}:s:${pad(attempt, 4)}:${pad(seq, SEQ_WIDTH)}`;
}

/** Position of a change with resume token `_data` (a hex string). */
export function tokenPos(epoch: number, data: string): string {
  return `${pad(epoch, EPOCH_WIDTH)}:t:${data}`;
}

/** Position of the `seq`-th change of run generation `gen` (compat cosmos). */
export function genPos(epoch: number, gen: number, seq: number): string {
  return `${pad(epoch, EPOCH_WIDTH)}:u:${pad(gen, 10)}:${pad(seq, SEQ_WIDTH)}`;
}

/** The epoch of an event position of this source; 0 for none or another source's. */
export function epochOf(pos: string | null): number {
  const m = pos === null ? null : /^(\d{8}):[stu]:/.exec(pos);
  return m ? Number(m[1]) : 0;
}

/** The generation of a `genPos` position; 0 for any other. */
export function genOf(pos: string | null): number {
  const m = pos === null ? null : /^\d{8}:u:(\d{10}):\d{12}$/.exec(pos);
  return m ? Number(m[1]) : 0;
}

/** Reads a stored checkpoint; null for none. Throws on a shape this version does not know. */
export function decodePosition(raw: unknown): MongoPosition | null {
  if (raw === null || raw === undefined) return null;
  const p = raw as Partial<MongoPosition>;
  const r = p.resume as Record<string, unknown> | undefined;
  const okResume = typeof r === "object" && r !== null && ("token" in r || (typeof r.at === "object" && r.at !== null));
  if (p.v !== 1 || typeof p.epoch !== "number" || !okResume) throw new Error(`not a MongoDB source position: ${JSON.stringify(raw).slice(0, 200)}`);
  const s = p.snapshot;
  if (s !== undefined && (typeof s.attempt !== "number" || !Array.isArray(s.collections) || typeof s.index !== "number")) {
    throw new Error(`the snapshot progress of the position is malformed: ${JSON.stringify(s).slice(0, 200)}`);
  }
  return { ...p, v: 1 } as MongoPosition;
}
