#!/usr/bin/env node
/**
 * `npm run bench`: measures Tributary on the local services (PostgreSQL, nats-server) and
 * writes bench/results/latest.json and latest.md. Scenarios per run: reader only with its
 * ceilings, the whole pipeline at saturation, the pipeline at fixed offered rates (lag),
 * one node holding many idle streams, and (informational) the MongoDB source through the
 * in-process fake. Every figure is the median of the runs.
 *
 * Usage: node dist/bench/run.js [--quick] [--runs N] [--events N] [--only reader,pipeline,lag,idle,ceilings,mongo]
 *        [--transformer identity|filter|mask|stamp] [--lag-seconds S] [--lag-rates 1000,5000]
 *        [--idle-streams N] [--idle-seconds S] [--no-profile | --profile] [--out DIR] [--transform-threads N]
 * (environment: BENCH_QUICK=1, BENCH_RUNS, BENCH_EVENTS, BENCH_ONLY, NATS_URL, TEST_PG_URL ...)
 */
import { mkdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir, loadavg, availableParallelism } from "node:os";
import { parseOptions, wants, type BenchOptions } from "./options.js";
import { natsConnect } from "../tests/support/index.js";
import { environment } from "./environment.js";
import { readerScenario } from "./scenario-reader.js";
import { lagScenario, pipelineScenario } from "./scenario-pipeline.js";
import { idleScenario } from "./scenario-idle.js";
import { mongoScenario } from "./scenario-mongo.js";
import { summarizeProfile, type ProfileSummary } from "./profile.js";
import { bottleneck, buildResults, markdown, type Figures } from "./report.js";
import { median } from "./stats.js";
import { TRANSFORMERS } from "./workload.js";

const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** `lag_p99_ms_at_5k` for 5000, `lag_p99_ms_at_1.5k` for 1500. */
const rateKey = (rate: number) => `${rate / 1000}k`;

