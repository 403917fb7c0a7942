/**
 * A node inside the test process, for tests that need no process kills and want the
 * node's parts (supervisor, admin). The runtime is loaded when the first node starts, so
 * importing the support module stays cheap for tests that never start one.
 */
import { pino, type Logger } from "pino";
import type { RunningNode } from "../../src/node/index.js";
import { NATS_URL } from "./nats.js";
import { freePort } from "./node-proc.js";

/**
 * Starts a node of `cluster` with these streams: short leases and checkpoint intervals so
 * tests converge fast; `extra` replaces top-level config keys. Logs are silent unless
 * TEST_LOG names a level.
 */
export async function startTestNode(cluster: string, streams: unknown[], extra: Record<string, unknown> = {}, logger?: Logger): Promise<RunningNode> {
  const [{ parseConfig }, { startNode }] = await Promise.all([import("../../src/config/index.js"), import("../../src/node/index.js")]);
  const cfg = parseConfig({
    cluster,
    nats: { servers: [NATS_URL] },
    node: { id: `n-${cluster}` },
    admin: { host: "127.0.0.1", port: await freePort() },
    leases: { ttl: "4s", nodeTtl: "3s" },
    checkpoint: { interval: "200ms" },
    streams,
    ...extra,
  });
  return startNode(cfg, { logger: logger ?? pino({ level: process.env.TEST_LOG ?? "silent" }) });
}
