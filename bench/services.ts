/**
 * The benchmark's access to the local services: throw-away PostgreSQL databases with
 * unique names (dropped with their slots afterwards), unique cluster names whose
 * JetStream streams and KV buckets are deleted afterwards, and CPU/RSS readings of
 * processes from /proc — so a run on a used machine behaves like one on a fresh machine.
 */
import { readFileSync, readdirSync } from "node:fs";
import pg from "pg";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { deleteClusterStreams } from "../src/nats/index.js";

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** A unique lower-case name with a prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`.toLowerCase();
}

/** A unique cluster name (letters and digits only). */
export function uniqueCluster(prefix = "bench"): string {
  return `${prefix}${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
}

/** Runs one statement on the maintenance database. */
export async function adminQuery(pgBase: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: `${pgBase}/postgres` });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** A throw-away database with one open client. */
export interface BenchDb {
  name: string;
  url: string;
  client: pg.Client;
  drop(): Promise<void>;
}

/** Creates a database with a unique name. */
export async function createDb(pgBase: string, prefix: string): Promise<BenchDb> {
  const name = uniqueName(prefix);
  await adminQuery(pgBase, `CREATE DATABASE ${name}`);
  const url = `${pgBase}/${name}`;
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      await adminQuery(pgBase, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [name]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await adminQuery(pgBase, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [name]).catch(() => undefined);
      await adminQuery(pgBase, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    },
  };
}

/** Connects a plain client for the bench's own NATS work. */
export function natsConnect(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: "tributary-bench" });
}

/** Deletes the JetStream streams and KV buckets of a (non-default) cluster. */
export async function cleanupCluster(url: string, cluster: string): Promise<void> {
  const nc = await natsConnect(url);
  try {
    await deleteClusterStreams(nc, cluster);
  } finally {
    await nc.close();
  }
}

/** Info of one JetStream stream (null when missing). */
export async function streamState(nc: NatsConnection, name: string): Promise<{ messages: number; lastSeq: number; firstTs: number; lastTs: number } | null> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(name).catch(() => null);
  if (!info) return null;
  const s = info.state;
  return { messages: s.messages, lastSeq: s.last_seq, firstTs: Date.parse(s.first_ts), lastTs: Date.parse(s.last_ts) };
}

/** CPU seconds (user + system) a process has used; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM (peak RSS) of a process in MiB; NaN when it is gone. */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/** Pids whose command name is exactly `comm` (e.g. nats-server, postgres). */
export function pidsOf(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === comm) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Total CPU seconds of every process named `comm` (sums what is alive at the time). */
export function cpuSecondsOf(comm: string): number {
  return pidsOf(comm).reduce((s, p) => s + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0);
}

/** Whole-machine busy CPU seconds (all cores) from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return (total - idle) / TICKS_PER_SECOND;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T> | T, timeoutMs: number, what: string, everyMs = 20): Promise<NonNullable<T>> {
  const t0 = performance.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
