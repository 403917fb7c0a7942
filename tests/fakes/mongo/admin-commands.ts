/**
 * Administrative commands of the fake MongoDB server: ping, buildInfo, listDatabases,
 * listCollections, create, collMod, drop, dropDatabase, renameCollection, createIndexes,
 * listIndexes, dropIndexes, endSessions. DDL that a change stream can see (drop, rename,
 * dropDatabase) is written to the change log like mongod's oplog.
 */
import { Long } from "mongodb";
import { Query } from "mingo";
import { bsonEqual, isPlainDoc, promoteDoc, type Doc } from "./bson-values.js";
import type { ChangeLog } from "./change-log.js";
import type { CommandContext, Handler } from "./context.js";
import { fail } from "./errors.js";
import { docOption } from "./queries.js";
import { ID_INDEX, parseNs, type Ns, type Store } from "./store.js";

/** Fields of a command that are not collection options. */
const META = new Set(["create", "lsid", "txnNumber", "autocommit", "startTransaction", "writeConcern", "readConcern", "comment", "apiVersion", "apiStrict", "apiDeprecationErrors"]);

function noTxn(ctx: CommandContext, name: string): void {
  if (ctx.txn) throw fail("OperationNotSupportedInTransaction", `Cannot run '${name}' in a multi-document transaction.`);
}

function collName(ctx: CommandContext, name: string): Ns {
  const coll = ctx.body[name];
  if (typeof coll !== "string" || coll.length === 0) throw fail("InvalidNamespace", `Invalid namespace specified: '${ctx.db}.${String(coll)}'`);
  return { db: ctx.db, coll };
}

/**
 * Drops a collection and logs the `drop` event (no event if it did not exist, like mongod 7).
 * Exported for the server-side `dropCollection` fault helper.
 */
export function dropCollection(store: Store, log: ChangeLog, ns: Ns): boolean {
  if (!store.drop(ns)) return false;
  log.append([{ op: "drop", ns: { db: ns.db, coll: ns.coll } }]);
  return true;
}

function listReply(ns: string, docs: Doc[]): Doc {
  return { cursor: { firstBatch: docs, id: Long.ZERO, ns }, ok: 1 };
}

function listCollections(ctx: CommandContext): Doc {
  const { store } = ctx.core;
  const filter = docOption(ctx.body, "filter");
  const q = filter ? new Query(promoteDoc(filter)) : undefined;
  const nameOnly = ctx.body.nameOnly === true;
  const docs: Doc[] = [];
  for (const c of store.collections(ctx.db)) {
    const full: Doc = { name: c.ns.coll, type: "collection", options: c.options, info: { readOnly: false, uuid: c.uuid }, idIndex: ID_INDEX };
    if (q && !q.test(promoteDoc(full))) continue;
    docs.push(nameOnly ? { name: c.ns.coll, type: "collection" } : full);
  }
  return listReply(`${ctx.db}.$cmd.listCollections`, docs);
}

function create(ctx: CommandContext): Doc {
  noTxn(ctx, "create");
  const ns = collName(ctx, "create");
  const options: Doc = {};
  for (const [k, v] of Object.entries(ctx.body)) if (!META.has(k) && !k.startsWith("$")) options[k] = v;
  const existing = ctx.core.store.get(ns);
  if (existing) {
    if (bsonEqual(existing.options, options)) return { ok: 1 };
    throw fail("NamespaceExists", `Collection ${ns.db}.${ns.coll} already exists.`);
  }
  ctx.core.store.ensure(ns, options);
  return { ok: 1 };
}

function collMod(ctx: CommandContext): Doc {
  noTxn(ctx, "collMod");
  const ns = collName(ctx, "collMod");
  const coll = ctx.core.store.get(ns);
  if (!coll) throw fail("NamespaceNotFound", `ns does not exist: ${ns.db}.${ns.coll}`);
  const options = { ...coll.options };
  for (const [k, v] of Object.entries(ctx.body)) if (k !== "collMod" && !META.has(k) && !k.startsWith("$")) options[k] = v;
  coll.options = options;
  return { ok: 1 };
}

function drop(ctx: CommandContext): Doc {
  noTxn(ctx, "drop");
  const ns = collName(ctx, "drop");
  const nIndexesWas = 1 + (ctx.core.store.get(ns)?.indexes.length ?? 0);
  dropCollection(ctx.core.store, ctx.core.log, ns);
  return { nIndexesWas, ns: `${ns.db}.${ns.coll}`, ok: 1 };
}

function dropDatabase(ctx: CommandContext): Doc {
  noTxn(ctx, "dropDatabase");
  const { store, log } = ctx.core;
  const colls = store.collections(ctx.db);
  for (const c of colls) dropCollection(store, log, c.ns);
  if (colls.length > 0) log.append([{ op: "dropDatabase", ns: { db: ctx.db } }]);
  return { dropped: ctx.db, ok: 1 };
}