async function oneRun(o: BenchOptions, i: number): Promise<Figures> {
  const f: Figures = {};
  if (wants(o, "reader") || wants(o, "ceilings")) {
    log(`run ${i}: reader and ceilings (${o.events} changes)`);
    const r = await readerScenario(o, log);
    Object.assign(f, {
      reader_eps: r.reader_eps,
      decode_ceiling_eps: r.decode_ceiling_eps,
      publish_ceiling_eps: r.publish_ceiling_eps,
      publish_ceiling_nodedup_eps: r.publish_ceiling_nodedup_eps,
      reader_ceiling_ratio: r.reader_eps / Math.min(r.decode_ceiling_eps, r.publish_ceiling_eps),
      reader_decode_ratio: r.reader_eps / r.decode_ceiling_eps,
      reader_publish_ratio: r.reader_eps / r.publish_ceiling_eps,
      reader_cpu_s: r.reader_cpu_s,
      floor_transport_client_us: r.floor.transport_client_us,
      floor_transport_nats_us: r.floor.transport_nats_us,
      floor_transform_us: r.floor.transform_us,
      floor_decode_client_us: r.floor.decode_client_us,
      decode_postgres_us: r.floor.decode_postgres_us,
      relay_eps: r.floor.relay_eps,
    });
  }
  // the cost floor needs pieces of both scenarios: the hops, transform and decode from the
  // reader scenario's ceilings, the database's own CPU per event from the pipeline run
  const floorPieces = [f.floor_transport_client_us, f.floor_transport_nats_us, f.floor_transform_us, f.floor_decode_client_us];
  const rss: number[] = [];
  if (wants(o, "pipeline")) {
    log(`run ${i}: pipeline at saturation (${o.events} changes)`);
    const p = await pipelineScenario(o, log);
    Object.assign(f, {
      pipeline_eps: p.pipeline_eps,
      pipeline_reader_eps: p.stage_eps.reader,
      pipeline_transformer_eps: p.stage_eps.transformer,
      pipeline_sink_eps: p.stage_eps.sink,
      pipeline_node_cores: p.cpu_s.node / p.cpu_s.wall,
      pipeline_nats_cores: p.cpu_s.nats_server / p.cpu_s.wall,
      pipeline_postgres_cores: p.cpu_s.postgres / p.cpu_s.wall,
      pipeline_machine_cores: p.cpu_s.machine / p.cpu_s.wall,
      pipeline_insert_s: p.insert_s,
      pipeline_node_us: (p.cpu_s.node * 1e6) / p.events,
      pipeline_nats_us: (p.cpu_s.nats_server * 1e6) / p.events,
      pipeline_postgres_us: (p.cpu_s.postgres * 1e6) / p.events,
      pipeline_machine_us: (p.cpu_s.machine * 1e6) / p.events,
    });
    rss.push(p.peak_rss_mb);
  }
  if (wants(o, "lag")) {
    for (const rate of o.lagRates) {
      log(`run ${i}: lag at ${rate} events/s for ${o.lagSeconds} s`);
      const l = await lagScenario(o, rate, log);
      f[`lag_p50_ms_at_${rateKey(rate)}`] = l.p50_ms;
      f[`lag_p99_ms_at_${rateKey(rate)}`] = l.p99_ms;
      f[`lag_max_ms_at_${rateKey(rate)}`] = l.max_ms;
      rss.push(l.peak_rss_mb);
    }
  }
  if (f.pipeline_postgres_us !== undefined && floorPieces.every((x) => x !== undefined)) {
    f.floor_us = floorPieces.reduce((a, b) => a! + b!, 0)! + f.pipeline_postgres_us;
    f.floor_eps = (availableParallelism() * 1e6) / f.floor_us;
    f.pipeline_floor_ratio = f.pipeline_eps! / f.floor_eps;
  }
  if (rss.length) f.peak_rss_mb = Math.max(...rss);
  if (wants(o, "idle")) {
    log(`run ${i}: idle node with ${o.idleStreams} streams`);
    const d = await idleScenario(o, log);
    Object.assign(f, { idle_rss_mb_120_streams: d.rss_mb, idle_cpu_pct_120_streams: d.cpu_pct, idle_start_s: d.start_s });
  }
  if (wants(o, "mongo")) {
    log(`run ${i}: MongoDB source through the fake (informational)`);
    const m = await mongoScenario(o, log);
    Object.assign(f, { mongo_snapshot_eps: m.mongo_snapshot_eps, mongo_reader_eps: m.mongo_reader_eps });
  }
  return f;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const nc = await natsConnect(o.natsUrl);
  const env = await environment(nc, o.pgBase);
  await nc.close();
  log(`${o.quick ? "quick" : "full"} benchmark: ${o.runs} run(s), load average ${env.machine.loadavg_start.join(" ")}`);
  const runs: Figures[] = [];
  for (let i = 1; i <= o.runs; i++) runs.push(await oneRun(o, i));

  // one extra run of each profiled scenario, not counted in the figures (profiling slows the node)
  const profiles: Array<[string, ProfileSummary]> = [];
  if (o.profile && wants(o, "pipeline")) {
    log("profiled pipeline run (node --cpu-prof; not counted in the figures)");
    const p = await pipelineScenario(o, log, mkdtempSync(join(tmpdir(), "tributary-prof-")));
    if (p.profile) profiles.push([`Pipeline at saturation (${o.events} changes): the node's main thread`, summarizeProfile(p.profile)]);
    for (const [i, f] of (p.threadProfiles ?? []).entries()) profiles.push([`Pipeline at saturation: transform thread ${i}`, summarizeProfile(f)]);
  }
  if (o.profile && wants(o, "reader")) {
    log("profiled reader run (node --cpu-prof; not counted in the figures)");
    const r = await readerScenario(o, log, mkdtempSync(join(tmpdir(), "tributary-prof-")));
    if (r.profile) profiles.push([`Reader only, catch-up (${o.events} changes)`, summarizeProfile(r.profile)]);
  }
  env.machine.loadavg_end = loadavg().map((x) => Math.round(x * 100) / 100);
  for (const r of runs) r.machine_cpus = env.machine.cpus;
  const config = {
    transformer: o.transformer,
    transformer_jsonata: TRANSFORMERS[o.transformer],
    transform_threads: o.transformThreads ?? "node default",
    events: o.events,
    update_share: o.updateShare,
    lag_seconds: o.lagSeconds,
    lag_rates: o.lagRates,
    idle_streams: o.idleStreams,
    idle_seconds: o.idleSeconds,
  };
  const med = Object.fromEntries(Object.keys(runs[0] ?? {}).map((k) => [k, median(runs.map((r) => r[k] ?? Number.NaN))]));
  const results = buildResults(runs, env, { quick: o.quick, runs: o.runs, config, bottleneck: bottleneck(med), profiles: Object.fromEntries(profiles) });
  const notes = [
    `pipeline: ${o.events} changes (${Math.round(o.updateShare * 100)} % updates) written as fast as PostgreSQL takes them, in 1000-row transactions, while the node runs; rate = changes / (first insert → the sink's committed offset covers them all). Transformer \`${o.transformer}\`: \`${TRANSFORMERS[o.transformer]}\`. Node defaults otherwise (sink batchMaxRows 2000, batchMaxWait 100 ms, checkpoint every 1 s / 5000 events).`,
    "stage rates: reader and transformer from the first to the last message JetStream stored in CDC_ / XF_; sink from its first written row to the end.",
    `lag: inserts offered at a fixed rate for ${o.lagSeconds} s, one transaction every 10 ms; lag of every row = target clock_timestamp() when the sink wrote it − the row's insert time at the source (clock_timestamp() in the inserting transaction, which commits within a few ms); a warm-up is left out.`,
    "reader: catch-up over a WAL backlog of the same changes (the node was stopped while they were written); rate from the first to the last message JetStream stored. Ceilings run on the same WAL (a second slot) and the same payloads, in the same run.",
    `mongo (informational): the MongoDB source alone (no JetStream) with the real driver against the in-process fake server (tests/fakes/mongo), all in the benchmark's process: snapshot of min(events, 100000) documents in 1000-document batches, then a change stream catching up on as many inserts made while it was stopped. It measures the driver and the source's decoding, not a MongoDB server.`,
    `idle: ${o.idleStreams} generator streams at 0.001 events/s, each with a JSONata transformer (${o.idleStreams * 2} actors, ${o.idleStreams * 2} leases); RSS and CPU over ${o.idleSeconds} s after the node settled.`,
  ];
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(join(o.outDir, "latest.json"), JSON.stringify(results, null, 2) + "\n");
  writeFileSync(join(o.outDir, "latest.md"), markdown(results, env, profiles, notes));
  log(`wrote ${join(o.outDir, "latest.json")} and latest.md`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
