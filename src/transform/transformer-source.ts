/**
 * A transformer is a source on the kernel (ADR 0007): its input is the stream's CDC_<stream>
 * JetStream stream, read in order from after the last source event it fully handled; each
 * batch is evaluated by the JSONata transformer and its outputs become the batch's changes
 * (published by the kernel to `xf.<stream>.<transformer>.<schema>.<table>`, its own
 * gap-free stream). Evaluation errors and unreadable events go to the DLQ before their
 * batch is handed over, so the checkpoint never moves past an event that was neither
 * published nor dead-lettered. Its position is the CDC sequence.
 *
 * One batch ahead (ADR 0006): the next batch is read and evaluated (in a transform thread
 * when it is large) while the kernel publishes the current one; a batch read ahead and
 * not yet handed over is dropped at a stop, since no checkpoint covers it.
 *
 * Bounds (ADR 0011): every event is evaluated within the transformer's time and depth
 * limits; an event over one is dead-lettered with the reason, and `failAfter` such events
 * in a row fail the actor with a non-retryable error naming the transformer (its node and
 * other actors carry on). After the first one — and from the start for an expression with a
 * regular expression or `$eval` — every batch of the transformer goes to a transform
 * thread, where the pool's watchdog can stop what JSONata's limits cannot (the event it
 * stopped is dead-lettered and the rest of its batch evaluated again).
 *
 * Speed (docs/performance.md): an output that is the input object itself (identity, or a
 * filter that kept it) is published with the input's bytes, not encoded again; metrics and
 * the resume point are per batch, not per event.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { StreamReader, type ConsumedMsg, type KernelSettings, type SourceBatch, type SourceChange, type SourceConnector, type SourceContext, type StreamIdentity } from "../core/index.js";
import type { Metrics } from "../metrics/index.js";
import { TributaryError } from "../base/index.js";
import { ensureJetStream, sendToDlq, type DeadLetterReason, type Names } from "../nats/index.js";
import { compileTransformer, mayBlock, type EvalLimits } from "./jsonata-transformer.js";
import type { TransformerSpec } from "./schema.js";
import { transformBatch, type BatchOutcome, type Outcome } from "./transform-batch.js";
import { RunawayEvaluation, type TransformPool } from "./transform-pool.js";

/** Position of a consumer of a JetStream stream: the last sequence fully handled. */
export interface SeqPosition {
  seq: number;
}

/** Fixed-width so that string order is sequence order (the kernel's tail check compares strings). */
const seqPos = (seq: number): string => String(seq).padStart(16, "0");

/** What a transformer source is built with. */
export interface TransformerSourceDeps {
  nc: NatsConnection;
  names: Names;
  settings: KernelSettings;
  stream: StreamIdentity;
  log: Logger;
  metrics: Metrics;
  /** the node's transform threads (large batches are evaluated there); none: evaluate in place */
  pool?: TransformPool;
  /** name prefix of its ordered consumer (readable in `nats consumer ls`) */
  consumerName?: string;
}

interface Evaluated {
  batch: ConsumedMsg[];
  res: BatchOutcome;
}

/** Resolves when `signal` aborts (at once if it has). */
function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}

/** The transformer actor's source: CDC events in, transformed events out (see the module comment). */
export class TransformerSource implements SourceConnector<SeqPosition> {
  private reader: StreamReader | undefined;

  constructor(private readonly t: TransformerSpec, private readonly d: TransformerSourceDeps) {}

