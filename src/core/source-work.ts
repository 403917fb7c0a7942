/**
 * The kernel loop every writer of a JetStream stream runs on — the PostgreSQL, MySQL and
 * generator readers and the transformers (ADR 0007). Written once:
 *
 * 1. fence the position key with the lease epoch (a stale owner's next checkpoint fails);
 *    readers announce "start" on the probe subject;
 * 2. make sure the output stream exists and open the gap-free publisher at its tail;
 * 3. pull batches from the source and publish them in order (events at or before the
 *    tail are skipped: a restart never re-appends), recording a boundary (published count,
 *    position) per batch position; the publisher's window is the flow control; a change
 *    larger than NATS max_payload goes to the DLQ with its key, table and position (not
 *    its data: the row can be read again) before the batch's position can be checkpointed;
 * 4. checkpoint the newest fully-acknowledged boundary, debounced by time and count (also
 *    from a ticker while the source is idle, which also surfaces publisher failures), and
 *    only then tell the source it is durable (`commit`: PostgreSQL acknowledges its LSN);
 *    readers announce "active" after each checkpoint;
 * 5. graceful stop: stop pulling, await every acknowledgement, final checkpoint, "stop";
 *    abort (ownership lost): stop at once and write nothing; failure: surface the first.
 */
import { toTributaryError, type ErrorCode } from "../base/index.js";
import { ensureJetStream, positionKey, sendToDlq, type ActorRef } from "../nats/index.js";
import { Checkpointer } from "./checkpointer.js";
import type { KernelDeps } from "./deps.js";
import { EventPublisher, Oversized } from "./event-publisher.js";
import type { SourceBatch, SourceChange, SourceConnector } from "./source.js";
import { FailLatch, type Work, type WorkControl } from "./work.js";

/** Which kind of writer runs: a stream's reader, or one of its transformers. */
export type WriterRole = { kind: "stream" } | { kind: "transformer"; name: string };

/** What the kernel runs. */
export interface SourceWorkOptions<P> {
  deps: KernelDeps;
  role: WriterRole;
  /** the source for this lease (built by the composition root through the registry) */
  connector: SourceConnector<P>;
}

/** Where a writer publishes and checkpoints, and how it is labelled. */
interface Output {
  ref: ActorRef;
  stream: string;
  filter: string;
  idPrefix: string;
  subject: (schema: string, table: string) => string;
  /** the `actor` label of its metrics */
  actor: string;
  /** readers announce start/active/stop and count events read */
  reader: boolean;
  /** error code for foreign failures of its source */
  fallback: ErrorCode;
}

function outputOf(d: KernelDeps, role: WriterRole): Output {
  const id = d.stream.id;
  const n = d.names;
  if (role.kind === "stream") {
    return {
      ref: { kind: "stream", stream: id },
      stream: n.cdcStream(id),
      filter: n.cdcFilter(id),
      idPrefix: id,
      subject: (schema, table) => n.cdcSubject(id, schema, table),
      actor: "stream",
      reader: true,
      fallback: "SOURCE_UNAVAILABLE",
    };
  }
  return {
    ref: { kind: "transformer", stream: id, name: role.name },
    stream: n.xfStream(id, role.name),
    filter: n.xfFilter(id, role.name),
    idPrefix: `${id}.${role.name}`,
    subject: (schema, table) => n.xfSubject(id, role.name, schema, table),
    actor: `transformer-${role.name}`,
    reader: false,
    fallback: "INTERNAL",
  };
}

/**
 * Resolves in the event loop's check phase: after the chain publisher's flush of what was
 * just published, and after the pending I/O (publish acks, the source's socket). Without
 * it, a source with batches ready would keep the kernel in one run of microtasks until the
 * publish window is full, and the pipeline would move in window-sized bursts.
 */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Subjects by (schema, table), with the last one remembered: batches are mostly runs of one table. */
class SubjectCache {
  private readonly bySchema = new Map<string, Map<string, string>>();
  private lastSchema: string | undefined;
  private lastTable: string | undefined;
  private last = "";
  constructor(private readonly make: (schema: string, table: string) => string) {}
  get(schema: string, table: string): string {
    if (schema === this.lastSchema && table === this.lastTable) return this.last;
    let tables = this.bySchema.get(schema);
    if (!tables) this.bySchema.set(schema, (tables = new Map()));
    let s = tables.get(table);
    if (s === undefined) tables.set(table, (s = this.make(schema, table)));
    this.lastSchema = schema;
    this.lastTable = table;
    this.last = s;
    return s;
  }
}

/** The largest key a dead letter of an oversized change carries whole (a longer one is cut). */
const DLQ_KEY_CHARS = 16_384;

/**
 * Dead-letters a change larger than the server's max_payload: its key, table, op and
 * position (the row itself stays in the source), and counts it.
 */
async function deadLetterOversized(d: KernelDeps, out: Output, subject: string, c: SourceChange, o: Oversized): Promise<void> {
  const stream = d.stream.id;
  const key = o.keyJson.length > DLQ_KEY_CHARS ? `${o.keyJson.slice(0, DLQ_KEY_CHARS)}...` : o.keyJson;
  const error = `event of ${c.schema}.${c.table} at position ${c.pos} is ${o.size} bytes, over the NATS max_payload of ${o.limit} bytes; not published (the row can be read again from the source)`;
  d.log.warn({ table: `${c.schema}.${c.table}`, key, pos: c.pos, size: o.size, limit: o.limit }, "oversized event sent to the DLQ");
  const summary = { reason: "oversized", size: o.size, limit: o.limit, schema: c.schema, table: c.table, op: c.op, pos: c.pos, key: o.keyJson.length > DLQ_KEY_CHARS ? key : (JSON.parse(o.keyJson) as unknown) };
  const headers: Record<string, string> = { "Tributary-Op": c.op, "Tributary-Table": `${c.schema}.${c.table}`, "Tributary-Key": key.length > 512 ? `${key.slice(0, 509)}...` : key, "Tributary-Pos": c.pos, ...c.headers };
  await sendToDlq(d.nc, d.names, { stream, actor: out.actor, error, reason: "oversized", subject, pos: c.pos, headers, data: Buffer.from(JSON.stringify(summary)) });
  d.metrics.eventsOversized.inc({ stream, actor: out.actor });
  d.metrics.dlq.inc({ stream, actor: out.actor });
}

