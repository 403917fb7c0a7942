/**
 * Executes the Cosmos DB sink's document operations and reports one outcome per operation.
 * Batches of {@link BULK_MIN_OPS} operations or more go through `executeBulkOperations`
 * (the SDK groups them per partition key range, follows splits and retries 429s); smaller
 * ones as point operations, a few at a time: the SDK's bulk executor waits at least one
 * second for a partial batch to fill, which a sink applying one event (or isolating a
 * refused record) should not pay. A delete of a document that is not there counts as done,
 * so replays are idempotent.
 */
import type { Container, OperationInput } from "@azure/cosmos";
import type { JSONObject } from "@azure/cosmos";
import { statusOf } from "./errors.js";
import { SYSTEM_PROPERTIES } from "./event-builder.js";
import type { DocOp } from "./sink-plan.js";

/** Smallest number of operations sent through the bulk executor. */
export const BULK_MIN_OPS = 25;
/** Point operations in flight at once. */
const POINT_CONCURRENCY = 16;

/** What happened to one operation. */
export interface OpOutcome {
  ok: boolean;
  status: number;
  substatus?: number;
  /** the delay the service asked for (429) */
  retryAfterMs?: number;
  /** the service's message (failures) */
  message?: string;
}

const OK: OpOutcome = { ok: true, status: 200 };

function failure(err: unknown): OpOutcome {
  const { status, substatus, retryAfterMs } = statusOf(err);
  const message = String((err as { message?: unknown })?.message ?? err).split(/\r?\n/)[0]!.slice(0, 300);
  // a network failure has no status: 503 makes it retried like the service being unavailable
  return { ok: false, status: status ?? 503, message, ...(substatus !== undefined ? { substatus } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

function outcomeOf(status: number | undefined, kind: DocOp["kind"], err?: unknown): OpOutcome {
  if (status !== undefined && status >= 200 && status < 300) return OK;
  if (status === 404 && kind === "delete") return OK; // already gone: a replayed delete
  return failure(err ?? { code: status });
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of the results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function toInput(op: DocOp): OperationInput {
  return op.kind === "delete"
    ? { operationType: "Delete", id: op.id, partitionKey: op.pk }
    : { operationType: "Upsert", partitionKey: op.pk, resourceBody: op.body as JSONObject };
}

/** Executes `ops` on `container`; one outcome per operation, in order. Never throws for a failed operation. */
export async function executeOps(container: Container, ops: readonly DocOp[]): Promise<OpOutcome[]> {
  if (ops.length >= BULK_MIN_OPS) {
    const results = await container.items.executeBulkOperations(ops.map(toInput));
    return results.map((r, i) => outcomeOf(r?.response?.statusCode ?? statusOf(r?.error).status, ops[i]!.kind, r?.error));
  }
  return mapLimit(ops, POINT_CONCURRENCY, async (op) => {
    try {
      if (op.kind === "delete") {
        const r = await container.item(op.id, op.pk).delete();
        return outcomeOf(r.statusCode, "delete");
      }
      const r = await container.items.upsert(op.body as JSONObject);
      return outcomeOf(r.statusCode, "upsert");
    } catch (err) {
      return outcomeOf(statusOf(err).status, op.kind, err);
    }
  });
}

/**
 * Fills the properties a partial upsert lacks (unchanged values the source did not send)
 * from the stored document, so they keep their values; a missing document stays as is.
 * Throws the SDK's error when a read fails for another reason than 404.
 */
export async function completePartial(container: Container, ops: readonly DocOp[]): Promise<void> {
  const partial = ops.filter((o) => o.kind === "upsert" && o.partial && o.body);
  await mapLimit(partial, POINT_CONCURRENCY, async (op) => {
    try {
      const r = await container.item(op.id, op.pk).read<Record<string, unknown>>();
      if (r.resource) {
        const merged: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r.resource)) if (!(SYSTEM_PROPERTIES as readonly string[]).includes(k)) merged[k] = v;
        op.body = { ...(merged as NonNullable<DocOp["body"]>), ...op.body };
      }
    } catch (err) {
      if (statusOf(err).status !== 404) throw err;
    }
  });
}
