/**
 * REST routes of the Cosmos DB fake: the database account, databases, containers, partition
 * key ranges, documents, batches and the change feed, addressed by name
 * (`/dbs/{db}/colls/{coll}/docs/{id}`) as @azure/cosmos addresses them.
 */
import { type BatchStats, executeBatch } from "./bulk.js";
import { isChangeFeed, readChangeFeed, type FeedHeaders } from "./change-feed.js";
import { type DocResult, Documents } from "./documents.js";
import type { PkComponent, PkDefinition } from "./hash.js";
import { parsePartitionKey } from "./partition-key.js";
import { type AccountState, type ContainerState, type Doc, ContainerState as Container, DatabaseState } from "./store.js";
import { errors, type Reply } from "./wire.js";

/** What the routes work on. */
export interface RouteContext {
  account: AccountState;
  /** The endpoint the account advertises as its only region, e.g. https://127.0.0.1:1234/. */
  endpoint: string;
  batchStats: BatchStats;
}

/** One parsed request. */
export interface RouteRequest {
  method: string;
  /** Decoded path segments: `["dbs", "db", "colls", "c"]`. */
  segments: string[];
  headers: FeedHeaders;
  body: Buffer;
}

/** Answers one authenticated request. */
export function route(ctx: RouteContext, req: RouteRequest): Reply {
  const [s0, db, s2, coll, s4, id, ...rest] = req.segments;
  const m = req.method;
  if (s0 === undefined) {
    if (m === "GET") return ok(accountResource(ctx.endpoint));
  } else if (s0 === "dbs" && db === undefined) {
    if (m === "POST") return createDatabase(ctx.account, json(req));
    if (m === "GET") return list("Databases", [...ctx.account.databases.values()].map((d) => d.resource()));
  } else if (s0 === "dbs" && db !== undefined && s2 === undefined) {
    if (m === "GET") return ok(ctx.account.database(db).resource());
    if (m === "DELETE") {
      ctx.account.database(db); // 404 when missing
      ctx.account.databases.delete(db);
      return { status: 204 };
    }
  } else if (s0 === "dbs" && db !== undefined && s2 === "colls" && coll === undefined) {
    const d = ctx.account.database(db);
    if (m === "POST") return createContainer(d, json(req));
    if (m === "GET") return list("DocumentCollections", [...d.containers.values()].map((c) => c.resource()));
  } else if (s0 === "dbs" && db !== undefined && s2 === "colls" && coll !== undefined) {
    const c = ctx.account.container(db, coll);
    if (s4 === undefined) {
      if (m === "GET") return ok(c.resource());
      if (m === "DELETE") {
        c.db.containers.delete(coll);
        return { status: 204 };
      }
    } else if (s4 === "pkranges" && id === undefined && m === "GET") {
      return pkRanges(c);
    } else if (s4 === "docs" && id === undefined) {
      return docsCollection(ctx, c, req);
    } else if (s4 === "docs" && id !== undefined && rest.length === 0) {
      return document(ctx, c, id, req);
    }
  }
  throw errors.notFound(`fake cosmos: ${m} /${req.segments.join("/")} is not implemented.`);
}

function ok(body: unknown, headers: Record<string, string> = {}): Reply {
  return { status: 200, body, headers };
}

function list(name: string, items: Doc[]): Reply {
  return ok({ _rid: "", [name]: items, _count: items.length });
}

function json(req: RouteRequest): unknown {
  try {
    return JSON.parse(req.body.toString("utf8"));
  } catch {
    throw errors.badRequest("The request body is not valid JSON.");
  }
}

function accountResource(endpoint: string): Doc {
  const location = { name: "Fake Region", databaseAccountEndpoint: endpoint };
  return {
    _self: "", id: "fake-account", _rid: "fake-account.documents.azure.com", media: "//media/", addresses: "//addresses/",
    _dbs: "//dbs/", writableLocations: [location], readableLocations: [location], enableMultipleWriteLocations: false,
    userReplicationPolicy: { asyncReplication: false, minReplicaSetSize: 1, maxReplicasetSize: 4 },
    userConsistencyPolicy: { defaultConsistencyLevel: "Session" },
    systemReplicationPolicy: { minReplicaSetSize: 1, maxReplicasetSize: 4 },
    readPolicy: { primaryReadCoefficient: 1, secondaryReadCoefficient: 1 },
    queryEngineConfiguration: JSON.stringify({ maxSqlQueryInputLength: 262144, maxJoinsPerSqlQuery: 5, sqlAllowTop: true }),
  };
}

function idOf(body: unknown): string {
  const id = typeof body === "object" && body !== null ? (body as { id?: unknown }).id : undefined;
  if (typeof id !== "string" || id === "") throw errors.badRequest("The input content is invalid: 'id' is missing.");
  return id;
}

function createDatabase(account: AccountState, body: unknown): Reply {
  const id = idOf(body);
  if (account.databases.has(id)) throw errors.conflict();
  const d = new DatabaseState(id);
  account.databases.set(id, d);
  return { status: 201, body: d.resource() };
}