/** The Work that runs `o.connector` on the kernel (see the module comment). */
export function sourceWork<P>(o: SourceWorkOptions<P>): Work {
  return { run: (ctl) => runSource(o, ctl) };
}

async function runSource<P>(o: SourceWorkOptions<P>, ctl: WorkControl): Promise<void> {
  const { deps: d, connector } = o;
  const out = outputOf(d, o.role);
  const stream = d.stream.id;
  // the source's signal: a stop request, an abort, or a failure of the kernel's background parts
  const end = new AbortController();
  const latch = new FailLatch(() => end.abort());
  void ctl.ended.then(() => end.abort());
  let pub: EventPublisher | undefined;
  let iter: AsyncIterator<SourceBatch<P>> | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    const fenced = await d.positions.fence<P>(positionKey(out.ref), d.epoch);
    if (out.reader) d.probe("start", fenced.position);
    await ensureJetStream(d.nc, { name: out.stream, subjects: [out.filter], maxAgeMs: d.stream.maxAge, replicas: d.settings.replicas });
    const p = (pub = new EventPublisher(d.nc, { stream: out.stream, idPrefix: out.idPrefix, epoch: d.epoch }));
    const tail = await p.start();
    const published = d.metrics.eventsPublished.labels(stream, out.actor);
    let counted = 0;
    const countAcked = () => {
      if (p.acked > counted) published.inc(p.acked - counted);
      counted = p.acked;
    };
    const cpr = new Checkpointer<P>({
      store: d.positions,
      fenced,
      intervalMs: d.settings.checkpoint.interval,
      maxEvents: d.settings.checkpoint.maxEvents,
      onCommitted: async (position, at) => {
        d.metrics.checkpoints.inc({ stream, actor: out.actor });
        ctl.progress(position);
        if (out.reader) d.probe("active", position, at);
        await connector.commit?.(position);
      },
    });
    d.log.info({ epoch: d.epoch, checkpoint: fenced.position, tail }, `${out.reader ? "reader" : out.actor} fenced its position; starting`);
    if (fenced.position !== null) ctl.progress(fenced.position);
    ticker = setInterval(() => {
      if (latch.halted) return;
      countAcked();
      if (p.chain.error) return latch.fail(p.chain.error);
      cpr.maybe(p.acked).catch(latch.fail);
    }, Math.max(50, Math.min(1000, d.settings.checkpoint.interval)));

    iter = connector
      .read({
        checkpoint: fenced.position,
        tail,
        signal: end.signal,
        ready: () => ctl.ready(),
        settled: () => cpr.idle && p.acked === p.count,
      })
      [Symbol.asyncIterator]();
    const subjects = new SubjectCache(out.subject);
    const read = out.reader ? d.metrics.eventsRead.labels(stream) : undefined;
    let skipLogged = false;
    for (;;) {
      const r = await iter.next();
      if (r.done || ctl.signal.aborted || latch.failed) break;
      const b = r.value;
      const changes = b.changes;
      let n = 0;
      for (let i = 0; i < changes.length; i++) {
        const c = changes[i]!;
        const subject = subjects.get(c.schema, c.table);
        const sent = p.publishChange(subject, c);
        // a promise only when the publish window is full: that wait is the flow control
        if (sent === true) n++;
        else if (sent instanceof Oversized) await deadLetterOversized(d, out, subject, c, sent);
        else if (sent !== false && (await sent)) n++;
      }
      if (read && n) read.inc(n);
      if (changes.length) await nextTurn();
      if (ctl.signal.aborted || latch.failed) break;
      if (!skipLogged && p.skipped > 0) {
        skipLogged = true;
        d.log.info({ tail }, "replaying events the stream already holds; skipping them");
      }
      if (b.position === undefined) continue;
      cpr.boundary(p.count, b.position);
      if (b.durable) {
        // nothing is pulled before this position is written (a snapshot's start, its end)
        await p.drain();
        if (ctl.signal.aborted) break;
        await cpr.maybe(p.acked, true);
      } else {
        await cpr.maybe(p.acked);
      }
      countAcked();
    }
    if (latch.failed) throw latch.error;
    if (ctl.signal.aborted) return;
    // graceful (or the source ended by itself, which the work adapter reports as a failure):
    // stop intake, await acks, final checkpoint (which commits to the source), announce
    latch.halted = true;
    await p.drain();
    await cpr.maybe(p.acked, true);
    countAcked();
    d.log.info({ position: cpr.committed }, `${out.reader ? "reader" : out.actor} stopped gracefully`);
    if (out.reader) d.probe("stop", cpr.committed);
  } catch (err) {
    if (ctl.signal.aborted) return; // ownership is gone: nothing to report, nothing written
    throw toTributaryError(latch.error ?? err, out.fallback);
  } finally {
    latch.halted = true;
    clearInterval(ticker);
    end.abort();
    await iter?.return?.(undefined).catch(() => undefined);
    pub?.close();
    await connector.close().catch((err: unknown) => d.log.warn({ err }, "closing the source failed"));
  }
}
