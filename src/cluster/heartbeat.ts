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
}

/**
 * Puts the node's record now and every TTL/3 until stopped; `beat()` puts it at once (after
 * a change such as draining). A failed put is logged and retried at the next beat.
 */
export function startHeartbeat(kv: KV, ttlMs: number, record: () => NodeRecord, log: Logger): { stop(): Promise<void>; beat(): Promise<void> } {
  const beat = async () => {
    try {
      const r = record();
      await kv.put(r.id, JSON.stringify(r));
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  };
  void beat();
  const t = setInterval(beat, Math.max(200, Math.floor(ttlMs / 3)));
  t.unref();
  return {
    beat,
    async stop() {
      clearInterval(t);
      await kv.delete(record().id).catch(() => undefined);
    },
  };
}