function createContainer(d: DatabaseState, body: unknown): Reply {
  const id = idOf(body);
  if (d.containers.has(id)) throw errors.conflict();
  const def = body as Doc;
  const given = (def.partitionKey ?? { paths: ["/_partitionKey"] }) as Partial<PkDefinition>;
  if (!Array.isArray(given.paths) || given.paths.length === 0 || !given.paths.every((p) => typeof p === "string" && p.startsWith("/"))) {
    throw errors.badRequest("The partition key definition needs paths like '/pk'.");
  }
  const kind = given.kind ?? "Hash";
  if (kind === "Hash" && given.paths.length !== 1) throw errors.badRequest("A Hash partition key has exactly one path.");
  const pkDef: PkDefinition = { paths: given.paths, kind, ...(given.version !== undefined ? { version: given.version } : {}) };
  const defaults: Doc = {
    indexingPolicy: { indexingMode: "consistent", automatic: true, includedPaths: [{ path: "/*" }], excludedPaths: [{ path: '/"_etag"/?' }] },
    conflictResolutionPolicy: { mode: "LastWriterWins", conflictResolutionPath: "/_ts", conflictResolutionProcedure: "" },
    geospatialConfig: { type: "Geography" },
  };
  const c = new Container(d, id, { ...defaults, ...def }, pkDef);
  d.containers.set(id, c);
  return { status: 201, body: c.resource() };
}

function pkRanges(c: ContainerState): Reply {
  const ranges = c.ranges.map((r) => ({
    id: r.id, _rid: `${c.rid}${r.id}`, minInclusive: r.minInclusive, maxExclusive: r.maxExclusive,
    ridPrefix: Number(r.id), _self: `${c.self}pkranges/${r.id}/`, throughputFraction: 1 / c.ranges.length,
    status: "online", parents: r.parents, _ts: c.ts, lsn: 0,
  }));
  return ok({ _rid: c.rid, PartitionKeyRanges: ranges, _count: ranges.length }, { etag: `"${c.ranges.length}"` });
}

function headerPk(req: RouteRequest): PkComponent[] | undefined {
  const text = req.headers["x-ms-documentdb-partitionkey"];
  return text === undefined ? undefined : parsePartitionKey(text);
}

function requirePk(req: RouteRequest): PkComponent[] {
  const pk = headerPk(req);
  if (!pk) throw errors.badRequest("PartitionKey value must be supplied for this operation.");
  return pk;
}

function docReply(c: ContainerState, account: AccountState, r: DocResult): Reply {
  const rangeId = c.rangeOf(r.epk).id;
  const headers: Record<string, string> = { "x-ms-session-token": `${rangeId}:-1#${account.lsn}`, lsn: String(r.lsn) };
  if (r.etag !== undefined) headers.etag = r.etag;
  return { status: r.status, ...(r.doc ? { body: r.doc } : {}), headers };
}

function docsCollection(ctx: RouteContext, c: ContainerState, req: RouteRequest): Reply {
  const h = req.headers;
  if (req.method === "GET" && isChangeFeed(h)) return readChangeFeed(ctx.account, c, h);
  if (req.method === "POST" && (h["x-ms-cosmos-is-batch-request"] ?? "").toLowerCase() === "true") {
    const atomic = (h["x-ms-cosmos-batch-atomic"] ?? "").toLowerCase() === "true";
    const rangeId = h["x-ms-documentdb-partitionkeyrangeid"];
    const pkHeader = h["x-ms-documentdb-partitionkey"];
    return executeBatch(ctx.account, c, json(req), {
      atomic, ...(rangeId !== undefined ? { rangeId } : {}), ...(pkHeader !== undefined ? { pkHeader } : {}),
    }, ctx.batchStats);
  }
  if (req.method === "POST" && (h["x-ms-documentdb-isquery"] !== undefined || h["x-ms-cosmos-is-query-plan-request"] !== undefined)) {
    throw errors.badRequest("fake cosmos: queries are not implemented; use point reads or the change feed.");
  }
  if (req.method === "POST") {
    const upsert = (h["x-ms-documentdb-is-upsert"] ?? "").toLowerCase() === "true";
    const ifMatch = h["if-match"];
    const r = new Documents(ctx.account, c).create(headerPk(req), json(req), upsert, ifMatch !== undefined ? { ifMatch } : {});
    return docReply(c, ctx.account, r);
  }
  throw errors.badRequest(`fake cosmos: ${req.method} on documents without A-IM (read feed) is not implemented.`);
}

function document(ctx: RouteContext, c: ContainerState, id: string, req: RouteRequest): Reply {
  const docs = new Documents(ctx.account, c);
  const ifMatch = req.headers["if-match"];
  const cond = ifMatch !== undefined ? { ifMatch } : {};
  switch (req.method) {
    case "GET": {
      const r = docs.read(requirePk(req), id);
      if (req.headers["if-none-match"] !== undefined && req.headers["if-none-match"] === r.etag) {
        return { status: 304, headers: { etag: r.etag } };
      }
      return docReply(c, ctx.account, r);
    }
    case "PUT":
      return docReply(c, ctx.account, docs.replace(headerPk(req), id, json(req), cond));
    case "PATCH":
      return docReply(c, ctx.account, docs.patch(requirePk(req), id, json(req), cond));
    case "DELETE":
      return docReply(c, ctx.account, docs.delete(requirePk(req), id, cond));
    default:
      throw errors.badRequest(`${req.method} is not supported on a document.`);
  }
}
