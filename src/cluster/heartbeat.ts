/** Membership: the node's heartbeat in the nodes bucket (TTL bucket, put every TTL/3). */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";

/** What a node's heartbeat says about it (readable with `nats kv get`). */
export interface NodeRecord {
  id: string;
  admin: string;
  version: string;
  capacity: number;
  draining: boolean;
  started: string;
  pid: number;
  actors: number;
  /** this node's actors that fail (backoff, failed, or holding a lease without running), for /v1/health and `nats kv get` */
  failing?: Array<{ actor: string; state: string; error: string | null; since: string | null }>;
}

/** A running heartbeat. */
export interface Heartbeat {
  stop(): Promise<void>;
  /** puts the record now */
  beat(): Promise<void>;
  /** true while the last put succeeded less than a TTL ago: the node is in the registry */
  joined(): boolean;
}

/**
 * Puts the node's record now and every TTL/3 until stopped; `beat()` puts it at once (after
 * a change such as draining). A failed put is logged and retried at the next beat.
 */
export function startHeartbeat(kv: KV, ttlMs: number, record: () => NodeRecord, log: Logger): Heartbeat {
  let lastOk = -Infinity;
  let failed = false;
  const beat = async () => {
    try {
      const r = record();
      await kv.put(r.id, JSON.stringify(r));
      lastOk = performance.now();
      if (failed) log.info("heartbeat written again");
      failed = false;
    } catch (err) {
      if (!failed) log.warn({ err }, "heartbeat failed");
      failed = true;
    }
  };
  void beat();
  const t = setInterval(beat, Math.max(200, Math.floor(ttlMs / 3)));
  t.unref();
  return {
    beat,
    joined: () => performance.now() - lastOk < ttlMs,
    async stop() {
      clearInterval(t);
      await kv.delete(record().id).catch(() => undefined);
    },
  };
}
