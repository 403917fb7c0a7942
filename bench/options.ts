/**
 * Benchmark options from the command line and the environment. Full mode is what the
 * results in docs/performance.md come from; quick mode (`--quick` or BENCH_QUICK=1) is a
 * single short run with tiny sizes for CI smoke tests: it checks the harness and the
 * output format, its figures mean nothing.
 */
import { TRANSFORMERS } from "./workload.js";

export interface BenchOptions {
  quick: boolean;
  /** runs per figure; each figure is the median of the runs @default 3 (quick: 1) */
  runs: number;
  /** changes (inserts + updates) in the saturation and reader runs @default 200000 */
  events: number;
  /** share of `events` that are updates of rows inserted earlier @default 0.2 */
  updateShare: number;
  /** seconds at each fixed offered rate @default 20 */
  lagSeconds: number;
  /** offered rates of the lag runs, events/s @default [1000, 5000] */
  lagRates: number[];
  /** idle streams held by one node @default 120 */
  idleStreams: number;
  /** seconds the idle node is observed after it settled @default 30 */
  idleSeconds: number;
  /** a CPU-profiled pipeline run after the measured runs @default true (quick: false) */
  profile: boolean;
  /** which scenarios to run @default all */
  only: Set<string> | null;
  outDir: string;
  natsUrl: string;
  pgBase: string;
  /** the pipeline's JSONata transformer, a key of TRANSFORMERS in workload.ts @default filter */
  transformer: string;
  /** log level of the benchmarked node @default warn */
  nodeLogLevel: string;
  /** the node's `transform.threads` (0: transformers on the main thread) @default the node's default */
  transformThreads?: number;
}

export const SCENARIOS = ["ceilings", "reader", "pipeline", "lag", "idle", "mongo"] as const;

function flag(argv: string[], name: string): string | undefined {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && argv[i + 1] && !argv[i + 1]!.startsWith("--")) return argv[i + 1];
  return undefined;
}

function num(v: string | undefined, def: number, what: string): number {
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`bench: ${what} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** Parses argv (without node and script) and the environment. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const quick = argv.includes("--quick") || env.BENCH_QUICK === "1";
  const get = (name: string, envName: string) => flag(argv, name) ?? env[envName];
  const only = get("only", "BENCH_ONLY");
  const rates = get("lag-rates", "BENCH_LAG_RATES");
  for (const s of only?.split(",") ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`bench: unknown scenario ${JSON.stringify(s)} (known: ${SCENARIOS.join(", ")})`);
  }
  return {
    quick,
    runs: Math.round(num(get("runs", "BENCH_RUNS"), quick ? 1 : 3, "--runs")),
    events: Math.round(num(get("events", "BENCH_EVENTS"), quick ? 4000 : 200_000, "--events")),
    updateShare: Math.min(0.9, num(get("update-share", "BENCH_UPDATE_SHARE"), 0.2, "--update-share")),
    lagSeconds: num(get("lag-seconds", "BENCH_LAG_SECONDS"), quick ? 2 : 20, "--lag-seconds"),
    lagRates: rates ? rates.split(",").map((r) => num(r, 1000, "--lag-rates")) : [1000, 5000],
    idleStreams: Math.round(num(get("idle-streams", "BENCH_IDLE_STREAMS"), quick ? 4 : 120, "--idle-streams")),
    idleSeconds: num(get("idle-seconds", "BENCH_IDLE_SECONDS"), quick ? 2 : 30, "--idle-seconds"),
    profile: !argv.includes("--no-profile") && env.BENCH_PROFILE !== "0" && (!quick || argv.includes("--profile")),
    only: only ? new Set(only.split(",")) : null,
    outDir: get("out", "BENCH_OUT") ?? "bench/results",
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    pgBase: env.TEST_PG_URL ?? env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432",
    nodeLogLevel: get("node-log", "BENCH_NODE_LOG") ?? "warn",
    transformThreads: threads(get("transform-threads", "BENCH_TRANSFORM_THREADS")),
    transformer: transformerName(get("transformer", "BENCH_TRANSFORMER") ?? "filter"),
  };
}

function threads(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bench: --transform-threads must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return n;
}

function transformerName(t: string): string {
  if (!Object.hasOwn(TRANSFORMERS, t)) throw new Error(`bench: unknown transformer ${JSON.stringify(t)} (known: ${Object.keys(TRANSFORMERS).join(", ")})`);
  return t;
}

/** True when the scenario is selected. */
export function wants(o: BenchOptions, scenario: (typeof SCENARIOS)[number]): boolean {
  return o.only === null || o.only.has(scenario);
}
