/**
 * Where reads and writes of a command go: straight to the store and the change log (the
 * committed target), or into a transaction's private overlay (see transactions.ts). Write
 * commands and queries only see this interface, so one implementation of insert/update/delete
 * serves both.
 */
import type { ChangeDraft, ChangeLog } from "./change-log.js";
import type { Doc } from "./bson-values.js";
import type { DocRecord, Ns, Store } from "./store.js";

/** One document-level change made by a write command. */
export interface DocChange {
  ns: Ns;
  key: string;
  op: "insert" | "update" | "replace" | "delete";
  before?: Doc;
  after?: Doc;
  updateDescription?: Doc;
}

/** Read/write access to documents for one command. */
export interface DocTarget {
  /** The document with this `_id` key as this command sees it. */
  get(ns: Ns, key: string): DocRecord | undefined;
  /** Every document of a collection in natural order. */
  scan(ns: Ns): Iterable<DocRecord>;
  /** Records one change (committed at once, or staged until commitTransaction). */
  write(change: DocChange): void;
}

/** The change-log draft of a document change. */
export function draftOf(change: DocChange, images: boolean, txn?: ChangeDraft["txn"]): ChangeDraft {
  const draft: ChangeDraft = {
    op: change.op,
    ns: { db: change.ns.db, coll: change.ns.coll },
    documentKey: { _id: (change.after ?? change.before)?._id },
    images,
  };
  if (change.after) draft.post = change.after;
  if (change.before) draft.pre = change.before;
  if (change.updateDescription) draft.updateDescription = change.updateDescription;
  if (txn) draft.txn = txn;
  return draft;
}

/** Writes applied immediately: store first, then one log entry with its own cluster time. */
export class CommittedTarget implements DocTarget {
  constructor(
    private readonly store: Store,
    private readonly log: ChangeLog,
  ) {}

  get(ns: Ns, key: string): DocRecord | undefined {
    return this.store.getDoc(ns, key);
  }

  scan(ns: Ns): Iterable<DocRecord> {
    return this.store.get(ns)?.docs.values() ?? [];
  }

  write(change: DocChange): void {
    this.store.apply(change.ns, change.key, change.after ?? null);
    const images = this.store.get(change.ns)?.imagesEnabled ?? false;
    this.log.append([draftOf(change, images)]);
  }
}
