/**
 * The sink kernel, for any target (ADR 0005, 0007): read the sink's input (the raw
 * CDC_<stream> or a transformer's XF stream) in order from after the sequence the TARGET
 * says it applied, hand each batch to the connector to apply in one transaction with the
 * offset (the connector's `checkOffset` fences stale owners by epoch), then CAS the
 * positions bucket for operators. A record the target refuses for its data goes to the DLQ
 * alone, after the batch is retried record by record; an unreadable event, and one the
 * sink cannot apply (sink-input.ts: e.g. an upsert without `after`), goes to the DLQ with
 * the reason before anything is applied; other failures (schema problems, lost connections) stop the
 * work with a clear error, losing nothing.
 */
import { toTributaryError } from "../base/index.js";
import type { ChangeEvent } from "../events/index.js";
import { consumerName, ensureJetStream, positionKey, sendToDlq, type DeadLetterReason } from "../nats/index.js";
import { Checkpointer } from "./checkpointer.js";
import type { SinkRecord } from "./coalesce.js";
import type { KernelDeps } from "./deps.js";
import { malformedReason } from "./sink-input.js";
import { sinkBatch, type SinkConnector } from "./sink.js";
import { StreamReader, type ConsumedMsg } from "./stream-consumer.js";
import type { Work, WorkControl } from "./work.js";

/** The sink settings the kernel reads. */
export interface SinkSettings {
  name: string;
  /** transformer whose output the sink consumes; undefined: the raw change events */
  from?: string;
  /** largest batch applied in one transaction */
  batchMaxRows: number;
  /** longest a partial batch waits (ms) */
  batchMaxWait: number;
}

/** What the sink kernel runs. */
export interface SinkWorkOptions {
  deps: KernelDeps;
  sink: SinkSettings;
  /** opens the connector for this lease (connects to the target) */
  open(): Promise<SinkConnector>;
}

const dec = new TextDecoder();

/** The Work that runs a sink connector on the kernel (see the module comment). */
export function sinkWork(o: SinkWorkOptions): Work {
  return { run: (ctl) => runSink(o, ctl) };
}

