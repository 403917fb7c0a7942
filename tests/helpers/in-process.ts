/** Starts a node inside the test process (for tests that need no process kills). */
import { pino, type Logger } from "pino";
import { parseConfig } from "../../src/config/index.js";
import { startNode, type RunningNode } from "../../src/node/index.js";
import { freePort } from "./node-proc.js";
import { NATS_URL } from "./nats.js";

export async function startTestNode(cluster: string, streams: unknown[], extra: Record<string, unknown> = {}, logger?: Logger): Promise<RunningNode> {
  const cfg = parseConfig({
    cluster,
    nats: { servers: [NATS_URL] },
    node: { id: `n-${cluster}` },
    // tests drive the mutating endpoints without a token
    admin: { host: "127.0.0.1", port: await freePort(), insecure: true },
    leases: { ttl: "4s", nodeTtl: "3s" },
    checkpoint: { interval: "200ms" },
    streams,
    ...extra,
  });
  return startNode(cfg, { logger: logger ?? pino({ level: process.env.TEST_LOG ?? "silent" }) });
}

/** Polls until `fn` returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < timeoutMs) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}
