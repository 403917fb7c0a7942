/**
 * Keeps this node's actors in line with the desired streams: one stream actor per stream,
 * one per transformer, one per sink. A changed spec restarts the stream's actors (graceful
 * handoff to themselves); a removed or paused stream stops them.
 */
import type { Logger } from "pino";
import type { StreamSpec } from "../config/index.js";
import { actorId, type ActorRef } from "../nats/names.js";
import type { ActorHost, ActorInfo } from "./actor-host.js";

/** All actors a stream spec implies. */
export function actorsOf(spec: StreamSpec): ActorRef[] {
  return [
    { kind: "stream", stream: spec.id },
    ...spec.transformers.map((t) => ({ kind: "transformer" as const, stream: spec.id, name: t.name })),
    ...spec.sinks.map((s) => ({ kind: "sink" as const, stream: spec.id, name: s.name })),
  ];
}

export type HostFactory = (ref: ActorRef, spec: StreamSpec) => ActorHost;

export class Supervisor {
  private readonly hosts = new Map<string, { host: ActorHost; specJson: string }>();
  /** actors handing off: still shown by actors() until their lease is released */
  private readonly stopping = new Set<ActorHost>();
  private readonly specs = new Map<string, StreamSpec>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly makeHost: HostFactory, private readonly log: Logger) {}

  /** Declares the desired spec of one stream (null = removed). Serialized. */
  setStream(id: string, spec: StreamSpec | null): Promise<void> {
    return this.enqueue(async () => {
      if (spec) this.specs.set(id, spec);
      else this.specs.delete(id);
      await this.reconcile();
    });
  }

  /** Replaces the whole desired set (periodic full reconcile from a KV listing). */
  setAll(specs: StreamSpec[]): Promise<void> {
    return this.enqueue(async () => {
      this.specs.clear();
      for (const s of specs) this.specs.set(s.id, s);
      await this.reconcile();
    });
  }

  /** Stops every actor gracefully (drain). */
  stopAll(): Promise<void> {
    return this.enqueue(async () => {
      this.stopped = true;
      const all = [...this.hosts.values()].map((h) => h.host);
      this.hosts.clear();
      await Promise.all(all.map((h) => this.stopHost(h)));
    });
  }

  actors(): ActorInfo[] {
    return [...[...this.hosts.values()].map((h) => h.host), ...this.stopping].map((h) => h.info());
  }

  private async stopHost(h: ActorHost): Promise<void> {
    this.stopping.add(h);
    try {
      await h.stop();
    } finally {
      this.stopping.delete(h);
    }
  }

  streams(): StreamSpec[] {
    return [...this.specs.values()];
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err) => this.log.error({ err }, "supervisor step failed"));
    return run;
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const want = new Map<string, { ref: ActorRef; spec: StreamSpec; specJson: string }>();
    for (const spec of this.specs.values()) {
      if (spec.paused) continue;
      const specJson = JSON.stringify(spec);
      for (const ref of actorsOf(spec)) want.set(actorId(ref), { ref, spec, specJson });
    }
    const stopping: Promise<void>[] = [];
    for (const [id, h] of this.hosts) {
      const w = want.get(id);
      if (!w || w.specJson !== h.specJson) {
        this.hosts.delete(id);
        stopping.push(this.stopHost(h.host));
      }
    }
    await Promise.all(stopping);
    for (const [id, w] of want) {
      if (this.hosts.has(id)) continue;
      const host = this.makeHost(w.ref, w.spec);
      this.hosts.set(id, { host, specJson: w.specJson });
      host.start();
    }
  }
}
