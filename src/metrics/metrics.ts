/** Prometheus metrics of one node, registered on an injected prom-client Registry. */
import { Counter, Gauge, Histogram, collectDefaultMetrics, Registry } from "prom-client";

export class Metrics {
  readonly eventsRead: Counter<"stream">;
  readonly sourcePauses: Counter<"stream">;
  readonly eventsPublished: Counter<"stream" | "actor">;
  readonly eventsApplied: Counter<"stream" | "actor">;
  readonly eventsDropped: Counter<"stream" | "actor" | "reason">;
  readonly dlq: Counter<"stream" | "actor">;
  readonly eventsOversized: Counter<"stream" | "actor">;
  readonly errors: Counter<"stream" | "actor">;
  readonly lagSeconds: Gauge<"stream" | "actor">;
  readonly batchSeconds: Histogram<"stream" | "actor">;
  readonly checkpoints: Counter<"stream" | "actor">;
  readonly actorsRunning: Gauge<"kind">;
  readonly retainedBytes: Gauge<"stream" | "resource" | "state">;

  constructor(readonly registry: Registry = new Registry(), opts: { defaults?: boolean } = {}) {
    const r = [registry];
    if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: "tributary_" });
    this.eventsRead = new Counter({ name: "tributary_events_read_total", help: "Changes read from the source", labelNames: ["stream"], registers: r });
    this.sourcePauses = new Counter({ name: "tributary_source_pauses_total", help: "Times a source paused reading its database because the kernel fell behind (MySQL: the binlog socket)", labelNames: ["stream"], registers: r });
    this.eventsPublished = new Counter({ name: "tributary_events_published_total", help: "Events published to JetStream and acknowledged", labelNames: ["stream", "actor"], registers: r });
    this.eventsApplied = new Counter({ name: "tributary_events_applied_total", help: "Events applied to a sink target (committed)", labelNames: ["stream", "actor"], registers: r });
    this.eventsDropped = new Counter({ name: "tributary_events_dropped_total", help: "Events dropped on purpose (filter, stale epoch, already applied)", labelNames: ["stream", "actor", "reason"], registers: r });
    this.dlq = new Counter({ name: "tributary_dlq_total", help: "Events sent to the dead-letter queue", labelNames: ["stream", "actor"], registers: r });
    this.eventsOversized = new Counter({ name: "tributary_events_oversized_total", help: "Events larger than the NATS max_payload, sent to the dead-letter queue instead of being published", labelNames: ["stream", "actor"], registers: r });
    this.errors = new Counter({ name: "tributary_errors_total", help: "Work errors (each followed by a retry or a stop)", labelNames: ["stream", "actor"], registers: r });
    this.lagSeconds = new Gauge({ name: "tributary_lag_seconds", help: "Now minus the source commit time of the last event handled", labelNames: ["stream", "actor"], registers: r });
    this.batchSeconds = new Histogram({ name: "tributary_sink_batch_seconds", help: "Time to apply one sink batch (one transaction)", labelNames: ["stream", "actor"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r });
    this.checkpoints = new Counter({ name: "tributary_checkpoints_total", help: "Position checkpoints written", labelNames: ["stream", "actor"], registers: r });
    this.actorsRunning = new Gauge({ name: "tributary_actors_running", help: "Actors this node runs, by kind", labelNames: ["kind"], registers: r });
    this.retainedBytes = new Gauge({
      name: "tributary_source_retained_bytes",
      help: "Bytes of source log (PostgreSQL WAL) a stream's source resources keep, by state: running, paused, or deleted with its resources kept. One node reports each stream",
      labelNames: ["stream", "resource", "state"],
      registers: r,
    });
  }
}
