/**
 * In-memory storage of the fake MongoDB server: databases → collections → documents keyed by
 * the `_id` index key (see `keyOf`). Stored documents are immutable: a write replaces the record,
 * so cursors, pre-images and change-log entries can share them without copying.
 */
import { UUID } from "mongodb";
import { keyOf, promoteDoc, type Doc } from "./bson-values.js";

/** One stored document and its lazily computed promoted view (for mingo). */
export interface DocRecord {
  readonly doc: Doc;
  view?: Doc;
}

/** The promoted view of a record, computed once. */
export function viewOf(rec: DocRecord): Doc {
  rec.view ??= promoteDoc(rec.doc);
  return rec.view;
}

/** A namespace `{db, coll}`. */
export interface Ns {
  db: string;
  coll: string;
}

/** `"db.coll"` of a namespace. */
export function nsString(ns: Ns): string {
  return `${ns.db}.${ns.coll}`;
}

/** Parses `"db.coll"` (the collection part may contain dots). */
export function parseNs(full: string): Ns | undefined {
  const dot = full.indexOf(".");
  if (dot <= 0 || dot === full.length - 1) return undefined;
  return { db: full.slice(0, dot), coll: full.slice(dot + 1) };
}

/** The implicit `_id` index every collection has. */
export const ID_INDEX: Doc = { v: 2, key: { _id: 1 }, name: "_id_" };

/** One collection: its documents (insertion order = natural order), options and index specs. */
export class Collection {
  readonly docs = new Map<string, DocRecord>();
  /** Write version per `_id` key (deletes included), for transaction write-conflict checks. */
  readonly versions = new Map<string, number>();
  readonly uuid = new UUID();
  /** Index specs besides `_id_`; accepted and listed, not enforced. */
  readonly indexes: Doc[] = [];

  constructor(
    readonly ns: Ns,
    public options: Doc = {},
  ) {}

  /** True when `changeStreamPreAndPostImages: {enabled: true}` is set on the collection. */
  get imagesEnabled(): boolean {
    const o = this.options.changeStreamPreAndPostImages;
    return typeof o === "object" && o !== null && (o as Doc).enabled === true;
  }
}

/** Every database and collection of one fake server. */
export class Store {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private version = 0;

  /** The collection, if it exists. */
  get(ns: Ns): Collection | undefined {
    return this.dbs.get(ns.db)?.get(ns.coll);
  }

  /** The collection, created (implicitly, like mongod on first write) if missing. */
  ensure(ns: Ns, options: Doc = {}): Collection {
    let db = this.dbs.get(ns.db);
    if (!db) {
      db = new Map();
      this.dbs.set(ns.db, db);
    }
    let coll = db.get(ns.coll);
    if (!coll) {
      coll = new Collection({ db: ns.db, coll: ns.coll }, options);
      db.set(ns.coll, coll);
    }
    return coll;
  }

  /** Names of the databases that hold at least one collection. */
  databaseNames(): string[] {
    return [...this.dbs.entries()].filter(([, c]) => c.size > 0).map(([name]) => name);
  }

  /** Collections of a database, in creation order. */
  collections(db: string): Collection[] {
    return [...(this.dbs.get(db)?.values() ?? [])];
  }

  /** Removes a collection; false if it did not exist. */
  drop(ns: Ns): boolean {
    const db = this.dbs.get(ns.db);
    const ok = db?.delete(ns.coll) ?? false;
    if (db && db.size === 0) this.dbs.delete(ns.db);
    return ok;
  }

  /** Moves a collection to a new namespace (the target must not exist). */
  rename(from: Ns, to: Ns): void {
    const coll = this.get(from);
    if (!coll) return;
    this.drop(from);
    const moved = this.ensure(to, coll.options);
    for (const [k, rec] of coll.docs) moved.docs.set(k, rec);
    for (const [k, v] of coll.versions) moved.versions.set(k, v);
    moved.indexes.push(...coll.indexes);
  }

  /** The stored document with this `_id` key. */
  getDoc(ns: Ns, key: string): DocRecord | undefined {
    return this.get(ns)?.docs.get(key);
  }

  /** Current write version of a document key (0 if never written). */
  versionOf(ns: Ns, key: string): number {
    return this.get(ns)?.versions.get(key) ?? 0;
  }

  /** Stores (after !== null) or deletes (after === null) one document, bumping its version. */
  apply(ns: Ns, key: string, after: Doc | null): void {
    const coll = this.ensure(ns);
    this.version += 1;
    coll.versions.set(key, this.version);
    if (after === null) coll.docs.delete(key);
    else coll.docs.set(key, { doc: after });
  }

  /** Stores a new document by its `_id`. */
  put(ns: Ns, doc: Doc): void {
    this.apply(ns, keyOf(doc._id), doc);
  }
}
