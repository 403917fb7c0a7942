/**
 * The Cosmos DB sink (the sink contract's adapter): applies a batch as one upsert or delete
 * per document (sink-plan.ts), by bulk or point operations (sink-ops.ts), retrying
 * throttled (429) and unavailable (503) operations after the service's delay, then writes
 * the offset document with `If-Match` (sink-offsets.ts). Cosmos DB has no transaction
 * across partitions, so the documents and the offset are NOT written atomically; what holds
 * instead (ADR 0008):
 * - the offset is written only after every document of the batch was written, so a crash
 *   in between replays the batch, and replays are idempotent (upserts write the same
 *   content, deletes of missing documents succeed);
 * - the epoch in the offset document refuses an older owner before it writes anything
 *   (FENCED), and the etag refuses any writer whose read is outdated when it writes the
 *   offset; a stale owner frozen between those two reads can still write one batch.
 */
import type { Container, CosmosClient, Database } from "@azure/cosmos";
import { TributaryError, backoff, sleep } from "../../base/index.js";
import { checkOffset, sinkOffsetKey, type SinkBatch, type SinkConnector, type SinkDeps, type SinkOffset, type TargetTable } from "../../core/index.js";
import { cosmosClient, type CosmosOverrides } from "./client.js";
import { cosmosError, isTransientStatus, secretsOf, statusOf, type Where } from "./errors.js";
import { cosmosMetrics } from "./metrics.js";
import type { CosmosSinkSpec } from "./schema.js";
import { completePartial, executeOps, type OpOutcome } from "./sink-ops.js";
import { OffsetStore } from "./sink-offsets.js";
import { CosmosRowError, planDocuments, type DocOp } from "./sink-plan.js";

/** Longest a batch keeps retrying throttled or unavailable operations before the sink fails (and restarts). */
const RETRY_BUDGET_MS = 300_000;

/** Statuses that refuse one document for its data: dead-lettered, the stream goes on. */
const ROW_STATUSES = new Set([400, 409, 413]);

/** The target container name of a source table (the `container` template). */
export function containerName(template: string, source: { schema: string; table: string }): string {
  return template.replace(/\{schema\}|\{table\}/g, (m) => (m === "{schema}" ? source.schema : source.table));
}

/** A sink writing change events into Cosmos DB containers. */
export class CosmosSink implements SinkConnector {
  private readonly containers = new Map<string, Promise<Container>>();
  private readonly where: Where;

  private constructor(
    private readonly spec: CosmosSinkSpec,
    private readonly d: SinkDeps,
    private readonly client: CosmosClient,
    private readonly db: Database,
    private readonly offsets: OffsetStore,
  ) {
    this.where = { side: "sink", endpoint: spec.endpoint, database: spec.database, secrets: secretsOf(spec.auth) };
  }

  /**
   * Signs in, checks (or with autoCreate creates) the offsets container.
   * @throws TributaryError SINK_INVALID (bad credentials, missing database or container) or SINK_UNAVAILABLE.
   */
  static async open(spec: CosmosSinkSpec, d: SinkDeps, overrides: CosmosOverrides = {}): Promise<CosmosSink> {
    const dot = d.sinkId.indexOf(".");
    const stream = dot < 0 ? d.sinkId : d.sinkId.slice(0, dot);
    const metrics = cosmosMetrics(d.metrics.registry, stream, `sink-${spec.name}`);
    const client = cosmosClient({ endpoint: spec.endpoint, auth: spec.auth, metrics, overrides });
    try {
      const db = client.database(spec.database);
      const where: Where = { side: "sink", endpoint: spec.endpoint, database: spec.database, container: spec.offsetsContainer, secrets: secretsOf(spec.auth) };
      const container = await ensureContainer(db, spec.offsetsContainer, "/id", spec.autoCreate, where, "the offsets container");
      const offsets = new OffsetStore(container, sinkOffsetKey(d.cluster, d.sinkId), d.cluster, d.sinkId);
      return new CosmosSink(spec, d, client, db, offsets);
    } catch (err) {
      client.dispose();
      throw err;
    }
  }

  target(source: { schema: string; table: string }): TargetTable {
    return { schema: this.spec.database, table: containerName(this.spec.container, source) };
  }

  async readOffset(): Promise<SinkOffset> {
    const { seq, epoch } = await this.retrying(() => this.offsets.read(), { ...this.where, container: this.spec.offsetsContainer }, "reading the sink's offset document");
    return { seq, epoch };
  }

  /**
   * Applies the batch and then the offset (see the module comment). Records at or below
   * the stored seq are skipped; a newer stored epoch refuses the batch before any write.
   * @throws CosmosRowError when a record cannot be written for its data (the kernel isolates
   * and dead-letters it); FENCED when another owner wrote the offset; SINK_* otherwise.
   */
  async apply(batch: SinkBatch, offset: SinkOffset): Promise<void> {
    const offsetsWhere = { ...this.where, container: this.spec.offsetsContainer };
    const stored = await this.retrying(() => this.offsets.read(), offsetsWhere, "reading the sink's offset document");
    const lastRecord = batch.records[batch.records.length - 1]?.seq ?? 0;
    const next = checkOffset(stored, { seq: Math.max(offset.seq, lastRecord), epoch: offset.epoch }, (m) => new TributaryError("FENCED", `sink ${this.d.sinkId}: ${m}`));
    let written = 0;
    for (const group of batch.groups(stored.seq)) {
      const ops = planDocuments(group.records, this.spec.partitionKey);
      if (ops.length === 0) continue;
      const where = { ...this.where, container: group.target.table };
      const container = await this.container(group.target.table);
      try {
        await completePartial(container, ops);
      } catch (err) {
        throw cosmosError(err, where, "reading documents to complete partial updates");
      }
      await this.write(container, ops, where);
      written += ops.length;
    }
    if (!next) return;
    await this.retrying(() => this.offsets.write(stored, next), offsetsWhere, "writing the sink's offset document");
    if (written) this.d.log.debug({ documents: written, seq: next.seq }, "batch applied");
  }

