/**
 * Turns the runs into the results: every figure as the median of the runs (with min, max
 * and each run's value), the targets of issue 5 with met/missed, the bottleneck of the
 * pipeline when a target is missed, and the markdown table written next to the JSON.
 */
import type { Environment } from "./environment.js";
import type { ProfileSummary } from "./profile.js";
import { fmt, round, spread, type Spread } from "./stats.js";

/** One run's figures, flat (the keys of latest.json). */
export type Figures = Record<string, number>;

export interface Target {
  key: string;
  label: string;
  ok: (f: Figures) => boolean | null;
  goal: string;
}

export const TARGETS: Target[] = [
  { key: "pipeline_eps", label: "pipeline events/s", goal: ">= 20,000", ok: (f) => nullIfNaN(f.pipeline_eps, (v) => v >= 20_000) },
  {
    key: "reader_eps",
    label: "reader events/s (or ratio to ceiling)",
    goal: ">= 50,000 or reader_ceiling_ratio >= 0.7",
    ok: (f) => nullIfNaN(f.reader_eps, (v) => v >= 50_000 || (f.reader_ceiling_ratio ?? 0) >= 0.7),
  },
  { key: "lag_p99_ms_at_5k", label: "lag p99 at 5k/s, ms", goal: "<= 250", ok: (f) => nullIfNaN(f.lag_p99_ms_at_5k, (v) => v <= 250) },
  { key: "peak_rss_mb", label: "peak RSS, MB", goal: "<= 300", ok: (f) => nullIfNaN(f.peak_rss_mb, (v) => v <= 300) },
  { key: "idle_rss_mb_120_streams", label: "idle RSS with 120 streams, MB", goal: "<= 200", ok: (f) => nullIfNaN(f.idle_rss_mb_120_streams, (v) => v <= 200) },
];

function nullIfNaN(v: number | undefined, test: (v: number) => boolean): boolean | null {
  return v === undefined || !Number.isFinite(v) ? null : test(v);
}

/** Rows of the markdown's main table, in this order. */
const ROWS: Array<[string, string, number]> = [
  ["pipeline_eps", "pipeline (PG → reader → JetStream → JSONata → JetStream → PG sink), events/s", 0],
  ["pipeline_reader_eps", "  stage: reader, events/s (during the pipeline run)", 0],
  ["pipeline_transformer_eps", "  stage: transformer, events/s", 0],
  ["pipeline_sink_eps", "  stage: sink, events/s", 0],
  ["reader_eps", "reader only (PG → JetStream), catch-up, events/s", 0],
  ["decode_ceiling_eps", "ceiling: raw pg-logical-replication decode, rows/s", 0],
  ["publish_ceiling_eps", "ceiling: raw pipelined JetStream publish with Nats-Msg-Id, msgs/s", 0],
  ["publish_ceiling_nodedup_eps", "ceiling: same without Nats-Msg-Id, msgs/s", 0],
  ["reader_ceiling_ratio", "reader / min(decode, publish) ceiling", 2],
  ["reader_decode_ratio", "reader / decode ceiling", 2],
  ["reader_publish_ratio", "reader / publish ceiling", 2],
  ["lag_p50_ms_at_1k", "lag p50 at 1,000 events/s, ms", 1],
  ["lag_p99_ms_at_1k", "lag p99 at 1,000 events/s, ms", 1],
  ["lag_p50_ms_at_5k", "lag p50 at 5,000 events/s, ms", 1],
  ["lag_p99_ms_at_5k", "lag p99 at 5,000 events/s, ms", 1],
  ["peak_rss_mb", "peak RSS of the node (pipeline runs), MB", 0],
  ["idle_rss_mb_120_streams", "idle node with 120 streams: RSS, MB", 0],
  ["idle_cpu_pct_120_streams", "idle node with 120 streams: CPU, % of one core", 2],
  ["pipeline_node_cores", "pipeline run: node process CPU, cores", 2],
  ["pipeline_nats_cores", "pipeline run: nats-server CPU, cores", 2],
  ["pipeline_postgres_cores", "pipeline run: all postgres processes CPU, cores", 2],
  ["pipeline_machine_us", "pipeline run: whole machine CPU per event, µs", 1],
  ["pipeline_node_us", "  of which the node process, µs", 1],
  ["pipeline_nats_us", "  of which nats-server, µs", 1],
  ["pipeline_postgres_us", "  of which postgres (inserts, walsender, sink upserts), µs", 1],
  ["floor_transport_client_us", "floor: two JetStream hops (2 publishes, 2 consumes), client CPU per event, µs", 1],
  ["floor_transport_nats_us", "floor: the same hops, nats-server CPU per event, µs", 1],
  ["floor_transform_us", "floor: JSON.parse + one JSONata evaluation per event, µs", 1],
  ["floor_decode_client_us", "floor: raw pgoutput decoding per row (pg-logical-replication), µs", 1],
  ["floor_us", "floor: sum of the above + postgres per event, µs", 1],
  ["floor_eps", "floor: cores / floor = most events/s the machine can carry", 0],
  ["pipeline_floor_ratio", "pipeline / floor", 2],
  ["mongo_snapshot_eps", "informational: MongoDB source snapshot through the in-process fake, documents/s", 0],
  ["mongo_reader_eps", "informational: MongoDB change stream catch-up through the in-process fake, events/s", 0],
];

