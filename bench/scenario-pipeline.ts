/**
 * The whole pipeline on one node: PostgreSQL -> stream actor -> JetStream -> JSONata
 * transformer -> JetStream -> PostgreSQL sink.
 *
 * - saturation: `events` changes written as fast as PostgreSQL takes them while the node
 *   runs; the rate is events / (first insert -> the sink's committed offset covers all);
 *   per-stage rates come from the JetStream time stamps of the CDC and XF streams;
 * - fixed rate: inserts offered at a set rate; lag of every row = the target's
 *   clock_timestamp() when the sink wrote it minus the row's insert time at the source
 *   (clock_timestamp() inside the inserting transaction, which commits within a few ms:
 *   the figure errs on the high side by that much).
 */
import { Names } from "../src/nats/index.js";
import { cpuSeconds, cpuSecondsOf, eventually, GiveUp, machineBusySeconds, natsConnect, NodeProc, pidsOf, streamState } from "../tests/support/index.js";
import { benchNodeFlags, createWorld, SINK_ID, STREAM_ID, TRANSFORMER_NAME, type World } from "./setup.js";
import { offer, saturate } from "./workload.js";
import { percentileSorted } from "./stats.js";
import type { BenchOptions } from "./options.js";

export interface PipelineResult {
  pipeline_eps: number;
  peak_rss_mb: number;
  events: number;
  stage_eps: { reader: number; transformer: number; sink: number };
  /** CPU seconds per process group over the run, and the run's wall seconds */
  cpu_s: { node: number; nats_server: number; postgres: number; machine: number; wall: number };
  insert_s: number;
  /** CPU profile of the node's main thread, and of its transform threads */
  profile?: string;
  threadProfiles?: string[];
}

async function sinkSeq(w: World): Promise<number> {
  const r = await w.dst!.client.query<{ seq: string }>("SELECT seq::text AS seq FROM tributary.sink_offsets WHERE sink_id = $1", [`${w.cluster}.${SINK_ID}`]).catch(() => null);
  return Number(r?.rows[0]?.seq ?? 0);
}

async function startPipeline(o: BenchOptions, w: World, cpuProfDir?: string): Promise<NodeProc> {
  const node = await NodeProc.create({ config: w.config, cpuProfDir, nodeFlags: benchNodeFlags(), keepLog: true });
  node.start();
  await node.waitReady({ actors: 3, timeoutMs: 120_000 });
  return node;
}

