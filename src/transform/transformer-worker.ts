/**
 * The transformer actor's work: read CDC_<stream> in order from after the last source
 * event it fully handled, apply the JSONata transformer, publish results to
 * `xf.<stream>.<transformer>.<schema>.<table>` (its own gap-free JetStream stream),
 * send evaluation errors and unreadable events to the DLQ. Its position is the CDC
 * sequence, checkpointed by CAS after the outputs are acked.
 *
 * Speed (docs/performance.md): an output that is the input object itself (identity, or a
 * filter that kept it) is published with the input's bytes, not encoded again; metrics and
 * the checkpoint boundary are updated once per batch, not per event.
 */
import type { TransformerSpec } from "../config/index.js";
import { positionKey } from "../nats/names.js";
import { ensureJetStream } from "../nats/data-plane.js";
import { Checkpointer } from "../runtime/checkpointer.js";
import { EventPublisher } from "../runtime/event-publisher.js";
import { StreamReader, type ConsumedMsg } from "../runtime/stream-consumer.js";
import { sendToDlq } from "../runtime/dlq.js";
import type { WorkDeps } from "../runtime/deps.js";
import type { Work, WorkControl } from "../runtime/work.js";
import { compileTransformer } from "./jsonata-transformer.js";
import { transformBatch, type BatchOutcome } from "./transform-batch.js";

/** Position of a consumer of a JetStream stream: the last sequence fully handled. */
export interface SeqPosition {
  seq: number;
}

/** Fixed-width so that string order is sequence order (EventPublisher compares strings). */
export const seqPos = (seq: number): string => String(seq).padStart(16, "0");

export class TransformerWorker implements Work {
  constructor(private readonly d: WorkDeps, private readonly t: TransformerSpec) {}

  async run(ctl: WorkControl): Promise<void> {
    const { d, t } = this;
    const names = d.cp.names;
    const actor = `transformer-${t.name}`;
    const fn = compileTransformer(t.name, t.jsonata);
    const pool = d.transformPool;
    const fenced = await d.positions.fence<SeqPosition>(positionKey({ kind: "transformer", stream: d.spec.id, name: t.name }), d.lease.epoch);
    const cdc = names.cdcStream(d.spec.id);
    await ensureJetStream(d.nc, { name: cdc, subjects: [names.cdcFilter(d.spec.id)], maxAgeMs: d.spec.maxAge, replicas: d.cfg.nats.replicas });
    const xf = names.xfStream(d.spec.id, t.name);
    await ensureJetStream(d.nc, { name: xf, subjects: [names.xfFilter(d.spec.id, t.name)], maxAgeMs: d.spec.maxAge, replicas: d.cfg.nats.replicas });
    const pub = new EventPublisher(d.nc, { stream: xf, idPrefix: `${d.spec.id}.${t.name}`, epoch: d.lease.epoch });
    const tail = await pub.start();
    // everything up to the last output's source sequence is handled (outputs are a gap-free prefix)
    const handled = Math.max(fenced.position?.seq ?? 0, tail ? Number(tail) : 0);
    const cpr = new Checkpointer<SeqPosition>({
      store: d.positions,
      fenced,
      intervalMs: d.cfg.checkpoint.interval,
      maxEvents: d.cfg.checkpoint.maxEvents,
      onCommitted: (p) => {
        d.metrics.checkpoints.inc({ stream: d.spec.id, actor });
        ctl.progress(p);
      },
    });
    const subjects = new Map<string, string>();
    const subjectOf = (schema: string, table: string): string => {
      const k = `${schema}\u0000${table}`;
      let s = subjects.get(k);
      if (s === undefined) subjects.set(k, (s = names.xfSubject(d.spec.id, t.name, schema, table)));
      return s;
    };
    const reader = new StreamReader(d.nc, { stream: cdc, filter: names.cdcFilter(d.spec.id), fromSeq: handled + 1 });
    await reader.open();
    ctl.ready();
    ctl.progress({ seq: handled });
    d.log.info({ from: handled + 1, epoch: d.lease.epoch }, "transformer started");
    reader.interruptOn(ctl.ended);
    // reads the next batch and evaluates it (in a transform thread when it is large)
    const evaluate = async (): Promise<{ batch: ConsumedMsg[]; res: BatchOutcome }> => {
      const batch = await reader.batch(256, 5, 500);
      if (batch.length === 0) return { batch, res: { items: [] } };
      const datas = batch.map((m) => m.data);
      return { batch, res: pool?.worthIt(batch.length) ? await pool.run(t.name, t.jsonata, datas) : await transformBatch(fn, datas) };
    };
    let ahead: Promise<{ batch: ConsumedMsg[]; res: BatchOutcome }> | undefined;
    try {
      while (!ctl.isStopping()) {
        if (pub.chain.error) throw pub.chain.error;
        const { batch, res } = await (ahead ?? evaluate());
        // the next batch is read and evaluated while this one is published (a failure
        // surfaces when it is awaited; the catch only keeps it from counting as unhandled)
        ahead = ctl.isStopping() ? undefined : evaluate();
        ahead?.catch(() => undefined);
        if (batch.length === 0) {
          await cpr.maybe(pub.acked);
          continue;
        }
        let published = 0;
        let dropped = 0;
        for (let i = 0; i < batch.length; i++) {
          const m = batch[i]!;
          const o = res.items[i]!;
          if (o.kind === "dead") {
            await this.dlq(m, o.message);
          } else if (o.kind === "drop") {
            dropped++;
          } else {
            const enc = { op: o.op, schema: o.schema, table: o.table, keyJson: o.keyJson, json: o.json ?? m.data };
            await pub.publishEncoded(subjectOf(o.schema, o.table), enc, seqPos(m.seq), { "Tributary-Source-Seq": String(m.seq) });
            published++;
          }
        }
        const lastTs = res.lastTs;
        // everything in the batch is handled once the outputs so far are acked
        cpr.boundary(pub.count, { seq: batch[batch.length - 1]!.seq });
        if (published) d.metrics.eventsPublished.inc({ stream: d.spec.id, actor }, published);
        if (dropped) d.metrics.eventsDropped.inc({ stream: d.spec.id, actor, reason: "filter" }, dropped);
        if (lastTs !== undefined) d.metrics.lagSeconds.set({ stream: d.spec.id, actor }, (Date.now() - lastTs) / 1000);
        await cpr.maybe(pub.acked);
      }
      if (ctl.signal.aborted) return;
      await pub.drain();
      await cpr.maybe(pub.acked, true);
    } finally {
      // a batch read ahead is dropped unpublished (the checkpoint never covered it)
      await ahead?.catch(() => undefined);
      if (reader.staleDropped) d.metrics.eventsDropped.inc({ stream: d.spec.id, actor, reason: "stale-epoch" }, reader.staleDropped);
      await reader.close();
      pub.close();
    }
  }

  private async dlq(m: { seq: number; subject: string; headers: Record<string, string>; data: Uint8Array }, error: string): Promise<void> {
    const actor = `transformer-${this.t.name}`;
    this.d.log.warn({ seq: m.seq, subject: m.subject, error }, "event sent to the DLQ");
    this.d.metrics.dlq.inc({ stream: this.d.spec.id, actor });
    await sendToDlq(this.d.nc, this.d.cp.names, { stream: this.d.spec.id, actor, error, subject: m.subject, seq: m.seq, headers: m.headers, data: m.data });
  }
}
