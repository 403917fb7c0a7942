// Smoke test of `npm run bench`: one quick run with tiny sizes on the real services. It
// checks the output FORMAT only (every key present, every figure a finite number, the
// markdown table written) — never a speed: the machine is shared and noisy.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const RUNNER = resolve("dist/bench/run.js");

const FIGURES = [
  "pipeline_eps",
  "reader_eps",
  "lag_p50_ms_at_5k",
  "lag_p99_ms_at_5k",
  "lag_p50_ms_at_1k",
  "lag_p99_ms_at_1k",
  "peak_rss_mb",
  "reader_ceiling_ratio",
  "publish_ceiling_eps",
  "decode_ceiling_eps",
  "idle_rss_mb_120_streams",
  "idle_cpu_pct_120_streams",
  "pipeline_machine_us",
  "floor_transport_client_us",
  "floor_transport_nats_us",
  "floor_transform_us",
  "floor_decode_client_us",
  "floor_us",
  "floor_eps",
  "pipeline_floor_ratio",
  "mongo_snapshot_eps",
  "mongo_reader_eps",
];

describe("npm run bench --quick", () => {
  it("writes latest.json with every figure, the machine, versions and commit, and latest.md", () => {
    if (!existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: run npm run build (npm test does)`);
    const out = mkdtempSync(join(tmpdir(), "tributary-bench-smoke-"));
    try {
      const args = ["--quick", "--out", out, "--events", "2000", "--lag-seconds", "1", "--idle-streams", "2", "--idle-seconds", "1"];
      const r = spawnSync(process.execPath, [RUNNER, ...args], { encoding: "utf8", timeout: 100_000 });
      expect(r.status, r.stderr.slice(-3000)).toBe(0);

      const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as Record<string, unknown>;
      for (const k of FIGURES) {
        expect(typeof json[k], k).toBe("number");
        expect(Number.isFinite(json[k]), `${k} = ${String(json[k])}`).toBe(true);
      }
      const machine = json.machine as Record<string, unknown>;
      expect(machine.cpus).toBeGreaterThan(0);
      expect(machine.mem_gb).toBeGreaterThan(0);
      expect(Array.isArray(machine.loadavg_start)).toBe(true);
      const versions = json.versions as Record<string, string>;
      for (const k of ["node", "nats-server", "postgres", "pg", "pg-logical-replication", "@nats-io/transport-node", "jsonata"]) {
        expect(versions[k], k).toMatch(/\d/);
      }
      expect((json.git as { commit: string }).commit).toMatch(/^([0-9a-f]{40}|unknown)$/);
      expect(json.quick).toBe(true);
      const detail = json.detail as Record<string, { median: number; min: number; max: number; values: number[] }>;
      expect(detail.pipeline_eps!.values).toHaveLength(1);
      expect((json.targets as unknown[]).length).toBeGreaterThan(0);

      const md = readFileSync(join(out, "latest.md"), "utf8");
      expect(md).toMatch(/^# Tributary benchmark/);
      expect(md).toMatch(/\| figure \| median \| min \| max \| target \| met \|/);
      for (const k of FIGURES) expect(md).toContain(`\`${k}\``);
      expect(md).toMatch(/Cost floor: .* µs of CPU per event/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
