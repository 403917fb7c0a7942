/**
 * Multi-document transactions and retryable-write bookkeeping of the fake MongoDB server.
 * A transaction stages its writes in a private overlay (its own reads see them, nobody else
 * does) and applies them at commitTransaction as one group of change-log entries sharing one
 * cluster time and carrying lsid/txnNumber, like the events of a real transaction. Concurrency
 * control is optimistic: two open transactions touching one document conflict at once
 * (WriteConflict, TransientTransactionError), and a commit fails the same way when a document it
 * wrote was changed outside the transaction in the meantime.
 */
import { createHash } from "node:crypto";
import { Binary, type Long } from "mongodb";
import { keyOf, toNum, type Doc } from "./bson-values.js";
import type { ChangeLog } from "./change-log.js";
import { fail } from "./errors.js";
import { nsString, type DocRecord, type Ns, type Store } from "./store.js";
import { draftOf, type DocChange, type DocTarget } from "./targets.js";

const TRANSIENT = ["TransientTransactionError"];
/** `lsid.uid` of change events: SHA-256 of the (empty) user name, as mongod without auth. */
const ANON_UID = new Binary(createHash("sha256").update("").digest());

function writeConflict(): Error {
  return fail(
    "WriteConflict",
    "WriteConflict error: this operation conflicted with another operation. Please retry your operation or multi-document transaction.",
    TRANSIENT,
  );
}

/** One open transaction; also the DocTarget its statements run against. */
export class Txn implements DocTarget {
  private readonly overlay = new Map<string, Map<string, DocRecord | null>>();
  readonly changes: DocChange[] = [];
  /** Version of each written document when the transaction first touched it. */
  readonly touched = new Map<string, { ns: Ns; key: string; version: number }>();
  /** Connections that carried statements; closing any of them discards the transaction. */
  readonly connections = new Set<number>();

  constructor(
    readonly lsid: Doc,
    readonly txnNumber: Long,
    private readonly store: Store,
    private readonly locks: Map<string, Txn>,
  ) {}

  get(ns: Ns, key: string): DocRecord | undefined {
    const staged = this.overlay.get(nsString(ns))?.get(key);
    if (staged !== undefined) return staged ?? undefined;
    return this.store.getDoc(ns, key);
  }

  *scan(ns: Ns): Iterable<DocRecord> {
    const staged = this.overlay.get(nsString(ns));
    const committed = this.store.get(ns)?.docs;
    for (const [key, rec] of committed ?? []) {
      if (!staged?.has(key)) yield rec;
      else if (staged.get(key)) yield staged.get(key) as DocRecord;
    }
    for (const [key, rec] of staged ?? []) if (rec && !committed?.has(key)) yield rec;
  }

  write(change: DocChange): void {
    const lockKey = `${nsString(change.ns)}\u0000${change.key}`;
    const owner = this.locks.get(lockKey);
    if (owner && owner !== this) throw writeConflict();
    this.locks.set(lockKey, this);
    if (!this.touched.has(lockKey)) {
      this.touched.set(lockKey, { ns: change.ns, key: change.key, version: this.store.versionOf(change.ns, change.key) });
    }
    let staged = this.overlay.get(nsString(change.ns));
    if (!staged) {
      staged = new Map();
      this.overlay.set(nsString(change.ns), staged);
    }
    staged.set(change.key, change.after ? { doc: change.after } : null);
    this.changes.push(change);
  }

  /** Releases this transaction's document locks. */
  release(): void {
    for (const k of this.touched.keys()) if (this.locks.get(k) === this) this.locks.delete(k);
  }
}

interface SessionState {
  active?: Txn;
  /** Highest txnNumber seen (transactions and retryable writes). */
  lastTxnNumber: number;
  lastCommitted?: number;
  /** Reply of the last retryable write, returned again when the driver retries it. */
  retry?: { txnNumber: number; reply: Doc };
}

/** Sessions, their transactions and document locks. */
export class TxnManager {
  private readonly sessions = new Map<string, SessionState>();
  private readonly locks = new Map<string, Txn>();

  constructor(
    private readonly store: Store,
    private readonly log: ChangeLog,
  ) {}

