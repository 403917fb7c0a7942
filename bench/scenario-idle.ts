/**
 * Idle footprint: one node holding many idle streams — `generator` sources at a tiny rate
 * (one event per ~15 minutes), each with a JSONata transformer, so the node runs a reader,
 * a transformer (an ordered JetStream consumer) and two leases per stream. After every
 * actor is ready and the node has settled, RSS and CPU are read over a fixed window.
 */
import { cleanupCluster, NodeProc, sleep, uniqueCluster } from "../tests/support/index.js";
import { baseConfig, benchNodeFlags } from "./setup.js";
import type { BenchOptions } from "./options.js";

export interface IdleResult {
  streams: number;
  actors: number;
  rss_mb: number;
  cpu_pct: number;
  start_s: number;
}

export async function idleScenario(o: BenchOptions, log: (m: string) => void): Promise<IdleResult> {
  const cluster = uniqueCluster("idle");
  const streams = Array.from({ length: o.idleStreams }, (_, i) => ({
    id: `idle-${String(i).padStart(3, "0")}`,
    source: { type: "generator", rate: 0.001, keys: 100 },
    transformers: [{ name: "t", jsonata: "$" }],
  }));
  const actors = o.idleStreams * 2;
  const node = await NodeProc.create({ config: baseConfig(o, cluster, streams), nodeFlags: benchNodeFlags(), keepLog: true });
  try {
    const t0 = performance.now();
    node.start();
    await node.waitReady({ actors, timeoutMs: 300_000 });
    const startS = (performance.now() - t0) / 1000;
    await sleep(o.quick ? 1000 : 10_000); // settle: GC after start, first lease renewals
    const c0 = node.cpuSeconds();
    const w0 = performance.now();
    let rssMax = 0;
    const until = w0 + o.idleSeconds * 1000;
    while (performance.now() < until) {
      await sleep(Math.min(1000, until - performance.now()));
      rssMax = Math.max(rssMax, node.memoryMb().rss || 0);
    }
    const cpuPct = ((node.cpuSeconds() - c0) / ((performance.now() - w0) / 1000)) * 100;
    const res = { streams: o.idleStreams, actors, rss_mb: rssMax, cpu_pct: cpuPct, start_s: startS };
    log(`  idle: ${o.idleStreams} streams (${actors} actors) ready in ${startS.toFixed(1)} s; RSS ${rssMax.toFixed(0)} MB, CPU ${cpuPct.toFixed(2)} % of one core`);
    return res;
  } finally {
    await node.term(120_000);
    await cleanupCluster(cluster, o.natsUrl).catch(() => undefined);
  }
}
