/** Membership: the node's heartbeat in the nodes bucket (TTL bucket, put every TTL/3). */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";

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

export function startHeartbeat(kv: KV, ttlMs: number, record: () => NodeRecord, log: Logger): { stop(): Promise<void>; beat(): Promise<void> } {
  const beat = async () => {
    try {
      await kv.put(record().id, JSON.stringify(record()));
    } catch (err) {
      log.warn({ err: (err as Error).message }, "heartbeat failed");
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