  private session(lsid: Doc): SessionState {
    const key = keyOf(lsid.id);
    let s = this.sessions.get(key);
    if (!s) {
      s = { lastTxnNumber: -1 };
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Number of open transactions (for stats). */
  get openCount(): number {
    return [...this.sessions.values()].filter((s) => s.active).length;
  }

  /** Starts a transaction (`startTransaction: true`), discarding an older open one. */
  begin(lsid: Doc, txnNumber: Long, connectionId: number): Txn {
    const s = this.session(lsid);
    const n = toNum(txnNumber) ?? 0;
    if (n <= s.lastTxnNumber) {
      throw fail("NoSuchTransaction", `Given transaction number ${n} does not match any in-progress transactions. The active transaction number is ${s.lastTxnNumber}`, TRANSIENT);
    }
    this.discard(s);
    s.lastTxnNumber = n;
    s.active = new Txn(lsid, txnNumber, this.store, this.locks);
    s.active.connections.add(connectionId);
    return s.active;
  }

  /** The open transaction a later statement (`autocommit: false`) belongs to. */
  current(lsid: Doc, txnNumber: Long, connectionId: number): Txn {
    const txn = this.session(lsid).active;
    const n = toNum(txnNumber) ?? 0;
    if (!txn || toNum(txn.txnNumber) !== n) {
      throw fail("NoSuchTransaction", `Transaction with { txnNumber: ${n} } has been aborted.`, TRANSIENT);
    }
    txn.connections.add(connectionId);
    return txn;
  }

  /** Applies an open transaction atomically; a retried commit of a committed one succeeds again. */
  commit(lsid: Doc, txnNumber: Long): void {
    const s = this.session(lsid);
    const n = toNum(txnNumber) ?? 0;
    const txn = s.active;
    if (!txn || toNum(txn.txnNumber) !== n) {
      if (s.lastCommitted === n) return;
      throw fail("NoSuchTransaction", `Transaction with { txnNumber: ${n} } has been aborted.`, TRANSIENT);
    }
    for (const t of txn.touched.values()) {
      if (this.store.versionOf(t.ns, t.key) !== t.version) {
        this.discard(s);
        throw writeConflict();
      }
    }
    for (const c of txn.changes) this.store.apply(c.ns, c.key, c.after ?? null);
    const eventLsid = { id: lsid.id, uid: ANON_UID };
    const drafts = txn.changes.map((c) => draftOf(c, this.store.get(c.ns)?.imagesEnabled ?? false, { lsid: eventLsid, txnNumber }));
    this.log.append(drafts);
    txn.release();
    s.active = undefined;
    s.lastCommitted = n;
  }

  /** Discards an open transaction (abortTransaction). */
  abort(lsid: Doc, txnNumber: Long): void {
    const s = this.session(lsid);
    if (!s.active || toNum(s.active.txnNumber) !== toNum(txnNumber)) {
      throw fail("NoSuchTransaction", `Transaction with { txnNumber: ${toNum(txnNumber)} } has been aborted.`);
    }
    this.discard(s);
  }

  /** Aborts the session's open transaction after a write error, as mongod does. */
  abortActive(lsid: Doc): void {
    this.discard(this.session(lsid));
  }

  private discard(s: SessionState): void {
    s.active?.release();
    s.active = undefined;
  }

  /** Discards every open transaction that ran a statement on a closed connection. */
  connectionClosed(connectionId: number): void {
    for (const s of this.sessions.values()) if (s.active?.connections.has(connectionId)) this.discard(s);
  }

  /** Ends sessions (endSessions): their open transactions are discarded. */
  endSessions(lsids: Doc[]): void {
    for (const lsid of lsids) {
      const key = keyOf(lsid.id);
      const s = this.sessions.get(key);
      if (s) this.discard(s);
      this.sessions.delete(key);
    }
  }

  /** The cached reply if this retryable write (same lsid and txnNumber) already ran. */
  retriedReply(lsid: Doc, txnNumber: Long): Doc | undefined {
    const r = this.session(lsid).retry;
    return r && r.txnNumber === toNum(txnNumber) ? r.reply : undefined;
  }

  /** Remembers a retryable write's reply for a retry of the same statement. */
  rememberReply(lsid: Doc, txnNumber: Long, reply: Doc): void {
    const s = this.session(lsid);
    const n = toNum(txnNumber) ?? 0;
    s.retry = { txnNumber: n, reply };
    s.lastTxnNumber = Math.max(s.lastTxnNumber, n);
  }
}