export interface Results {
  [key: string]: unknown;
}

/** Builds latest.json: medians at the top level, spreads under `detail`. */
export function buildResults(runs: Figures[], env: Environment, extra: Record<string, unknown>): Results {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const detail: Record<string, Spread> = {};
  const top: Record<string, number> = {};
  for (const k of keys) {
    detail[k] = spread(runs.map((r) => r[k] ?? Number.NaN));
    top[k] = round(detail[k]!.median, k.includes("ratio") || k.includes("cores") ? 3 : 1);
  }
  const targets = TARGETS.map((t) => ({ key: t.key, goal: t.goal, value: top[t.key] ?? null, met: t.ok(top) }));
  return { ...top, ...env, measured_at: new Date().toISOString(), targets, detail, ...extra };
}

/**
 * Where the pipeline is bound: the slowest stage, whether the node's main thread was
 * saturated, and the cost floor of the machine.
 */
export function bottleneck(f: Figures): string {
  const stages: Array<[string, number]> = [
    ["reader", f.pipeline_reader_eps ?? Number.NaN],
    ["transformer", f.pipeline_transformer_eps ?? Number.NaN],
    ["sink", f.pipeline_sink_eps ?? Number.NaN],
  ];
  const known = stages.filter(([, v]) => Number.isFinite(v)).sort((a, b) => a[1] - b[1]);
  if (known.length === 0) return "unknown (the pipeline scenario did not run)";
  const [name, eps] = known[0]!;
  const cores = (k: string) => fmt(f[k], 2);
  const nodeCores = f.pipeline_node_cores ?? 0;
  const rates = stages.map(([n, v]) => `${n} ${fmt(v)}`).join(", ");
  const cpu = `node ${cores("pipeline_node_cores")} cores, nats-server ${cores("pipeline_nats_cores")}, postgres ${cores("pipeline_postgres_cores")}, whole machine ${cores("pipeline_machine_cores")} of ${f.machine_cpus ?? "?"}`;
  const floor = Number.isFinite(f.floor_eps)
    ? ` Cost floor: the work no implementation of this design can skip — two JetStream hops per event through Tributary's own pipelined client path (${fmt(f.floor_transport_client_us, 1)} µs client + ${fmt(f.floor_transport_nats_us, 1)} µs nats-server), one JSON parse and JSONata evaluation (${fmt(f.floor_transform_us, 1)} µs), raw pgoutput decoding (${fmt(f.floor_decode_client_us, 1)} µs) and PostgreSQL's own CPU (${fmt(f.pipeline_postgres_us, 1)} µs) — costs ${fmt(f.floor_us, 1)} µs of CPU per event, so ${f.machine_cpus ?? "the"} cores carry at most ${fmt(f.floor_eps)} events/s even if everything else were free; the pipeline uses ${fmt(f.pipeline_machine_us, 1)} µs per event and reaches ${fmt((f.pipeline_floor_ratio ?? Number.NaN) * 100, 0)} % of that bound`
    : "";
  if (nodeCores >= 0.8) {
    return `the node's main JavaScript thread (${cpu}; the node's figure includes its transform thread and V8's GC threads). The main thread runs the reader, the sink, all NATS client work and the transformer's publishing; JSON parsing and JSONata of large batches run in a transform thread. Stage rates: ${rates} events/s; the slowest, ${name}, at ${fmt(eps)}. The main thread's profile below shows where its time goes.${floor}`;
  }
  return `slowest stage: ${name} at ${fmt(eps)} events/s (stages: ${rates}); the node was not saturated (${cpu}), so the wait is outside it (nats-server, PostgreSQL or the machine).${floor}`;
}

