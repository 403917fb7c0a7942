/**
 * Keeps this node's actors in line with the desired state: every actor of every (not
 * paused) stream that the placement puts on this node runs here. New actors start at once
 * (they contend for the lease, so starting early is safe); actors that moved away are
 * handed off gracefully, only once membership has settled and at most `movesPerStep` per
 * step; actors of removed, paused or changed streams stop at once.
 */
import type { Logger } from "pino";
import type { ActorInfo } from "../admin/index.js";
import { actorsOf } from "../cluster/index.js";
import type { StreamSpec } from "../config/index.js";
import { actorId, type ActorRef } from "../nats/index.js";

/** What the supervisor needs of one actor's host (ActorHost; tests pass their own). */
export interface SupervisedHost {
  /** starts the actor: it contends for its lease */
  start(): void;
  /** graceful stop (drain, release); resolves when the lease is released */
  stop(): Promise<void>;
  /** the lease was just released by its holder: contend now */
  poke(): void;
  /** what /v1/actors shows; `epoch` is not null while the lease is held */
  info(): ActorInfo;
}

/** Builds the host of one actor of a stream. */
export type HostFactory = (ref: ActorRef, spec: StreamSpec) => SupervisedHost;

/** Where actors should run. */
export interface PlacementPolicy {
  /** this node's id */
  self: string;
  /** desired owner of each actor id (absent: nobody can take it) */
  place(actorIds: string[]): Map<string, string>;
  /** true when membership has been stable long enough for voluntary moves */
  settled(): boolean;
  /** most voluntary handoffs started per reconcile step */
  movesPerStep: number;
}

/** This node's actors, kept in line with the desired streams and the placement (see the module comment). */
export class Supervisor {
  private readonly hosts = new Map<string, { host: SupervisedHost; specJson: string }>();
  /** actors handing off: still shown by actors() until their lease is released */
  private readonly stopping = new Set<SupervisedHost>();
  private readonly specs = new Map<string, StreamSpec>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  /** voluntary handoffs started (for tests and metrics) */
  handoffs = 0;

  constructor(private readonly makeHost: HostFactory, private readonly log: Logger, private readonly policy: PlacementPolicy) {}

  /** Declares the desired spec of one stream (null = removed). Serialized. */
  setStream(id: string, spec: StreamSpec | null): Promise<void> {
    return this.enqueue(async () => {
      if (spec) this.specs.set(id, spec);
      else this.specs.delete(id);
      this.reconcile();
    });
  }

  /** Replaces the whole desired set (periodic full reconcile from a KV listing). */
  setAll(specs: StreamSpec[]): Promise<void> {
    return this.enqueue(async () => {
      this.specs.clear();
      for (const s of specs) this.specs.set(s.id, s);
      this.reconcile();
    });
  }

  /** Re-evaluates placement (membership changed, or a periodic tick). */
  rebalance(): Promise<void> {
    return this.enqueue(async () => this.reconcile());
  }

  /** A lease key was deleted: the local contender for it may acquire now. */
  poke(id: string): void {
    this.hosts.get(id)?.host.poke();
  }

  /** Stops every actor gracefully (drain). */
  stopAll(): Promise<void> {
    return this.enqueue(async () => {
      this.stopped = true;
      const all = [...this.hosts.values()].map((h) => h.host);
      // taken before stopHost adds the others to `stopping`: each host is asked once
      const handingOff = [...this.stopping];
      this.hosts.clear();
      await Promise.all([...all.map((h) => this.stopHost(h)), ...handingOff.map((h) => h.stop())]);
    });
  }

  actors(): ActorInfo[] {
    return [...[...this.hosts.values()].map((h) => h.host), ...this.stopping].map((h) => h.info());
  }

  streams(): StreamSpec[] {
    return [...this.specs.values()];
  }

  /** Every actor id of the desired state, with its placement. */
  desired(): Map<string, string> {
    const ids: string[] = [];
    for (const spec of this.specs.values()) if (!spec.paused) for (const ref of actorsOf(spec)) ids.push(actorId(ref));
    return this.policy.place(ids);
  }

  private async stopHost(h: SupervisedHost): Promise<void> {
    this.stopping.add(h);
    try {
      await h.stop();
    } finally {
      this.stopping.delete(h);
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err) => this.log.error({ err }, "supervisor step failed"));
    return run;
  }

  private reconcile(): void {
    if (this.stopped) return;
    const all = new Map<string, { ref: ActorRef; spec: StreamSpec; specJson: string }>();
    for (const spec of this.specs.values()) {
      if (spec.paused) continue;
      // who declares the stream (managedBy) does not change what its actors do
      const specJson = JSON.stringify({ ...spec, managedBy: undefined });
      for (const ref of actorsOf(spec)) all.set(actorId(ref), { ref, spec, specJson });
    }
    const placement = this.policy.place([...all.keys()]);
    let moves = 0;
    for (const [id, h] of this.hosts) {
      const w = all.get(id);
      const mine = placement.get(id) === this.policy.self;
      let why: string | null = null;
      if (!w) why = "stream removed or paused";
      else if (w.specJson !== h.specJson) why = "spec changed";
      else if (!mine) {
        const holding = h.host.info().epoch !== null;
        if (!holding) why = "placed elsewhere (not holding the lease)";
        else if (this.policy.settled() && moves < this.policy.movesPerStep) {
          moves++;
          this.handoffs++;
          why = `placed on ${placement.get(id) ?? "no node"}: handing off`;
        }
      }
      if (why === null) continue;
      this.log.info({ actor: id, why }, "stopping actor");
      this.hosts.delete(id);
      void this.stopHost(h.host);
    }
    for (const [id, w] of all) {
      if (this.hosts.has(id) || placement.get(id) !== this.policy.self) continue;
      const host = this.makeHost(w.ref, w.spec);
      this.hosts.set(id, { host, specJson: w.specJson });
      host.start();
    }
  }
}