  async *read(ctx: SourceContext<SeqPosition>): AsyncGenerator<SourceBatch<SeqPosition>, void> {
    const { d, t } = this;
    const names = d.names;
    const stream = d.stream.id;
    const actor = `transformer-${t.name}`;
    const limits: EvalLimits = { timeMs: t.timeLimit, depth: t.depthLimit };
    const fn = compileTransformer(t.name, t.jsonata, limits);
    const pool = d.pool;
    // it can block where JSONata's limits do not reach, or an event went over a limit:
    // evaluate in a thread (the watchdog's reach)
    let suspect = mayBlock(t.jsonata);
    const cdc = names.cdcStream(stream);
    await ensureJetStream(d.nc, { name: cdc, subjects: [names.cdcFilter(stream)], maxAgeMs: d.stream.maxAge, replicas: d.settings.replicas });
    // everything up to the last output's source sequence is handled (outputs are a gap-free prefix)
    const handled = Math.max(ctx.checkpoint?.seq ?? 0, ctx.tail ? Number(ctx.tail) : 0);
    const reader = (this.reader = new StreamReader(d.nc, { stream: cdc, filter: names.cdcFilter(stream), fromSeq: handled + 1, ...(d.consumerName ? { name: d.consumerName } : {}) }));
    await reader.open();
    ctx.ready();
    d.log.info({ from: handled + 1 }, "transformer started");
    reader.interruptOn(whenAborted(ctx.signal));
    // evaluates in a thread; an event the watchdog stopped is dead, the others are evaluated again
    let runaways = 0;
    const inThread = async (p: TransformPool, datas: Uint8Array[]): Promise<BatchOutcome> => {
      try {
        return await p.run(t.name, t.jsonata, datas, limits);
      } catch (err) {
        if (!(err instanceof RunawayEvaluation)) throw err;
        suspect = true;
        d.log.warn({ err, transformer: t.name }, "transform thread terminated: an evaluation ran past its time limit");
        if (++runaways >= t.failAfter) throw overLimits(runaways, err.message);
        const head = err.index > 0 ? await inThread(p, datas.slice(0, err.index)) : { items: [] };
        const dead: Outcome = { kind: "dead", reason: "limit", message: err.message };
        const rest = err.index + 1 < datas.length ? await inThread(p, datas.slice(err.index + 1)) : { items: [] };
        return { items: [...head.items, dead, ...rest.items], lastTs: rest.lastTs ?? head.lastTs };
      }
    };
    // reads the next batch and evaluates it (in a transform thread when it is large or the transformer suspect)
    const evaluate = async (): Promise<Evaluated> => {
      const batch = await reader.batch(256, 5, 500);
      if (batch.length === 0) return { batch, res: { items: [] } };
      const datas = batch.map((m) => m.data);
      runaways = 0;
      return { batch, res: pool?.available && (suspect || pool.worthIt(batch.length)) ? await inThread(pool, datas) : await transformBatch(fn, datas) };
    };
    const overLimits = (n: number, last: string): TributaryError => {
      const err = new TributaryError(
        "TRANSFORM_FAILED",
        `transformer ${t.name} of stream ${stream}: ${n} consecutive events went over its evaluation limits (timeLimit ${t.timeLimit} ms, depthLimit ${t.depthLimit}); fix the expression or raise the limits. Last: ${last}`,
        { retryable: false },
      );
      d.log.error({ err, transformer: t.name }, "transformer stopped: its expression keeps going over its limits");
      return err;
    };
    // events over a limit in a row (across batches)
    let streak = 0;
    let ahead: Promise<Evaluated> | undefined;
    try {
      while (!ctx.signal.aborted) {
        const { batch, res } = await (ahead ?? evaluate());
        // the next batch is read and evaluated while this one is published (a failure
        // surfaces when it is awaited; the catch only keeps it from counting as unhandled)
        ahead = ctx.signal.aborted ? undefined : evaluate();
        ahead?.catch(() => undefined);
        if (batch.length === 0) continue;
        const changes: SourceChange[] = [];
        let dropped = 0;
        for (let i = 0; i < batch.length; i++) {
          const m = batch[i]!;
          const o = res.items[i]!;
          if (o.kind === "dead") {
            await this.dlq(m, o.message, o.reason);
            if (o.reason !== "limit") streak = 0;
            else {
              suspect = true;
              if (++streak >= t.failAfter) throw overLimits(streak, o.message);
            }
            continue;
          }
          streak = 0;
          if (o.kind === "drop") dropped++;
          else changes.push({ schema: o.schema, table: o.table, op: o.op, pos: seqPos(m.seq), keyJson: o.keyJson, json: o.json ?? m.data, headers: { "Tributary-Source-Seq": String(m.seq) } });
        }
        if (dropped) d.metrics.eventsDropped.inc({ stream, actor, reason: "filter" }, dropped);
        if (res.lastTs !== undefined) d.metrics.lagSeconds.set({ stream, actor }, (Date.now() - res.lastTs) / 1000);
        // everything in the batch is handled once its outputs are acknowledged
        yield { changes, position: { seq: batch[batch.length - 1]!.seq } };
      }
    } finally {
      // a batch read ahead is dropped unhanded (the checkpoint never covered it)
      await ahead?.catch(() => undefined);
      if (reader.staleDropped) d.metrics.eventsDropped.inc({ stream, actor, reason: "stale-epoch" }, reader.staleDropped);
      await reader.close();
    }
  }

  async close(): Promise<void> {
    await this.reader?.close();
  }

  private async dlq(m: ConsumedMsg, error: string, reason: DeadLetterReason): Promise<void> {
    const actor = `transformer-${this.t.name}`;
    const stream = this.d.stream.id;
    this.d.log.warn({ seq: m.seq, subject: m.subject, error, reason }, "event sent to the DLQ");
    this.d.metrics.dlq.inc({ stream, actor });
    await sendToDlq(this.d.nc, this.d.names, { stream, actor, error, reason, subject: m.subject, seq: m.seq, headers: m.headers, data: m.data });
  }
}
