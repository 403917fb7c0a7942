/**
 * An independent checker of "never two active readers": it subscribes to the readers'
 * probe subject and flags any reader activity (start/active) of an epoch that happened
 * after a newer epoch of the same stream started. Events are compared by the time they
 * state (`t`), not by arrival: a process frozen by SIGSTOP flushes earlier facts late.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

/** One announcement of a reader on `<cluster>.tributary.probe.<stream>`, as the checker reads it (its own copy of the wire format). */
export interface ProbeEvent {
  node: string;
  actor: string;
  epoch: number;
  event: "start" | "active" | "stop";
  position: unknown;
  t: number;
}

/** Collects the probe announcements of a cluster and reports overlapping readers (see the module comment). */
export class ProbeChecker {
  readonly events: Array<ProbeEvent & { stream: string }> = [];

  private sub?: Subscription;

  constructor(private readonly nc: NatsConnection, private readonly subjectPrefix: string) {}

  start(): void {
    this.sub = this.nc.subscribe(`${this.subjectPrefix}.>`, {
      callback: (_err, msg) => {
        const stream = msg.subject.slice(this.subjectPrefix.length + 1);
        const e = msg.json<ProbeEvent>();
        this.events.push({ ...e, stream });
      },
    });
  }

  /** Activity of an epoch stated at a time after a newer epoch of the stream had started. */
  get violations(): string[] {
    const out: string[] = [];
    const byStream = new Map<string, Array<ProbeEvent & { stream: string }>>();
    for (const e of this.events) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e]);
    for (const [stream, evs] of byStream) {
      const started = new Map<number, { t: number; node: string }>();
      for (const e of evs) if (e.event === "start" && (!started.has(e.epoch) || e.t < started.get(e.epoch)!.t)) started.set(e.epoch, { t: e.t, node: e.node });
      for (const e of evs) {
        if (e.event === "stop") continue;
        for (const [epoch, s] of started) {
          if (epoch > e.epoch && s.t < e.t) out.push(`${stream}: ${e.node} epoch ${e.epoch} was ${e.event} at ${e.t}, after ${s.node} epoch ${epoch} started at ${s.t}`);
        }
      }
    }
    return out;
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** start events per stream in arrival order */
  starts(stream: string): Array<ProbeEvent & { stream: string }> {
    return this.events.filter((e) => e.stream === stream && e.event === "start");
  }
}