export async function pipelineScenario(o: BenchOptions, log: (m: string) => void, cpuProfDir?: string): Promise<PipelineResult> {
  const w = await createWorld(o, true);
  const nc = await natsConnect(o.natsUrl);
  let node: NodeProc | undefined;
  try {
    node = await startPipeline(o, w, cpuProfDir);
    const natsPid = pidsOf("nats-server")[0] ?? -1;
    const before = { node: node.cpuSeconds(), nats: cpuSeconds(natsPid), pg: cpuSecondsOf("postgres"), machine: machineBusySeconds() };
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, node!.memoryMb().rss || 0)), 250);
    const t0 = performance.now();
    const plan = await saturate(w.src.client, o.events, o.updateShare);
    const insertS = (performance.now() - t0) / 1000;
    await eventually(async () => {
      if (!node!.running) throw new GiveUp(`bench: node exited:\n${node!.tail()}`);
      return (await sinkSeq(w)) >= plan.events;
    }, 900_000, `the sink to apply ${plan.events} events`, 20);
    const wall = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const cpu = {
      node: node.cpuSeconds() - before.node,
      nats_server: cpuSeconds(natsPid) - before.nats,
      postgres: cpuSecondsOf("postgres") - before.pg,
      machine: machineBusySeconds() - before.machine,
      wall,
    };
    const mem = node.memoryMb();
    const names = new Names(w.cluster);
    const cdc = await streamState(nc, names.cdcStream(STREAM_ID));
    const xf = await streamState(nc, names.xfStream(STREAM_ID, TRANSFORMER_NAME));
    const firstVisible = await w.dst!.client.query<{ ms: string }>("SELECT (extract(epoch FROM min(visible_at)) * 1000)::text AS ms FROM bench_rows");
    const count = await w.dst!.client.query<{ n: string }>("SELECT count(*)::text AS n FROM bench_rows");
    if (Number(count.rows[0]!.n) !== plan.inserts) throw new Error(`bench: target holds ${count.rows[0]!.n} rows, expected ${plan.inserts}`);
    const rate = (s: { messages: number; firstTs: number; lastTs: number } | null) => (s && s.lastTs > s.firstTs ? (s.messages - 1) / ((s.lastTs - s.firstTs) / 1000) : Number.NaN);
    const sinkStart = Number(firstVisible.rows[0]!.ms);
    const stage = { reader: rate(cdc), transformer: rate(xf), sink: plan.events / ((Date.now() - sinkStart) / 1000) };
    const eps = plan.events / wall;
    log(`  pipeline ${Math.round(eps)} events/s; stages reader ${Math.round(stage.reader)}, transformer ${Math.round(stage.transformer)}, sink ~${Math.round(stage.sink)}; peak RSS ${Math.max(peakRss, mem.hwm).toFixed(0)} MB; CPU s node ${cpu.node.toFixed(1)} nats ${cpu.nats_server.toFixed(1)} pg ${cpu.postgres.toFixed(1)} over ${wall.toFixed(1)} s`);
    await node.term();
    return { pipeline_eps: eps, peak_rss_mb: Math.max(peakRss, mem.hwm), events: plan.events, stage_eps: stage, cpu_s: cpu, insert_s: insertS, profile: node.profileFiles().main, threadProfiles: node.profileFiles().threads };
  } finally {
    await node?.term();
    await nc.close();
    await w.cleanup();
  }
}

export interface LagResult {
  rate: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  samples: number;
  late_ticks: number;
  peak_rss_mb: number;
}

export async function lagScenario(o: BenchOptions, rate: number, log: (m: string) => void): Promise<LagResult> {
  const w = await createWorld(o, true);
  let node: NodeProc | undefined;
  try {
    node = await startPipeline(o, w);
    // a short warm-up at the same rate, left out of the samples (JIT, first batches, connections)
    const warm = Math.max(0.5, Math.min(3, o.lagSeconds * 0.15));
    const w1 = await offer(w.src.client, rate, warm, 1);
    const measuredFrom = new Date();
    const r = await offer(w.src.client, rate, o.lagSeconds, 1 + w1.rows);
    const total = w1.rows + r.rows;
    await eventually(async () => {
      if (!node!.running) throw new GiveUp(`bench: node exited:\n${node!.tail()}`);
      const c = await w.dst!.client.query<{ n: string }>("SELECT count(*)::text AS n FROM bench_rows");
      return Number(c.rows[0]!.n) >= total;
    }, 300_000, `${total} rows in the target`, 100);
    const q = await w.dst!.client.query<{ lag: string }>(
      "SELECT (extract(epoch FROM visible_at - updated_at) * 1000)::float8::text AS lag FROM bench_rows WHERE updated_at >= $1",
      [measuredFrom],
    );
    const lags = q.rows.map((x) => Number(x.lag)).sort((a, b) => a - b);
    const res: LagResult = {
      rate,
      p50_ms: percentileSorted(lags, 50),
      p99_ms: percentileSorted(lags, 99),
      max_ms: lags[lags.length - 1] ?? Number.NaN,
      samples: lags.length,
      late_ticks: r.lateTicks,
      peak_rss_mb: node.memoryMb().hwm,
    };
    log(`  lag at ${rate}/s: p50 ${res.p50_ms.toFixed(1)} ms, p99 ${res.p99_ms.toFixed(1)} ms, max ${res.max_ms.toFixed(1)} ms (${res.samples} rows, ${r.lateTicks} late ticks)`);
    return res;
  } finally {
    await node?.term();
    await w.cleanup();
  }
}
