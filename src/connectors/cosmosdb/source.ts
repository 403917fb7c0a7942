/**
 * The Cosmos DB source (the source contract's adapter for the change feed, pull model):
 * one `getChangeFeedIterator` per container, read in turn a page at a time; each page is a
 * batch whose position holds every container's SDK continuation token as it stands after
 * that page. The kernel checkpoints a position only once JetStream acknowledged everything
 * before it (ADR 0007), so a restart resumes without loss. Splits and merges are followed
 * inside the SDK (410/1002: it re-reads the ranges and continues the children from the
 * parent's etag); a throttled read (429) is retried after the service's delay and counted;
 * any other status than 200/304 fails the source with an error naming the container.
 */
import { ChangeFeedMode, ChangeFeedStartFrom, type ChangeFeedPullModelIterator, type Container, type CosmosClient } from "@azure/cosmos";
import { TributaryError, backoff, sleep } from "../../base/index.js";
import type { SourceBatch, SourceChange, SourceConnector, SourceContext, SourceDeps } from "../../core/index.js";
import { cosmosClient, type CosmosOverrides } from "./client.js";
import { cosmosError, isTransientStatus, secretsOf, statusOf, type Where } from "./errors.js";
import { allVersionsEvent, latestVersionEvent, type AvadItem, type ContainerShape, type CosmosChangeEvent } from "./event-builder.js";
import { cosmosMetrics } from "./metrics.js";
import { decodePosition, eventPos, nextGeneration, tokenInfo, type CosmosPosition } from "./position.js";
import type { CosmosSourceSpec } from "./schema.js";

/** Attempts of a read that failed with a transient error other than 429 before the source fails. */
const TRANSIENT_ATTEMPTS = 5;
/** Longest wait on one 429 when the service names no delay (it always does). */
const DEFAULT_THROTTLE_WAIT_MS = 1000;

/** One container being read. */
interface Feed {
  name: string;
  container: Container;
  shape: ContainerShape;
  where: Where;
  /** the last continuation token (undefined until the first page) */
  token: string | undefined;
  iterator: ChangeFeedPullModelIterator<Record<string, unknown>> | undefined;
  /** after a 304: not asked again before this time (performance.now()), however busy the other containers are */
  idleUntil: number;
}

/** One page of a container's change feed. */
interface Page {
  status: 200 | 304;
  items: Array<Record<string, unknown>>;
  token: string;
}

/** The `stream` actor's source for a `type: cosmosdb` source. */
export class CosmosSource implements SourceConnector<CosmosPosition> {
  private client: CosmosClient | undefined;
  private readonly startFrom: "beginning" | "now";

  constructor(
    private readonly spec: CosmosSourceSpec,
    private readonly d: SourceDeps,
    private readonly overrides: CosmosOverrides = {},
  ) {
    this.startFrom = spec.startFrom ?? (spec.mode === "allVersionsAndDeletes" ? "now" : "beginning");
  }

  async *read(ctx: SourceContext<CosmosPosition>): AsyncGenerator<SourceBatch<CosmosPosition>, void> {
    const { spec, d } = this;
    const metrics = cosmosMetrics(d.metrics.registry, d.stream.id, "stream");
    const client = (this.client = cosmosClient({ endpoint: spec.endpoint, auth: spec.auth, metrics, overrides: this.overrides }));
    let checkpoint: CosmosPosition | null;
    try {
      checkpoint = decodePosition(ctx.checkpoint);
    } catch (err) {
      throw new TributaryError("SOURCE_INVALID", `stream ${d.stream.id}: the stored position is not a Cosmos DB position (${(err as Error).message}); re-snapshot the stream to start over`);
    }
    const gen = nextGeneration(checkpoint, ctx.tail);
    let seq = 0;
    const feeds: Feed[] = [];
    for (const name of spec.containers) feeds.push(await this.open(client, name, checkpoint?.containers[name]));
    d.log.info({ containers: spec.containers, mode: spec.mode, startFrom: this.startFrom, resumed: feeds.filter((f) => f.token).map((f) => f.name), gen }, "reading the change feed");
    ctx.ready();

    const position = (): CosmosPosition => {
      const containers: Record<string, string> = {};
      for (const f of feeds) if (f.token !== undefined) containers[f.name] = f.token;
      return { v: 1, gen, containers };
    };
    // a container starting from "now" has no stable start until its first token is durable:
    // a crash before that would start again from a later "now" and lose what came between
    let startPending = feeds.some((f) => f.token === undefined && this.startFrom === "now");
    const startKnown = () => feeds.every((f) => f.token !== undefined);
    let moved = false;
    while (!ctx.signal.aborted) {
      let data = false;
      for (const f of feeds) {
        if (f.idleUntil > performance.now()) continue;
        const page = await this.readPage(f, ctx.signal);
        if (!page) return; // stopped while waiting
        if (page.token !== f.token) moved = true;
        f.token = page.token;
        if (page.status !== 200 || page.items.length === 0) {
          f.idleUntil = performance.now() + spec.pollInterval;
          continue;
        }
        f.idleUntil = 0;
        data = true;
        const changes: SourceChange[] = new Array(page.items.length);
        for (let i = 0; i < page.items.length; i++) changes[i] = this.change(f, page.items[i]!, eventPos(gen, ++seq));
        const durable = startPending && startKnown();
        if (durable) startPending = false;
        moved = false;
        yield durable ? { changes, position: position(), durable } : { changes, position: position() };
        if (ctx.signal.aborted) return;
      }
      if (data) continue;
      if (startPending && startKnown()) {
        startPending = false;
        moved = false;
        yield { changes: [], position: position(), durable: true };
      } else if (moved) {
        // every container answered 304: the new etags are a resume point past the idle stretch
        moved = false;
        yield { changes: [], position: position() };
      }
      // every container is idle: wait for the first one due again
      const due = Math.min(...feeds.map((f) => f.idleUntil)) - performance.now();
      if (due > 0) await sleep(due, ctx.signal);
    }
  }

