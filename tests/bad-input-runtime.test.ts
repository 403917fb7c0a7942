// Bad input met at run time: an unreachable source database, wrong credentials, a table
// without a primary key, a missing target table. Each actor reports an error naming the
// problem (in /v1/actors) and retries without losing anything; the others keep running.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { cleanupCluster, createDb, eventually, startTestNode, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";
import type { RunningNode } from "../src/node/index.js";

let db: TestDb;
let node: RunningNode;
const cluster = uniqueCluster("bad");

beforeAll(async () => {
  db = await createDb("bad");
  await db.query("CREATE TABLE nokey (a int, b text); CREATE TABLE ok (id int primary key, v text); INSERT INTO ok VALUES (1, 'x')");
});
afterAll(async () => {
  await node?.shutdown("test end");
  await db?.drop();
  await cleanupCluster(cluster);
});

const errorOf = (id: string) => node.supervisor.actors().find((a) => a.id === id)?.lastError ?? null;
const stateOf = (id: string) => node.supervisor.actors().find((a) => a.id === id)?.state;

describe("run-time bad input", () => {
  it("names each problem and keeps the healthy stream running", async () => {
    const slot = (s: string) => uniqueName(s).slice(0, 60);
    node = await startTestNode(cluster, [
      { id: "unreachable", source: { type: "postgres", url: "postgres://postgres@127.0.0.1:1/nowhere", tables: ["public.t"], slot: slot("u") } },
      { id: "badauth", source: { type: "postgres", url: `postgres://no_such_user@127.0.0.1:5432/${db.name}`, tables: ["public.ok"], slot: slot("a") } },
      { id: "nokey", source: { type: "postgres", url: db.url, tables: ["public.nokey"], slot: slot("k") } },
      { id: "missingtable", source: { type: "postgres", url: db.url, tables: ["public.nope"], slot: slot("m") } },
      {
        id: "healthy",
        source: { type: "postgres", url: db.url, tables: ["public.ok"], slot: slot("h") },
        sinks: [{ name: "strict", type: "postgres", url: db.url, table: "public.{table}_missing" }],
      },
    ]);
    await eventually(() => errorOf("stream.unreachable"), 20_000, "unreachable error");
    expect(errorOf("stream.unreachable")).toMatch(/PostgreSQL source postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
    expect(stateOf("stream.unreachable")).toBe("running.backoff");

    await eventually(() => errorOf("stream.badauth"), 20_000, "auth error");
    expect(errorOf("stream.badauth")).toMatch(/role "no_such_user" does not exist/);
    expect(stateOf("stream.badauth")).toBe("running.failed"); // not retryable as is: slow retries

    await eventually(() => errorOf("stream.nokey"), 20_000, "no-key error");
    expect(errorOf("stream.nokey")).toMatch(/table public\.nokey has no primary key: add one \(or, to replicate it insert-only, run ALTER TABLE "public"\."nokey" REPLICA IDENTITY FULL .* set source\.keylessTables: insert-only\)/);

    await eventually(() => errorOf("stream.missingtable"), 20_000, "missing table error");
    expect(errorOf("stream.missingtable")).toMatch(/table public\.nope does not exist/);

    // the healthy reader runs; its sink refuses the missing target table with a clear message
    await eventually(() => node.supervisor.actors().find((a) => a.id === "stream.healthy")?.ready, 20_000, "healthy reader");
    await eventually(() => errorOf("sink.healthy.strict"), 20_000, "sink error");
    expect(errorOf("sink.healthy.strict")).toMatch(/ok_missing.*(does not exist|autoCreate)/i);

    // every error is counted in /metrics, per stream and actor
    const metrics = (await node.admin.inject({ url: "/metrics" })).body;
    expect(metrics).toMatch(/tributary_errors_total\{stream="unreachable",actor="stream.unreachable"\} [1-9]/);
    expect(metrics).toMatch(/tributary_errors_total\{stream="nokey",actor="stream.nokey"\} [1-9]/);
  });
});
