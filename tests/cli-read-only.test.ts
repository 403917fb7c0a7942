/**
 * The CLI's smaller promises (issue 11, item 6): read-only commands create nothing on NATS
 * (`tributary status --cluster typo` used to leave four empty buckets) and say which clusters
 * exist; a command whose reader closes the pipe (`tributary positions | head -1`) ends quietly
 * with exit code 0 instead of dying with EPIPE; `validate` checks URLs when the file is read,
 * naming the field path and never the password.
 */
import { spawn } from "node:child_process";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openControlPlane } from "../src/nats/index.js";
import { CLI, NATS_URL, assertBuilt, cleanupCluster, natsConnect, uniqueCluster, writeConfigFile } from "./support/index.js";

let nc: NatsConnection;
const cluster = uniqueCluster("ro");

beforeAll(async () => {
  assertBuilt();
  nc = await natsConnect();
});
afterAll(async () => {
  await cleanupCluster(cluster);
  await nc.close();
});

function run(cmd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn("bash", ["-c", cmd], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NATS_URL } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const tributary = (args: string) => `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args}`;

async function kvStreamsOf(name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const n of (await jetstreamManager(nc)).streams.names()) if (n.startsWith(`KV_${name}_`)) out.push(n);
  return out;
}

describe("read-only commands never create buckets", () => {
  it("status, positions, pause and resume of a cluster that does not exist fail, name the clusters found, and leave nothing behind", async () => {
    await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 });
    const typo = `${cluster}x`;
    for (const args of [`status --cluster ${typo}`, `positions --cluster ${typo}`, `status --json --cluster ${typo}`, `pause s1 --cluster ${typo}`, `resume s1 --cluster ${typo}`]) {
      const r = await run(tributary(args));
      expect(r.code, args).toBe(1);
      expect(r.stderr, args).toMatch(new RegExp(`tributary: cluster "${typo}" does not exist on this NATS server \\(no bucket ${typo}_streams\\); nothing was created\\. Clusters found: .*\\b${cluster}\\b`));
    }
    expect(await kvStreamsOf(typo)).toEqual([]);
  });
});

describe("a closed pipe ends the command quietly", () => {
  it("tributary positions | head -1 exits 0 without an EPIPE error", async () => {
    const cp = await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 });
    await Promise.all(Array.from({ length: 3000 }, (_, i) => cp.positions.put(`s${i}.sink.k`, JSON.stringify({ position: { seq: i }, epoch: 1, node: "n", updated: new Date().toISOString() }))));
    const r = await run(`set -o pipefail; ${tributary(`positions --cluster ${cluster}`)} | head -1`);
    expect(r.stdout).toMatch(/^KEY +POSITION +EPOCH +NODE +UPDATED\n$/);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("validate checks connection URLs with the field path", () => {
  it("refuses a port that is not a number, without showing the password (exit 2)", async () => {
    const f = writeConfigFile({ streams: [{ id: "s", source: { type: "postgres", url: "postgres://app:secret@db:notaport/shop", tables: ["public.t"] } }] });
    const r = await run(tributary(`validate -f ${f}`));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`streams.0.source.url: its port "notaport" is not a number (got "postgres://app:***@db:notaport/shop")`);
    expect(r.stderr + r.stdout).not.toContain("secret");
  });
});
