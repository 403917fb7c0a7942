/**
 * What a result was measured on: machine (cores, memory, load), versions of Node,
 * nats-server, PostgreSQL and the packages that matter, and the git commit (with a
 * flag when the tree had uncommitted changes).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem, release, hostname } from "node:os";
import { createRequire } from "node:module";
import type { NatsConnection } from "@nats-io/transport-node";
import { adminQuery } from "../tests/support/index.js";

const PACKAGES = [
  "@nats-io/transport-node",
  "@nats-io/nats-core",
  "@nats-io/jetstream",
  "@nats-io/kv",
  "pg",
  "pg-logical-replication",
  "pg-copy-streams",
  "jsonata",
  "xstate",
  "prom-client",
  "pino",
];

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    const dir = require.resolve(`${name}/package.json`, { paths: [process.cwd()] });
    return (JSON.parse(readFileSync(dir, "utf8")) as { version: string }).version;
  } catch {
    try {
      return (JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")) as { version: string }).version;
    } catch {
      return "unknown";
    }
  }
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

export interface Environment {
  machine: { cpus: number; cpu_model: string; mem_gb: number; kernel: string; host: string; loadavg_start: number[]; loadavg_end?: number[] };
  versions: Record<string, string>;
  git: { commit: string; dirty: boolean };
}

/** Collects the environment at the start of a run. */
export async function environment(nc: NatsConnection, pgBase: string): Promise<Environment> {
  const pgVersion = (await adminQuery("SHOW server_version", [], pgBase)).rows[0]?.server_version as string;
  const versions: Record<string, string> = {
    node: process.version,
    "nats-server": nc.info?.version ?? "unknown",
    postgres: pgVersion ?? "unknown",
    tributary: (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version,
  };
  for (const p of PACKAGES) versions[p] = packageVersion(p);
  return {
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? "unknown",
      mem_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      kernel: release(),
      host: hostname(),
      loadavg_start: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    versions,
    git: { commit: git(["rev-parse", "HEAD"]) || "unknown", dirty: git(["status", "--porcelain", "--untracked-files=no"]) !== "" },
  };
}