function renameCollection(ctx: CommandContext): Doc {
  noTxn(ctx, "renameCollection");
  const { store, log } = ctx.core;
  const from = parseNs(String(ctx.body.renameCollection));
  const to = parseNs(String(ctx.body.to));
  if (!from || !to) throw fail("InvalidNamespace", `Invalid namespace specified: '${String(ctx.body.renameCollection)}' -> '${String(ctx.body.to)}'`);
  if (!store.get(from)) throw fail("NamespaceNotFound", "source namespace does not exist");
  if (store.get(to)) {
    if (ctx.body.dropTarget !== true) throw fail("NamespaceExists", "target namespace exists");
    dropCollection(store, log, to);
  }
  store.rename(from, to);
  log.append([{ op: "rename", ns: { db: from.db, coll: from.coll }, to }]);
  return { ok: 1 };
}

function createIndexes(ctx: CommandContext): Doc {
  noTxn(ctx, "createIndexes");
  const ns = collName(ctx, "createIndexes");
  const specs = ctx.body.indexes;
  if (!Array.isArray(specs) || !specs.every((s) => isPlainDoc(s) && isPlainDoc(s.key))) {
    throw fail("TypeMismatch", "BSON field 'createIndexes.indexes' must be an array of index specifications with a 'key' document");
  }
  const createdCollectionAutomatically = !ctx.core.store.get(ns);
  const coll = ctx.core.store.ensure(ns);
  const numIndexesBefore = 1 + coll.indexes.length;
  for (const spec of specs as Doc[]) {
    const name = typeof spec.name === "string" ? spec.name : Object.entries(spec.key as Doc).map(([k, v]) => `${k}_${String(promoteDoc({ v }).v)}`).join("_");
    if (name === "_id_" || coll.indexes.some((i) => i.name === name)) continue;
    coll.indexes.push({ v: 2, ...spec, name });
  }
  return { numIndexesBefore, numIndexesAfter: 1 + coll.indexes.length, createdCollectionAutomatically, ok: 1 };
}

function listIndexes(ctx: CommandContext): Doc {
  const ns = collName(ctx, "listIndexes");
  const coll = ctx.core.store.get(ns);
  if (!coll) throw fail("NamespaceNotFound", `ns does not exist: ${ns.db}.${ns.coll}`);
  return listReply(`${ns.db}.$cmd.listIndexes.${ns.coll}`, [ID_INDEX, ...coll.indexes]);
}

function dropIndexes(ctx: CommandContext): Doc {
  noTxn(ctx, "dropIndexes");
  const ns = collName(ctx, "dropIndexes");
  const coll = ctx.core.store.get(ns);
  if (!coll) throw fail("NamespaceNotFound", `ns not found ${ns.db}.${ns.coll}`);
  const nIndexesWas = 1 + coll.indexes.length;
  const which = ctx.body.index;
  const keep = coll.indexes.filter((i) => !(which === "*" || i.name === which || (isPlainDoc(which) && bsonEqual(i.key, which))));
  coll.indexes.splice(0, coll.indexes.length, ...keep);
  return { nIndexesWas, ok: 1 };
}

function listDatabases(ctx: CommandContext): Doc {
  const names = [...new Set(["admin", "config", "local", ...ctx.core.store.databaseNames()])].sort();
  const databases = names.map((name) => (ctx.body.nameOnly === true ? { name } : { name, sizeOnDisk: 8192, empty: false }));
  return { databases, totalSize: 8192 * names.length, totalSizeMb: 0, ok: 1 };
}

/** Administrative command handlers by command name. */
export const ADMIN_COMMANDS: Record<string, Handler> = {
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({ version: "7.0.0", gitVersion: "tributary-fake", versionArray: [7, 0, 0, 0], bits: 64, maxBsonObjectSize: 16 * 1024 * 1024, ok: 1 }),
  buildinfo: () => ({ version: "7.0.0", gitVersion: "tributary-fake", versionArray: [7, 0, 0, 0], bits: 64, maxBsonObjectSize: 16 * 1024 * 1024, ok: 1 }),
  listDatabases,
  listCollections,
  create,
  collMod,
  drop,
  dropDatabase,
  renameCollection,
  createIndexes,
  listIndexes,
  dropIndexes,
  endSessions: (ctx) => {
    const lsids = Array.isArray(ctx.body.endSessions) ? (ctx.body.endSessions as unknown[]).filter(isPlainDoc) : [];
    ctx.core.txns.endSessions(lsids);
    return { ok: 1 };
  },
};