  isRowError(err: unknown): boolean {
    return err instanceof CosmosRowError;
  }

  async close(): Promise<void> {
    this.client.dispose();
  }

  /**
   * Runs one request of the offset document, retried after the service's delay while it
   * is throttled or unavailable (within {@link RETRY_BUDGET_MS}); other failures are translated.
   */
  private async retrying<T>(fn: () => Promise<T>, where: Where, doing: string): Promise<T> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const { status, retryAfterMs } = statusOf(err);
        if (!isTransientStatus(status) || performance.now() - started > RETRY_BUDGET_MS) throw cosmosError(err, where, doing);
        await sleep(retryAfterMs ?? Math.max(50, backoff(attempt, 200, 5000)));
      }
    }
  }

  /** The target container (checked once: it exists, or is created, and has the sink's partition key). */
  private container(name: string): Promise<Container> {
    let c = this.containers.get(name);
    if (!c) {
      c = ensureContainer(this.db, name, this.spec.partitionKey, this.spec.autoCreate, { ...this.where, container: name }, "the target container");
      c.catch(() => this.containers.delete(name));
      this.containers.set(name, c);
    }
    return c;
  }

  /**
   * Writes the operations, retrying the throttled and unavailable ones after the service's
   * delay until they succeed (within {@link RETRY_BUDGET_MS}); throws CosmosRowError when
   * the service refused some for their data (the others are written).
   */
  private async write(container: Container, ops: DocOp[], where: Where): Promise<void> {
    let pending = ops;
    const refused: Array<{ op: DocOp; outcome: OpOutcome }> = [];
    const started = performance.now();
    for (let attempt = 1; pending.length > 0; attempt++) {
      let outcomes: OpOutcome[];
      try {
        outcomes = await executeOps(container, pending);
      } catch (err) {
        throw cosmosError(err, where, "writing documents");
      }
      const retry: DocOp[] = [];
      let wait = 0;
      for (let i = 0; i < pending.length; i++) {
        const o = outcomes[i]!;
        const op = pending[i]!;
        if (o.ok) continue;
        if (isTransientStatus(o.status)) {
          retry.push(op);
          wait = Math.max(wait, o.retryAfterMs ?? 0);
        } else if (ROW_STATUSES.has(o.status)) {
          refused.push({ op, outcome: o });
        } else {
          throw cosmosError({ code: o.status, substatus: o.substatus, message: o.message }, where, `writing document id ${JSON.stringify(op.id)}`);
        }
      }
      pending = retry;
      if (pending.length === 0) break;
      if (performance.now() - started > RETRY_BUDGET_MS) {
        throw new TributaryError("SINK_UNAVAILABLE", `Cosmos DB sink ${where.endpoint} container ${where.database}/${where.container}: ${pending.length} document(s) still throttled or unavailable after ${Math.round(RETRY_BUDGET_MS / 1000)} s of retries; the sink restarts from its offset`);
      }
      const delay = wait > 0 ? wait : Math.max(50, backoff(attempt, 200, 5000));
      this.d.log.debug({ container: where.container, documents: pending.length, delay }, "retrying throttled or unavailable documents");
      await sleep(delay);
    }
    if (refused.length) {
      const first = refused.slice(0, 3).map(({ op, outcome }) => `document id ${JSON.stringify(op.id)} (event seq ${op.seqs.join(", ")}): ${outcome.status}${outcome.substatus ? `/${outcome.substatus}` : ""} ${outcome.message ?? ""}`.trim());
      throw new CosmosRowError(`Cosmos DB refused ${refused.length} document(s) in ${where.database}/${where.container}: ${first.join("; ")}`, refused.flatMap((r) => r.op.seqs));
    }
  }
}

/**
 * The container `name`, checked: it exists (or, with `autoCreate`, is created partitioned
 * by `pkPath`) and is partitioned by `pkPath`.
 */
async function ensureContainer(db: Database, name: string, pkPath: string, autoCreate: boolean, where: Where, what: string): Promise<Container> {
  const container = db.container(name);
  let paths: string[] | undefined;
  try {
    paths = (await container.read()).resource?.partitionKey?.paths;
  } catch (err) {
    if (statusOf(err).status !== 404) throw cosmosError(err, where, `reading ${what}`);
    if (!autoCreate) {
      throw new TributaryError("SINK_INVALID", `Cosmos DB sink ${where.endpoint}: ${what} ${where.database}/${name} does not exist (or database ${where.database} does not): create it with partition key ${pkPath}, or set autoCreate: true`);
    }
    try {
      await db.client.databases.createIfNotExists({ id: db.id });
      const r = await db.containers.createIfNotExists({ id: name, partitionKey: { paths: [pkPath], version: 2 } });
      paths = r.resource?.partitionKey?.paths;
    } catch (e) {
      throw cosmosError(e, where, `creating ${what} (autoCreate)`);
    }
  }
  if (!paths || paths.length !== 1 || paths[0] !== pkPath) {
    throw new TributaryError("SINK_INVALID", `Cosmos DB sink ${where.endpoint}: ${what} ${where.database}/${name} is partitioned by ${JSON.stringify(paths ?? [])}, but the sink writes partition key ${pkPath}: fix sinks[].partitionKey or use another container`);
  }
  return container;
}
