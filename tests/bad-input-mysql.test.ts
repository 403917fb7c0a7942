// Bad input met at run time by MySQL streams: wrong credentials, a server with the binary
// log disabled (a MariaDB of the test's own, started with --skip-log-bin: the shared server
// must keep its binlog), a table without a primary key, a missing table, a missing target
// table, and a binlog position the server no longer has — each an error naming the
// problem and the fix (in /v1/actors), while a healthy stream keeps running. The purged
// position is then repaired with the `snapshot` action (POST /v1/streams/:id/snapshot).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { cleanupCluster, createMyDb, eventually, freePort, type MyTestDb, natsConnect, type ScratchMariaDb, startScratchMariaDb, startTestNode, uniqueCluster } from "./support/index.js";
import { openControlPlane } from "../src/nats/index.js";
import type { RunningNode } from "../src/node/index.js";

let db: MyTestDb;
let dst: MyTestDb;
let scratch: ScratchMariaDb | undefined;
let node: RunningNode | undefined;
const cluster = uniqueCluster("mybad");

beforeAll(async () => {
  db = await createMyDb("mybad");
  dst = await createMyDb("mybad_dst");
  await db.query("CREATE TABLE nokey (a INT, b TEXT)");
  await db.query("CREATE TABLE ok (id INT PRIMARY KEY, v VARCHAR(20))");
  await db.query("INSERT INTO ok VALUES (1, 'x'), (2, 'y')");
  scratch = await startScratchMariaDb(await freePort(), ["--skip-log-bin"]);
  await scratch.query("CREATE DATABASE app");
  await scratch.query("CREATE TABLE app.t (id INT PRIMARY KEY)");
}, 120_000);
afterAll(async () => {
  await node?.shutdown("test end");
  await scratch?.stop();
  await db?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

const actor = (id: string) => node!.supervisor.actors().find((a) => a.id === id);
const errorOf = (id: string) => actor(id)?.lastError ?? null;

describe("MySQL run-time bad input", () => {
  it("names each problem and the fix, and keeps the healthy stream running", async () => {
    // a checkpoint in a binlog file the server does not have (as after PURGE BINARY LOGS)
    const nc = await natsConnect();
    try {
      const cp = await openControlPlane(nc, { cluster, replicas: 1, leaseTtl: 4000, nodeTtl: 3000 });
      const gone = { file: "mariadb-bin.000000", pos: 4, snapshotDone: true, serverId: 77 };
      await cp.positions.put("purged", JSON.stringify({ position: gone, epoch: 0, node: "test", updated: new Date().toISOString() }));
    } finally {
      await nc.close();
    }
    const tables = [`${db.name}.ok`];
    node = await startTestNode(cluster, [
      { id: "badauth", source: { type: "mysql", url: `mysql://no_such_user:s3cret@127.0.0.1:3306/${db.name}`, tables } },
      { id: "nobinlog", source: { type: "mysql", url: `${scratch!.url}/app`, tables: ["app.t"] } },
      { id: "nokey", source: { type: "mysql", url: db.url, tables: [`${db.name}.nokey`] } },
      { id: "missing", source: { type: "mysql", url: db.url, tables: [`${db.name}.nope`] } },
      {
        id: "healthy",
        source: { type: "mysql", url: db.url, tables },
        sinks: [
          { name: "strict", type: "mysql", url: dst.url, table: "{table}_missing" },
          { name: "badsink", type: "mysql", url: `mysql://root:wrong@127.0.0.1:1/${dst.name}` },
        ],
      },
      { id: "purged", source: { type: "mysql", url: db.url, tables }, sinks: [{ name: "copy", type: "mysql", url: dst.url, table: "purged_{table}", autoCreate: true }] },
    ]);

    await eventually(() => errorOf("stream.badauth"), 30_000, "auth error");
    expect(errorOf("stream.badauth")).toMatch(/^MySQL source mysql:\/\/no_such_user:\*\*\*@127\.0\.0\.1:3306\/\S+: Access denied for user 'no_such_user'.*\[ER_ACCESS_DENIED_ERROR, SQLSTATE 28000\]/);
    expect(errorOf("stream.badauth")).not.toContain("s3cret");
    expect(actor("stream.badauth")?.state).toBe("running.failed"); // not retryable as is: slow retries

    await eventually(() => errorOf("stream.nobinlog"), 30_000, "binlog error");
    expect(errorOf("stream.nobinlog")).toMatch(/MySQL source mysql:\/\/root@127\.0\.0\.1:\d+\/app cannot be captured: the binary log is disabled \(log_bin is OFF\): enable it in the server config \(log_bin = <basename>, server_id = <n>\) and restart the server/);
    expect(actor("stream.nobinlog")?.state).toBe("running.failed");

    await eventually(() => errorOf("stream.nokey"), 30_000, "no-key error");
    expect(errorOf("stream.nokey")).toMatch(new RegExp(`table ${db.name}\\.nokey has no primary key: a target keyed by all its columns would collapse duplicate rows.*Add a primary key \\(ALTER TABLE \`${db.name}\`\\.\`nokey\` ADD PRIMARY KEY .*set source\\.keylessTables: insert-only`));

    await eventually(() => errorOf("stream.missing"), 30_000, "missing table error");
    expect(errorOf("stream.missing")).toMatch(new RegExp(`table ${db.name}\\.nope does not exist .*in MySQL source mysql://root@127\\.0\\.0\\.1:3306/${db.name}`));

    await eventually(() => errorOf("stream.purged"), 30_000, "purged error");
    expect(errorOf("stream.purged")).toMatch(/the binlog of stream purged at mariadb-bin\.000000:4 is no longer on MySQL source .*\(oldest binlog: .*\): it was purged .*Re-snapshot the stream \(POST \/v1\/streams\/purged\/snapshot\)/);

    // the healthy reader runs; its sinks refuse a missing target table and bad credentials clearly
    await eventually(() => actor("stream.healthy")?.ready, 30_000, "healthy reader");
    await eventually(() => errorOf("sink.healthy.strict"), 30_000, "missing target error");
    expect(errorOf("sink.healthy.strict")).toMatch(/mysql sink healthy\.strict, table `\S+`\.`ok_missing`: table does not exist \(autoCreate: true would create it/);
    await eventually(() => errorOf("sink.healthy.badsink"), 30_000, "sink connection error");
    expect(errorOf("sink.healthy.badsink")).toMatch(/mysql sink healthy\.badsink: mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/\S+: .*ECONNREFUSED/);

    // the fix the message names: re-snapshot; the stream then copies the table
    const r = await node!.admin.inject({ method: "POST", url: "/v1/streams/purged/snapshot" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: "purged", snapshot: "requested", previousPosition: { file: "mariadb-bin.000000" }, paused: false });
    await eventually(async () => Number((await dst.query<Array<{ n: number }>>("SELECT COUNT(*) AS n FROM purged_ok").catch(() => [{ n: 0 }]))[0]?.n) === 2, 60_000, "re-snapshotted rows in the target");
    await eventually(() => actor("stream.purged")?.ready, 30_000, "purged stream running again");
    await db.query("INSERT INTO ok VALUES (3, 'z')");
    await eventually(async () => Number((await dst.query<Array<{ n: number }>>("SELECT COUNT(*) AS n FROM purged_ok"))[0]?.n) === 3, 30_000, "a change after the re-snapshot");

    const unknown = await node!.admin.inject({ method: "POST", url: "/v1/streams/nope/snapshot" });
    expect(unknown.statusCode).toBe(404);
  }, 240_000);
});
