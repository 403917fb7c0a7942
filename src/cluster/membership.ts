/**
 * This node's view of the live nodes, from the nodes bucket (TTL bucket, heartbeats every
 * TTL/3). On nats-server 2.9 a key that ages out is not reported to watchers, so the view
 * is rebuilt by listing the bucket on a short period, and updated at once from the watch
 * for joins, drains and explicit deletes.
 */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import type { NodeRecord } from "./heartbeat.js";

/** This node's view of the live nodes (see the module comment). */
export class Membership {
  private nodes = new Map<string, NodeRecord>();
  private signature = "";
  /** performance.now() of the last change of the live set */
  changedAt = performance.now();
  private timer?: NodeJS.Timeout;
  private stopWatch?: () => void;
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly kv: KV, private readonly pollMs: number, private readonly log: Logger) {}

  async start(): Promise<void> {
    await this.refresh();
    const w = await this.kv.watch({ include: "updates" as never });
    this.stopWatch = () => w.stop();
    (async () => {
      for await (const e of w) {
        if (e.operation === "PUT") {
          try {
            this.nodes.set(e.key, e.json<NodeRecord>());
          } catch {
            continue;
          }
        } else this.nodes.delete(e.key);
        this.update();
      }
    })().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch((err: unknown) => this.log.warn({ err }, "listing nodes failed")), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.stopWatch?.();
  }

  /** Called whenever the live set changes. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Nodes that take work: present and not draining, sorted by id. */
  live(): NodeRecord[] {
    return [...this.nodes.values()].filter((n) => !n.draining).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  all(): NodeRecord[] {
    return [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** ms since the live set last changed. */
  stableFor(): number {
    return performance.now() - this.changedAt;
  }

  private async refresh(): Promise<void> {
    const next = new Map<string, NodeRecord>();
    for await (const key of await this.kv.keys()) {
      const e = await this.kv.get(key);
      if (e && e.operation === "PUT") {
        try {
          next.set(key, e.json<NodeRecord>());
        } catch {
          /* unreadable heartbeat: ignore */
        }
      }
    }
    this.nodes = next;
    this.update();
  }

  private update(): void {
    const sig = this.live().map((n) => `${n.id}:${n.capacity}`).join(",");
    if (sig === this.signature) return;
    this.log.info({ live: this.live().map((n) => n.id), was: this.signature }, "membership changed");
    this.signature = sig;
    this.changedAt = performance.now();
    for (const fn of this.listeners) fn();
  }
}
