/**
 * What every stream reader (PostgreSQL, MySQL, generator) does before it reads: fence its
 * position key with the lease epoch, announce itself on the probe subject, make sure its
 * CDC JetStream stream exists, open the gap-free publisher at the stream's tail, and set up
 * the low-watermark checkpointer (which reports progress, metrics and probes, then calls the
 * source-specific `onCommitted`, e.g. to acknowledge the LSN to PostgreSQL).
 */
import { positionKey } from "../nats/names.js";
import { ensureJetStream } from "../nats/data-plane.js";
import type { FencedPosition } from "../nats/positions.js";
import { Checkpointer } from "./checkpointer.js";
import { EventPublisher } from "./event-publisher.js";
import type { WorkDeps } from "./deps.js";
import type { WorkControl } from "./work.js";

export interface ReaderOutput<P> {
  fenced: FencedPosition<P>;
  pub: EventPublisher;
  /** position of the last event the CDC stream already holds (null: empty) */
  tail: string | null;
  cpr: Checkpointer<P>;
}

export async function openReaderOutput<P>(d: WorkDeps, ctl: WorkControl, onCommitted?: (p: P) => void | Promise<void>): Promise<ReaderOutput<P>> {
  const names = d.cp.names;
  const fenced = await d.positions.fence<P>(positionKey({ kind: "stream", stream: d.spec.id }), d.lease.epoch);
  d.probe("start", fenced.position);
  await ensureJetStream(d.nc, { name: names.cdcStream(d.spec.id), subjects: [names.cdcFilter(d.spec.id)], maxAgeMs: d.spec.maxAge, replicas: d.cfg.nats.replicas });
  const pub = new EventPublisher(d.nc, { stream: names.cdcStream(d.spec.id), idPrefix: d.spec.id, epoch: d.lease.epoch });
  const tail = await pub.start();
  const published = d.metrics.eventsPublished.labels(d.spec.id, "stream");
  let counted = 0;
  pub.chain.onAcked = (acked) => {
    published.inc(acked - counted);
    counted = acked;
  };
  const cpr = new Checkpointer<P>({
    store: d.positions,
    fenced,
    intervalMs: d.cfg.checkpoint.interval,
    maxEvents: d.cfg.checkpoint.maxEvents,
    onCommitted: async (p, at) => {
      d.metrics.checkpoints.inc({ stream: d.spec.id, actor: "stream" });
      ctl.progress(p);
      d.probe("active", p, at);
      await onCommitted?.(p);
    },
  });
  d.log.info({ epoch: d.lease.epoch, checkpoint: fenced.position, tail }, "reader fenced position; starting");
  return { fenced, pub, tail, cpr };
}