async function runSink(o: SinkWorkOptions, ctl: WorkControl): Promise<void> {
  const { deps: d, sink: s } = o;
  const names = d.names;
  const stream = d.stream.id;
  const actor = `sink-${s.name}`;
  const ref = { kind: "sink", stream, name: s.name } as const;
  const fenced = await d.positions.fence<{ seq: number }>(positionKey(ref), d.epoch);
  const input = s.from
    ? { stream: names.xfStream(stream, s.from), filter: names.xfFilter(stream, s.from) }
    : { stream: names.cdcStream(stream), filter: names.cdcFilter(stream) };
  await ensureJetStream(d.nc, { name: input.stream, subjects: [input.filter], maxAgeMs: d.stream.maxAge, replicas: d.settings.replicas });
  const connector = await o.open();
  const target = (src: { schema: string; table: string }) => connector.target(src);
  let reader: StreamReader | undefined;

  const dlq = async (m: ConsumedMsg, error: string, reason: DeadLetterReason): Promise<void> => {
    d.log.warn({ seq: m.seq, subject: m.subject, error, reason }, "event sent to the DLQ");
    d.metrics.dlq.inc({ stream, actor });
    await sendToDlq(d.nc, names, { stream, actor, error, reason, subject: m.subject, seq: m.seq, headers: m.headers, data: m.data });
  };

  /** One transaction for the batch; on a row-level refusal, record by record with the culprits dead-lettered. */
  const apply = async (records: SinkRecord[], batch: ConsumedMsg[], last: number): Promise<void> => {
    const epoch = d.epoch;
    const t0 = performance.now();
    try {
      await connector.apply(sinkBatch(records, target), { seq: last, epoch });
    } catch (err) {
      if (!connector.isRowError(err)) throw toTributaryError(err, "SINK_UNAVAILABLE");
      d.log.warn({ err }, "batch refused by the target; applying record by record to isolate the poison rows");
      const bySeq = new Map(batch.map((m) => [m.seq, m]));
      for (const r of records) {
        try {
          await connector.apply(sinkBatch([r], target), { seq: r.seq, epoch });
        } catch (e) {
          if (!connector.isRowError(e)) throw toTributaryError(e, "SINK_UNAVAILABLE");
          await dlq(bySeq.get(r.seq)!, (e as Error).message, "refused");
          await connector.apply(sinkBatch([], target), { seq: r.seq, epoch }); // move the target's offset past it
        }
      }
      await connector.apply(sinkBatch([], target), { seq: last, epoch });
    }
    d.metrics.batchSeconds.observe({ stream, actor }, (performance.now() - t0) / 1000);
    d.metrics.eventsApplied.inc({ stream, actor }, records.length);
  };

  try {
    const applied = await connector.readOffset();
    const cpr = new Checkpointer<{ seq: number }>({
      store: d.positions,
      fenced,
      intervalMs: d.settings.checkpoint.interval,
      maxEvents: d.settings.checkpoint.maxEvents,
      onCommitted: (p) => {
        d.metrics.checkpoints.inc({ stream, actor });
        ctl.progress(p);
      },
    });
    // the target is the truth (ADR 0005): the positions bucket shows it from the start, so an
    // operator never reads a stale or empty position while the sink is idle
    if (fenced.position?.seq !== applied.seq) await cpr.write({ seq: applied.seq });
    reader = new StreamReader(d.nc, { stream: input.stream, filter: input.filter, fromSeq: applied.seq + 1, buffer: Math.max(256, s.batchMaxRows), name: consumerName(ref, d.epoch) });
    await reader.open();
    ctl.ready();
    ctl.progress({ seq: applied.seq });
    d.log.info({ from: applied.seq + 1, input: input.stream, epoch: d.epoch }, "sink started");
    reader.interruptOn(ctl.ended);
    // an idle wait short against the checkpoint interval: a batch applied just after a
    // checkpoint reaches the positions bucket about one interval later, busy or idle
    const idleMs = Math.max(50, Math.min(500, Math.floor(d.settings.checkpoint.interval / 4)));
    let lastApplied = applied.seq;
    while (!ctl.isStopping()) {
      const batch = await reader.batch(s.batchMaxRows, s.batchMaxWait, idleMs);
      if (ctl.signal.aborted) continue;
      if (batch.length === 0) {
        // idle: write the position the debounce held back (the target already has it)
        await cpr.maybe(lastApplied);
        continue;
      }
      const records: SinkRecord[] = [];
      for (const m of batch) {
        let event: unknown;
        try {
          event = JSON.parse(dec.decode(m.data));
        } catch (err) {
          await dlq(m, `unreadable event (not JSON): ${(err as Error).message}`, "unreadable");
          continue;
        }
        const malformed = malformedReason(event);
        if (malformed) await dlq(m, `sink ${s.name} cannot apply event seq ${m.seq}: ${malformed}`, "malformed");
        else records.push({ seq: m.seq, event: event as ChangeEvent });
      }
      const last = batch[batch.length - 1]!.seq;
      await apply(records, batch, last);
      lastApplied = last;
      cpr.boundary(last, { seq: last });
      await cpr.maybe(last);
      const ts = records[records.length - 1]?.event.source?.ts_ms;
      if (typeof ts === "number") d.metrics.lagSeconds.set({ stream, actor }, (Date.now() - ts) / 1000);
    }
    if (!ctl.signal.aborted) await cpr.maybe(Number.MAX_SAFE_INTEGER, true);
  } finally {
    if (reader?.staleDropped) d.metrics.eventsDropped.inc({ stream, actor, reason: "stale-epoch" }, reader.staleDropped);
    await reader?.close();
    await connector.close();
  }
}
