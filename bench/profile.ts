/**
 * Summarizes a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function,
 * per origin (a package in node_modules, a Tributary source file, Node internals, GC) and
 * per pipeline stage, as shares of the profile's busy (non-idle) time. Note that a sample
 * is wall-clock: time the thread was preempted inside a system call (a socket write that
 * wakes nats-server) counts for that call.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  self_ms: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  busy_ms: number;
  idle_ms: number;
  top: ProfileRow[];
  by_origin: ProfileRow[];
  /** busy time by pipeline stage: the outermost frame on the stack that belongs to one */
  by_stage: ProfileRow[];
}

/**
 * Pipeline stages by the frames that run them, in the order they are tried from the
 * outermost frame inwards (so e.g. JSON.parse under the sink's loop counts for the sink).
 */
const STAGES: Array<[string, (url: string, fn: string) => boolean]> = [
  ["publish: flush to the NATS client (header and proto encoding, socket write)", (u, f) => /nats\/chain-publisher/.test(u) && /flushOut/.test(f)],
  ["publish acks", (u, f) => /nats\/chain-publisher/.test(u) && /onAck|callback/.test(f)],
  ["reader: pgoutput decode, rows, event JSON", (u) => /connectors\/postgres\/(source|event-builder|type-map|pg-datetime|position)|core\/change-queue|pg-logical-replication|eventemitter2/.test(u)],
  ["transformer: JSON parse, JSONata", (u) => /\/transform\/|node_modules\/jsonata/.test(u)],
  ["source kernel: the publish loop of readers and transformers", (u) => /core\/source-work/.test(u)],
  ["sink: JSON parse, coalesce, COPY/upsert", (u) => /core\/sink-work|core\/coalesce|sink-writer|sql-sink|sink-statements|pg-copy-streams/.test(u)],
  ["PostgreSQL client: socket reads (replication stream, sink results)", (u) => /node_modules\/pg\/|pg-protocol/.test(u)],
  ["consumers: fetch, batch", (u) => /stream-consumer|jetstream\/lib\/consumer|queued_iterator/.test(u)],
  ["NATS client: incoming messages (deliveries, acks)", (u) => /nats-core\/lib\/(protocol|parser)/.test(u)],
  ["event publisher: headers", (u) => /event-publisher/.test(u)],
  ["control plane: leases, checkpoints, KV", (u) => /nats\/(lease|positions|control-plane)|core\/checkpointer|node_modules\/@nats-io\/kv/.test(u)],
];

/** Where a script URL comes from: `pkg:<name>`, `tributary:<path>`, `node`, or the special frames. */
export function originOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return `pkg:${nm[1]}`;
  const own = /\/dist\/((?:src|actors|bench)\/.+)\.js$/.exec(url);
  if (own) return `tributary:${own[1]}`;
  if (url.startsWith("node:")) return "node";
  return url;
}

function shortWhere(url: string, line: number): string {
  const nm = /node_modules\/(.+)$/.exec(url);
  const own = /\/dist\/(.+)$/.exec(url);
  const file = nm?.[1] ?? own?.[1] ?? url;
  return file ? `${file}:${line + 1}` : "";
}

/** Reads and summarizes a profile; `top` rows of each list. */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfById.set(id, (selfById.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = (id: number): string => {
    const leaf = byId.get(id)!.callFrame.functionName;
    if (leaf === "(garbage collector)") return "garbage collector";
    const chain: ProfileNode["callFrame"][] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) chain.push(byId.get(x)!.callFrame);
    // outermost first; the pg client's frames only when nothing of ours runs inside them
    // (pgoutput decoding is called from the pg client's socket handler)
    for (const pass of [STAGES.filter(([n]) => !n.startsWith("PostgreSQL client")), STAGES]) {
      for (let i = chain.length - 1; i >= 0; i--) {
        for (const [name, test] of pass) if (test(chain[i]!.url, chain[i]!.functionName)) return name;
      }
    }
    return "other (start-up, timers, admin, promise machinery)";
  };
  const stages = new Map<string, ProfileRow>();
  const fns = new Map<string, ProfileRow>();
  const origins = new Map<string, ProfileRow>();
  let busy = 0;
  let idle = 0;
  for (const [id, ms] of selfById) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName || "(anonymous)";
    if (fn === "(idle)") {
      idle += ms;
      continue;
    }
    busy += ms;
    const where = shortWhere(n.callFrame.url, n.callFrame.lineNumber);
    const key = `${fn}@${where}`;
    const row = fns.get(key) ?? { name: fn, where, self_ms: 0, pct: 0 };
    row.self_ms += ms;
    fns.set(key, row);
    const stage = stageOf(id);
    const st = stages.get(stage) ?? { name: stage, where: "", self_ms: 0, pct: 0 };
    st.self_ms += ms;
    stages.set(stage, st);
    const origin = originOf(n.callFrame.url, fn);
    const o = origins.get(origin) ?? { name: origin, where: "", self_ms: 0, pct: 0 };
    o.self_ms += ms;
    origins.set(origin, o);
  }
  const finish = (rows: Iterable<ProfileRow>) =>
    [...rows]
      .map((r) => ({ ...r, self_ms: Math.round(r.self_ms), pct: Math.round((r.self_ms / Math.max(1, busy)) * 1000) / 10 }))
      .sort((a, b) => b.self_ms - a.self_ms)
      .slice(0, top);
  return { file, busy_ms: Math.round(busy), idle_ms: Math.round(idle), top: finish(fns.values()), by_origin: finish(origins.values()), by_stage: finish(stages.values()) };
}