  async close(): Promise<void> {
    this.client?.dispose();
    this.client = undefined;
  }

  /** Reads a container's definition (its partition key, its `_rid`) and checks the stored token belongs to it. */
  private async open(client: CosmosClient, name: string, token: string | undefined): Promise<Feed> {
    const { spec, d } = this;
    const where: Where = { side: "source", endpoint: spec.endpoint, database: spec.database, container: name, secrets: secretsOf(spec.auth) };
    const container = client.database(spec.database).container(name);
    let resource: { _rid?: string; partitionKey?: { paths?: string[] } } | undefined;
    try {
      resource = (await container.read()).resource;
    } catch (err) {
      if (statusOf(err).status === 404) {
        throw new TributaryError("SOURCE_INVALID", `Cosmos DB source ${where.endpoint}: container ${spec.database}/${name} does not exist (or database ${spec.database} does not): create it or fix source.containers / source.database of stream ${d.stream.id}`);
      }
      throw cosmosError(err, where, "reading the container's definition");
    }
    if (!resource) throw new TributaryError("SOURCE_INVALID", `Cosmos DB source ${where.endpoint}: container ${spec.database}/${name} does not exist`);
    if (token !== undefined) {
      const info = tokenInfo(token);
      if (info && info.rid !== resource._rid) {
        throw new TributaryError("SOURCE_INVALID", `Cosmos DB source ${where.endpoint}: container ${spec.database}/${name} was deleted and created again since stream ${d.stream.id} last read it (its _rid changed): the stored continuation cannot be used. Re-snapshot the stream (POST /v1/streams/${d.stream.id}/snapshot) to read it from the start`);
      }
    }
    const shape: ContainerShape = { stream: d.stream.id, database: spec.database, container: name, pkPaths: resource.partitionKey?.paths ?? [] };
    return { name, container, shape, where, token, iterator: undefined, idleUntil: 0 };
  }

  private iteratorFor(f: Feed): ChangeFeedPullModelIterator<Record<string, unknown>> {
    const from = f.token !== undefined
      ? ChangeFeedStartFrom.Continuation(f.token)
      : this.startFrom === "now" ? ChangeFeedStartFrom.Now() : ChangeFeedStartFrom.Beginning();
    return f.container.items.getChangeFeedIterator<Record<string, unknown>>({
      changeFeedStartFrom: from,
      maxItemCount: this.spec.pageSize,
      ...(this.spec.mode === "allVersionsAndDeletes" ? { changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes } : {}),
    });
  }

  /**
   * The next page of one container; null when stopped while waiting. A 429 is waited out
   * (the service's delay; already counted by the client's plugin) as often as it comes;
   * other transient failures are retried a few times; any other answer than 200/304 fails.
   */
  private async readPage(f: Feed, signal: AbortSignal): Promise<Page | null> {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return null;
      try {
        f.iterator ??= this.iteratorFor(f);
        const r = await f.iterator.readNext();
        if (r.statusCode === 200 || r.statusCode === 304) return { status: r.statusCode, items: r.result ?? [], token: r.continuationToken };
        const sub = r.subStatusCode ? `/${r.subStatusCode}` : "";
        throw new TributaryError("SOURCE_UNAVAILABLE", `Cosmos DB source ${f.where.endpoint} container ${this.spec.database}/${f.name}: reading the change feed: the service answered ${r.statusCode}${sub} (expected 200 or 304); the stream restarts from its last checkpoint`);
      } catch (err) {
        f.iterator = undefined; // the next try starts afresh from the last token
        if (err instanceof TributaryError) throw err;
        const { status, retryAfterMs } = statusOf(err);
        const network = typeof (err as { code?: unknown }).code === "string";
        if (status === 429) {
          this.d.log.debug({ container: f.name, retryAfterMs }, "change feed throttled beyond the SDK's retries; waiting");
          await sleep(retryAfterMs ?? DEFAULT_THROTTLE_WAIT_MS, signal);
          attempt = 0;
          continue;
        }
        if ((isTransientStatus(status) || network) && attempt < TRANSIENT_ATTEMPTS) {
          const wait = retryAfterMs ?? Math.max(100, backoff(attempt, 250, 5000));
          this.d.log.warn({ container: f.name, status, attempt, wait }, "change feed read failed; retrying");
          await sleep(wait, signal);
          continue;
        }
        if (status === 400 && this.spec.mode === "allVersionsAndDeletes" && f.token !== undefined) {
          // the service answers 400 when a continuation is older than the container's change feed retention
          const e = cosmosError(err, f.where, "reading the change feed");
          throw new TributaryError("SOURCE_INVALID", `${e.message}. If the stream was stopped longer than the container's change feed retention (changeFeedPolicy), its position is gone: re-snapshot the stream (POST /v1/streams/${this.d.stream.id}/snapshot) to start from now`);
        }
        throw cosmosError(err, f.where, "reading the change feed");
      }
    }
  }

  private change(f: Feed, item: Record<string, unknown>, pos: string): SourceChange {
    let event: CosmosChangeEvent;
    try {
      event = this.spec.mode === "allVersionsAndDeletes" ? allVersionsEvent(f.shape, item as AvadItem, pos) : latestVersionEvent(f.shape, item, pos);
    } catch (err) {
      throw new TributaryError("SOURCE_INVALID", `Cosmos DB source ${f.where.endpoint}: container ${this.spec.database}/${f.name}: ${(err as Error).message}`);
    }
    return { schema: this.spec.database, table: f.name, op: event.op, pos, event };
  }
}