function profileMarkdown(title: string, p: ProfileSummary): string {
  const lines = [
    `### ${title}`,
    "",
    `\`node --cpu-prof\` of the node process; busy ${fmt(p.busy_ms)} ms, idle ${fmt(p.idle_ms)} ms. Busy time by stage:`,
    "",
    "| stage | self ms | % of busy |",
    "| --- | ---: | ---: |",
    ...p.by_stage.map((r) => `| ${r.name} | ${fmt(r.self_ms)} | ${fmt(r.pct, 1)} |`),
    "",
    "Top functions by self time:",
    "",
    "| function | where | self ms | % of busy |",
    "| --- | --- | ---: | ---: |",
    ...p.top.map((r) => `| \`${r.name}\` | ${r.where || "–"} | ${fmt(r.self_ms)} | ${fmt(r.pct, 1)} |`),
    "",
    "By origin:",
    "",
    "| origin | self ms | % of busy |",
    "| --- | ---: | ---: |",
    ...p.by_origin.map((r) => `| ${r.name} | ${fmt(r.self_ms)} | ${fmt(r.pct, 1)} |`),
  ];
  return lines.join("\n");
}

/** The markdown report. */
export function markdown(results: Results, env: Environment, profiles: Array<[string, ProfileSummary]>, notes: string[]): string {
  const detail = results.detail as Record<string, Spread>;
  const targets = results.targets as Array<{ key: string; goal: string; value: number | null; met: boolean | null }>;
  const goalOf = new Map(targets.map((t) => [t.key, t]));
  const runs = (results.runs as number) ?? 1;
  const out: string[] = [
    `# Tributary benchmark${results.quick ? " (quick smoke run: figures are not meaningful)" : ""}`,
    "",
    `Measured ${results.measured_at as string} on ${env.machine.cpus} × ${env.machine.cpu_model}, ${env.machine.mem_gb} GiB, kernel ${env.machine.kernel}; load average at start ${env.machine.loadavg_start.join(" / ")}${env.machine.loadavg_end ? `, at end ${env.machine.loadavg_end.join(" / ")}` : ""}.`,
    `Commit ${env.git.commit}${env.git.dirty ? " (with uncommitted changes)" : ""}. Node ${env.versions.node}, nats-server ${env.versions["nats-server"]}, PostgreSQL ${env.versions.postgres}.`,
    `Each figure is the median of ${runs} run(s); min and max across runs beside it.`,
    "",
    "| figure | median | min | max | target | met |",
    "| --- | ---: | ---: | ---: | --- | --- |",
  ];
  const idleStreams = String((results.config as { idle_streams?: number } | undefined)?.idle_streams ?? 120);
  for (const [key, rawLabel, digits] of ROWS) {
    const s = detail[key];
    if (!s) continue;
    const label = rawLabel.replace("120 streams", `${idleStreams} streams`);
    const t = goalOf.get(key);
    const met = t ? (t.met === null ? "–" : t.met ? "yes" : "**no**") : "";
    out.push(`| ${label} (\`${key}\`) | **${fmt(s.median, digits)}** | ${fmt(s.min, digits)} | ${fmt(s.max, digits)} | ${t?.goal ?? ""} | ${met} |`);
  }
  out.push("", `Pipeline bottleneck: ${results.bottleneck as string}.`, "");
  const missed = targets.filter((t) => t.met === false);
  out.push(missed.length ? `Targets missed: ${missed.map((t) => `\`${t.key}\``).join(", ")}.` : "All targets that ran are met.", "");
  if (notes.length) out.push(...notes.map((n) => `- ${n}`), "");
  out.push("Versions:", "", "| component | version |", "| --- | --- |", ...Object.entries(env.versions).map(([k, v]) => `| ${k} | ${v} |`), "");
  if (profiles.length) out.push("## CPU profiles", "", ...profiles.map(([title, p]) => profileMarkdown(title, p) + "\n"));
  return out.join("\n");
}
