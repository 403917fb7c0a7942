/**
 * The sink actor's work, for any target: read the sink's input (raw CDC_<stream> or a
 * transformer's XF stream) in order from after the sequence the TARGET says it applied,
 * apply batches in one transaction each (the writer stores the sequence and our lease
 * epoch in the same transaction: exactly-once effect, fenced against stale owners), then
 * CAS the position bucket for operators. A row the target refuses (data or constraint
 * error) goes to the DLQ alone, after the batch is retried record by record; a schema
 * problem (missing table, no key) stops the sink with a clear error, losing nothing.
 */
import type { ChangeEvent } from "../events/change-event.js";
import type { SinkSpec } from "../config/index.js";
import { TributaryError, toTributaryError } from "../errors.js";
import { positionKey } from "../nats/names.js";
import { ensureJetStream } from "../nats/data-plane.js";
import { Checkpointer } from "./checkpointer.js";
import { StreamReader, type ConsumedMsg } from "./stream-consumer.js";
import { sendToDlq } from "./dlq.js";
import type { WorkDeps } from "./deps.js";
import type { Work, WorkControl } from "./work.js";

/** One record for a sink writer: the input's stream sequence and the event. */
export interface SinkRecord {
  seq: number;
  event: ChangeEvent;
}

/** What every sink target implements (one result per batch; throws TributaryError). */
export interface SinkWriter {
  readCheckpoint(): Promise<{ seq: number; epoch: number }>;
  applyBatch(records: readonly SinkRecord[], checkpoint: { seq: number; epoch: number }): Promise<void>;
  close(): Promise<void>;
}

export type OpenSinkWriter = (spec: SinkSpec, sinkId: string, d: WorkDeps) => Promise<SinkWriter>;

const dec = new TextDecoder();

/** True for errors caused by one record's data (SQLSTATE class 22/23): dead-letter that record. */
function isRowError(err: unknown): boolean {
  const e = err as { sqlState?: string; retryable?: boolean; code?: string };
  return e?.retryable === false && e.code !== "FENCED" && typeof e.sqlState === "string" && /^(22|23)/.test(e.sqlState);
}

export class SinkWorker implements Work {
  private readonly actor: string;

  constructor(private readonly d: WorkDeps, private readonly s: SinkSpec, private readonly open: OpenSinkWriter) {
    this.actor = `sink-${s.name}`;
  }

  async run(ctl: WorkControl): Promise<void> {
    const { d, s } = this;
    const names = d.cp.names;
    const fenced = await d.positions.fence<{ seq: number }>(positionKey({ kind: "sink", stream: d.spec.id, name: s.name }), d.lease.epoch);
    const input = s.from
      ? { stream: names.xfStream(d.spec.id, s.from), filter: names.xfFilter(d.spec.id, s.from) }
      : { stream: names.cdcStream(d.spec.id), filter: names.cdcFilter(d.spec.id) };
    await ensureJetStream(d.nc, { name: input.stream, subjects: [input.filter], maxAgeMs: d.spec.maxAge, replicas: d.cfg.nats.replicas });
    const writer = await this.open(s, `${d.spec.id}.${s.name}`, d);
    let reader: StreamReader | undefined;
    try {
      const applied = await writer.readCheckpoint();
      const cpr = new Checkpointer<{ seq: number }>({
        store: d.positions,
        fenced,
        intervalMs: d.cfg.checkpoint.interval,
        maxEvents: d.cfg.checkpoint.maxEvents,
        onCommitted: (p) => {
          d.metrics.checkpoints.inc({ stream: d.spec.id, actor: this.actor });
          ctl.progress(p);
        },
      });
      reader = new StreamReader(d.nc, { stream: input.stream, filter: input.filter, fromSeq: applied.seq + 1, buffer: Math.max(256, s.batchMaxRows) });
      await reader.open();
      ctl.ready();
      ctl.progress({ seq: applied.seq });
      d.log.info({ from: applied.seq + 1, input: input.stream, epoch: d.lease.epoch }, "sink started");
      reader.interruptOn(ctl.ended);
      while (!ctl.isStopping()) {
        const batch = await reader.batch(s.batchMaxRows, s.batchMaxWait, 500);
        if (batch.length === 0 || ctl.signal.aborted) continue;
        const records: SinkRecord[] = [];
        for (const m of batch) {
          try {
            records.push({ seq: m.seq, event: JSON.parse(dec.decode(m.data)) as ChangeEvent });
          } catch (err) {
            await this.dlq(m, `unreadable event (not JSON): ${(err as Error).message}`);
          }
        }
        const last = batch[batch.length - 1]!.seq;
        await this.apply(writer, records, batch, last);
        cpr.boundary(last, { seq: last });
        await cpr.maybe(last);
        const ts = records[records.length - 1]?.event.source?.ts_ms;
        if (typeof ts === "number") d.metrics.lagSeconds.set({ stream: d.spec.id, actor: this.actor }, (Date.now() - ts) / 1000);
      }
      if (!ctl.signal.aborted) await cpr.maybe(Number.MAX_SAFE_INTEGER, true);
    } finally {
      if (reader?.staleDropped) d.metrics.eventsDropped.inc({ stream: d.spec.id, actor: this.actor, reason: "stale-epoch" }, reader.staleDropped);
      await reader?.close();
      await writer.close();
    }
  }

  /** One transaction for the batch; on a row-level refusal, record by record with the culprits dead-lettered. */
  private async apply(writer: SinkWriter, records: SinkRecord[], batch: ConsumedMsg[], last: number): Promise<void> {
    const { d } = this;
    const epoch = d.lease.epoch;
    const t0 = performance.now();
    try {
      await writer.applyBatch(records, { seq: last, epoch });
    } catch (err) {
      if (!isRowError(err)) throw toTributaryError(err, "SINK_UNAVAILABLE");
      d.log.warn({ err: (err as Error).message }, "batch refused by the target; applying record by record to isolate the poison rows");
      const bySeq = new Map(batch.map((m) => [m.seq, m]));
      for (const r of records) {
        try {
          await writer.applyBatch([r], { seq: r.seq, epoch });
        } catch (e) {
          if (!isRowError(e)) throw toTributaryError(e, "SINK_UNAVAILABLE");
          await this.dlq(bySeq.get(r.seq)!, (e as Error).message);
          await writer.applyBatch([], { seq: r.seq, epoch }); // move the target's checkpoint past it
        }
      }
      await writer.applyBatch([], { seq: last, epoch });
    }
    d.metrics.batchSeconds.observe({ stream: d.spec.id, actor: this.actor }, (performance.now() - t0) / 1000);
    d.metrics.eventsApplied.inc({ stream: d.spec.id, actor: this.actor }, records.length);
  }

  private async dlq(m: ConsumedMsg, error: string): Promise<void> {
    this.d.log.warn({ seq: m.seq, subject: m.subject, error }, "event sent to the DLQ");
    this.d.metrics.dlq.inc({ stream: this.d.spec.id, actor: this.actor });
    await sendToDlq(this.d.nc, this.d.cp.names, { stream: this.d.spec.id, actor: this.actor, error, subject: m.subject, seq: m.seq, headers: m.headers, data: m.data });
  }
}

/** Guards against using a sink type no writer is registered for. */
export function unknownSink(type: string): never {
  throw new TributaryError("CONFIG_INVALID", `unknown sink type "${type}"`);
}
