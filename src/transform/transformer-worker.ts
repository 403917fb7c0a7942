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
import type { ChangeEvent } from "../events/change-event.js";
import type { TransformerSpec } from "../config/index.js";
import { positionKey } from "../nats/names.js";
import { ensureJetStream } from "../nats/data-plane.js";
import { Checkpointer } from "../runtime/checkpointer.js";
import { EventPublisher } from "../runtime/event-publisher.js";
import { StreamReader } from "../runtime/stream-consumer.js";
import { sendToDlq } from "../runtime/dlq.js";
import type { WorkDeps } from "../runtime/deps.js";
import type { Work, WorkControl } from "../runtime/work.js";
import { compileTransformer } from "./jsonata-transformer.js";

/** Position of a consumer of a JetStream stream: the last sequence fully handled. */
export interface SeqPosition {
  seq: number;
}

/** Fixed-width so that string order is sequence order (EventPublisher compares strings). */
export const seqPos = (seq: number): string => String(seq).padStart(16, "0");

const dec = new TextDecoder();

export class TransformerWorker implements Work {
  constructor(private readonly d: WorkDeps, private readonly t: TransformerSpec) {}

  async run(ctl: WorkControl): Promise<void> {
    const { d, t } = this;
    const names = d.cp.names;
    const actor = `transformer-${t.name}`;
    const fn = compileTransformer(t.name, t.jsonata);
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
    const aborted = new Promise<void>((r) => ctl.signal.addEventListener("abort", () => r(), { once: true }));
    reader.interruptOn(Promise.race([ctl.stopping, aborted]));
    try {
      while (!ctl.isStopping()) {
        if (pub.chain.error) throw pub.chain.error;
        const batch = await reader.batch(256, 5, 500);
        let published = 0;
        let dropped = 0;
        let lastTs: number | undefined;
        for (const m of batch) {
          let ev: ChangeEvent;
          try {
            ev = JSON.parse(dec.decode(m.data)) as ChangeEvent;
          } catch (err) {
            await this.dlq(m, `unreadable event (not JSON): ${(err as Error).message}`);
            continue;
          }
          const r = await fn.apply(ev);
          if (r.kind === "error") {
            await this.dlq(m, r.message);
          } else if (r.kind === "drop") {
            dropped++;
          } else {
            const out = r.value as unknown as ChangeEvent;
            // the input itself (identity, or a filter that let it through): its bytes are the output
            const same = out === ev;
            const schema = typeof out.source?.schema === "string" ? out.source.schema : ev.source.schema;
            const table = typeof out.source?.table === "string" ? out.source.table : ev.source.table;
            if (out.key === undefined) out.key = ev.key;
            if (out.source === undefined) out.source = ev.source;
            await pub.publish(subjectOf(schema, table), out, seqPos(m.seq), { "Tributary-Source-Seq": String(m.seq) }, same ? m.data : undefined);
            published++;
          }
          if (typeof ev.source?.ts_ms === "number") lastTs = ev.source.ts_ms;
        }
        // everything in the batch is handled once the outputs so far are acked
        if (batch.length) cpr.boundary(pub.count, { seq: batch[batch.length - 1]!.seq });
        if (published) d.metrics.eventsPublished.inc({ stream: d.spec.id, actor }, published);
        if (dropped) d.metrics.eventsDropped.inc({ stream: d.spec.id, actor, reason: "filter" }, dropped);
        if (lastTs !== undefined) d.metrics.lagSeconds.set({ stream: d.spec.id, actor }, (Date.now() - lastTs) / 1000);
        await cpr.maybe(pub.acked);
      }
      if (ctl.signal.aborted) return;
      await pub.drain();
      await cpr.maybe(pub.acked, true);
    } finally {
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
