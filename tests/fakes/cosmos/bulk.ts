/**
 * Batch requests of the Cosmos DB fake: `POST …/docs` with `x-ms-cosmos-is-batch-request`,
 * a JSON array of operations, answered with one result per operation
 * (`{statusCode, eTag, resourceBody, subStatusCode?}`). Non-atomic batches are what
 * `items.executeBulkOperations` sends per partition key range (HTTP 200, or 207 when an
 * operation failed); atomic ones are `items.batch` (all or nothing, 424 for the bystanders).
 */
import { type Conditions, type DocResult, Documents } from "./documents.js";
import { effectivePartitionKey, type PkComponent } from "./hash.js";
import { parsePartitionKey } from "./partition-key.js";
import { type AccountState, type ContainerState, inRange } from "./store.js";
import { CosmosError, errors, type Reply } from "./wire.js";

/** One operation of a batch as the SDK serializes it (`partitionKey` is a JSON string). */
interface BatchOp {
  operationType?: string;
  partitionKey?: string;
  id?: string;
  resourceBody?: unknown;
  ifMatch?: string;
}

/** Per-operation result in the service's wire shape. */
interface OpResult {
  statusCode: number;
  requestCharge: number;
  eTag?: string;
  resourceBody?: unknown;
  subStatusCode?: number;
  message?: string;
}

/** Counters the tests can assert on. */
export interface BatchStats {
  /** Bulk operations whose partition key hashes outside the range the SDK sent them to. */
  misroutedOps: number;
}

/** Answers one batch request; `rangeId` / `pkHeader` are the request's routing headers. */
export function executeBatch(
  account: AccountState,
  c: ContainerState,
  body: unknown,
  h: { atomic: boolean; rangeId?: string; pkHeader?: string },
  stats: BatchStats,
): Reply {
  if (!Array.isArray(body)) throw errors.badRequest("A batch request body must be a JSON array of operations.");
  if (body.length > 100) throw errors.badRequest("A batch request holds at most 100 operations.");
  const range = h.rangeId !== undefined ? c.onlineRange(h.rangeId) : undefined;
  const batchPk = h.pkHeader !== undefined ? parsePartitionKey(h.pkHeader) : undefined;
  const docs = new Documents(account, c);
  const saved = h.atomic ? { docs: new Map(c.docs), log: c.log.length, lsn: account.lsn } : undefined;
  const results: OpResult[] = [];
  let failed = -1;
  for (const [i, raw] of (body as BatchOp[]).entries()) {
    try {
      const pk = raw.partitionKey !== undefined ? parsePartitionKey(raw.partitionKey) : batchPk;
      if (!pk) throw errors.badRequest("A batch operation has no partition key.");
      if (range && !inRange(range, effectivePartitionKey(pk, c.pkDef))) stats.misroutedOps++;
      results.push(toResult(runOp(docs, raw, pk)));
    } catch (err) {
      if (!(err instanceof CosmosError)) throw err;
      results.push({
        statusCode: err.status, requestCharge: 1, message: err.message,
        ...(err.substatus !== undefined ? { subStatusCode: err.substatus } : {}),
      });
      if (failed < 0) failed = i;
      if (h.atomic) break;
    }
  }
  if (saved && failed >= 0) {
    // All or nothing: undo the writes before the failure, mark the others as dependent failures.
    c.docs.clear();
    for (const [k, v] of saved.docs) c.docs.set(k, v);
    c.log.length = saved.log;
    account.lsn = saved.lsn;
    const failure = results[failed];
    const all = (body as unknown[]).map((_, i) => (i === failed && failure ? failure : { statusCode: 424, requestCharge: 1 }));
    return { status: 207, body: all, headers: { "x-ms-session-token": `0:-1#${account.lsn}` } };
  }
  return {
    status: failed >= 0 ? 207 : 200,
    body: results,
    headers: { "x-ms-session-token": `${range?.id ?? "0"}:-1#${account.lsn}` },
  };
}

function runOp(docs: Documents, op: BatchOp, pk: PkComponent[]): DocResult {
  const cond: Conditions = op.ifMatch !== undefined ? { ifMatch: op.ifMatch } : {};
  const id = op.id ?? idOf(op.resourceBody);
  switch (op.operationType) {
    case "Create":
      return docs.create(pk, op.resourceBody, false, cond);
    case "Upsert":
      return docs.create(pk, op.resourceBody, true, cond);
    case "Replace":
      return docs.replace(pk, id, op.resourceBody, cond);
    case "Delete":
      return docs.delete(pk, id, cond);
    case "Read":
      return docs.read(pk, id);
    case "Patch":
      return docs.patch(pk, id, op.resourceBody, cond);
    default:
      throw errors.badRequest(`Batch operation type '${String(op.operationType)}' is not supported.`);
  }
}

function idOf(body: unknown): string {
  const id = typeof body === "object" && body !== null ? (body as { id?: unknown }).id : undefined;
  if (typeof id !== "string") throw errors.badRequest("A batch operation has no id.");
  return id;
}

function toResult(r: DocResult): OpResult {
  return {
    statusCode: r.status,
    requestCharge: 1,
    ...(r.etag !== undefined ? { eTag: r.etag } : {}),
    ...(r.doc !== undefined ? { resourceBody: r.doc } : {}),
  };
}
