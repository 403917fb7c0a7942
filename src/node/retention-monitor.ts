/**
 * The retained-WAL metric (docs/adr/0012): every `intervalMs`, for each stream (running or
 * paused) and each deleted stream whose resources were kept, the one node that rendezvous
 * hashing picks among the live nodes asks the source what its resources keep
 * (`tributary_source_retained_bytes{stream, resource, state}`) and warns, now and then, about
 * deleted streams whose slot still holds WAL. Reading a source needs its resolved spec,
 * which only a node has. The same measurement goes to the positions bucket as
 * `<stream>.source` — `{position: {resources: [{resource, retainedBytes, behindBytes, active}]}, node, updated}` —
 * so a reader's lag on its source is answerable with the NATS CLI alone.
 */
import type { Logger } from "pino";
import type { Gauge } from "prom-client";
import { place } from "../cluster/index.js";
import type { SourceSpec, StreamSpec } from "../config/index.js";
import { getJson, type ControlPlane, type PositionValue } from "../nats/index.js";
import { sourceResources, sourceRetained } from "../registry/index.js";
import { listRetired } from "./retired.js";

/** What the monitor reads and reports to. */
export interface RetentionMonitorOptions {
  cp: ControlPlane;
  self: string;
  /** ids of the live nodes */
  live: () => string[];
  /** the desired streams (paused ones included) */
  streams: () => StreamSpec[];
  /** the source spec with its references resolved from this node's environment */
  resolve: (stream: string, source: SourceSpec) => SourceSpec;
  gauge: Gauge<"stream" | "resource" | "state">;
  log: Logger;
  /** @default 30000 */
  intervalMs?: number;
  /** how often a deleted stream's kept slot is warned about @default 600000 */
  warnEveryMs?: number;
}

/** Measures what streams' source resources keep (see the module comment). */
export class RetentionMonitor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly warned = new Map<string, number>();

  constructor(private readonly o: RetentionMonitorOptions) {}

  start(): void {
    const every = this.o.intervalMs ?? 30_000;
    this.timer = setInterval(() => void this.pass(), every);
    this.timer.unref();
    setTimeout(() => void this.pass(), Math.min(every, 1000)).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One measurement round (serialized); never throws. */
  pass(): Promise<void> {
    this.running ??= this.measure()
      .catch((err: unknown) => this.o.log.warn({ err }, "measuring retained source resources failed"))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private mine(id: string): boolean {
    const nodes = this.o.live().map((n) => ({ id: n, capacity: 1 }));
    return place([`retained.${id}`], nodes).get(`retained.${id}`) === this.o.self;
  }

  private async measure(): Promise<void> {
    const { cp } = this.o;
    const todo: Array<{ id: string; source: SourceSpec; state: "running" | "paused" | "deleted" }> = [
      ...this.o.streams().map((s) => ({ id: s.id, source: s.source, state: s.paused ? ("paused" as const) : ("running" as const) })),
      ...(await listRetired(cp)).map((r) => ({ id: r.id, source: r.source, state: "deleted" as const })),
    ];
    const rows: Array<{ labels: { stream: string; resource: string; state: string }; bytes: number }> = [];
    for (const t of todo) {
      if (!this.mine(t.id)) continue;
      const position = (await getJson<PositionValue>(cp.positions, t.id))?.value.position ?? null;
      const ctx = { cluster: cp.names.cluster, stream: t.id, position };
      if (!Object.keys(sourceResources(t.source, ctx)).length) continue;
      try {
        const measured = await sourceRetained(this.o.resolve(t.id, t.source), ctx);
        const record = { position: { state: t.state, resources: measured.map((r) => ({ resource: r.resource, retainedBytes: r.bytes, behindBytes: r.behindBytes ?? null, active: r.active })) }, epoch: 0, node: this.o.self, updated: new Date().toISOString() };
        // a deleted stream's record must not outlive a drop that ran meanwhile
        if (t.state !== "deleted" || (await cp.streams.get(`retired.${t.id}`))?.operation === "PUT") await cp.positions.put(`${t.id}.source`, JSON.stringify(record));
        for (const r of measured) {
          rows.push({ labels: { stream: t.id, resource: r.resource, state: t.state }, bytes: r.bytes });
          if (t.state === "deleted" && Date.now() - (this.warned.get(t.id) ?? 0) >= (this.o.warnEveryMs ?? 600_000)) {
            this.warned.set(t.id, Date.now());
            this.o.log.warn({ stream: t.id, resource: r.resource, bytes: r.bytes }, `deleted stream ${t.id} keeps its ${r.resource}, which retains WAL on the source; drop it with DELETE /v1/streams/${t.id}/resources (or tributary drop ${t.id})`);
          }
        }
      } catch (err) {
        this.o.log.warn({ err, stream: t.id }, "cannot measure what the stream's source resources retain");
      }
    }
    // replace the series at once, so a scrape never sees half a round
    this.o.gauge.reset();
    for (const r of rows) this.o.gauge.set(r.labels, r.bytes);
  }
}
