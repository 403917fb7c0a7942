/**
 * Secrets never leave the node (issue 11, item 2; docs/adr/0013). A real node process gets
 * planted secrets — database passwords from its environment and from a mounted file, a NATS
 * password in the server URL (a private nats-server with a user), admin tokens — runs a
 * PostgreSQL stream with a working sink and sinks that fail (connection refused, a wrong
 * MySQL password, a variable this node lacks), and is driven through the admin API and the
 * CLI. Then every output is searched for every secret: the node's log, every /v1/* answer,
 * /readyz, /metrics, the CLI's output and errors, and every revision of every KV bucket and
 * every message of every JetStream stream on the server.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeProc, assertBuilt, createDb, eventually, runCli, startNatsServer, type NatsServerProc, type TestDb } from "./support/index.js";

const rand = () => Math.random().toString(36).slice(2, 10);
const secrets = {
  pgEnv: `pg-env-${rand()}${rand()}`,
  pgFile: `pg-file-${rand()}${rand()}`,
  mysql: `my-pw-${rand()}${rand()}`,
  nats: `nats-pw-${rand()}${rand()}`,
  adminToken: `admin-token-${rand()}${rand()}`,
  readToken: `read-token-${rand()}${rand()}`,
};
const dir = mkdtempSync(join(tmpdir(), "tributary-secrets-"));
const cluster = `sec${rand()}`;
let nats: NatsServerProc;
let src: TestDb;
let dst: TestDb;
let node: NodeProc;
let natsUrl: string;
/** every text a user or an attacker on the machine could read, by where it came from */
const outputs: Array<[string, string]> = [];

async function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runCli(args, 30_000, { env: envOf() });
  return { code: r.code, out: r.stdout + r.stderr };
}

const envOf = () => ({ TRIB_PG_PW: secrets.pgEnv, TRIB_MY_PW: secrets.mysql, TRIB_NATS_PW: secrets.nats, TRIB_READ_TOKEN: secrets.readToken });

beforeAll(async () => {
  assertBuilt();
  nats = await startNatsServer({ args: ["-js", "--user", "tributary", "--pass", secrets.nats] });
  natsUrl = `nats://tributary:${secrets.nats}@127.0.0.1:${nats.port}`;
  src = await createDb("secsrc");
  dst = await createDb("secdst");
  await src.query("CREATE TABLE items (id int PRIMARY KEY, name text)");
  const pwFile = join(dir, "pg-password");
  writeFileSync(pwFile, secrets.pgFile + "\n", { mode: 0o600 });
  const tokenFile = join(dir, "admin-token");
  writeFileSync(tokenFile, secrets.adminToken, { mode: 0o600 });
  const base = (db: TestDb, pw: string) => db.url.replace("postgres://postgres@", `postgres://postgres:${pw}@`);
  node = await NodeProc.create({
    config: {
      cluster,
      nats: { servers: ["nats://tributary:${TRIB_NATS_PW}@127.0.0.1:" + nats.port] },
      node: { id: "secret-node" },
      admin: { token: `\${file:${tokenFile}}`, readToken: "${TRIB_READ_TOKEN}" },
      leases: { ttl: "4s", nodeTtl: "3s" },
      checkpoint: { interval: "200ms" },
      streams: [
        {
          id: "items",
          source: { type: "postgres", url: base(src, "${TRIB_PG_PW}"), tables: ["public.items"] },
          sinks: [
            { name: "ok", type: "postgres", url: base(dst, `\${file:${pwFile}}`), autoCreate: true },
            { name: "refused", type: "postgres", url: "postgres://postgres:${TRIB_PG_PW}@127.0.0.1:1/nowhere" },
            { name: "wrongpw", type: "mysql", url: "mysql://root:${TRIB_MY_PW}@127.0.0.1:3306/mysql" },
            { name: "unset", type: "postgres", url: "postgres://postgres:${TRIB_NOT_ON_THIS_NODE}@127.0.0.1:5432/x" },
          ],
        },
      ],
    },
    env: envOf(),
  });
  node.start();
}, 120_000);

afterAll(async () => {
  await node?.term().catch(() => undefined);
  await nats?.stop();
  await src?.drop();
  await dst?.drop();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
async function get(path: string, token = secrets.readToken): Promise<string> {
  const r = await fetch(node.adminUrl + path, { headers: auth(token) });
  return `${r.status} ${await r.text()}`;
}

describe("a planted secret appears in no output and in no bucket", () => {
  it("runs the stream: the working sink applies, the others fail with errors", async () => {
    await src.query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g");
    await eventually(async () => Number((await dst.query<{ n: number }>("SELECT count(*)::int AS n FROM public.items").catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n) === 50, 60_000, "the ok sink applied 50 rows");
    const actors = await eventually(async () => {
      const a = JSON.parse((await get("/v1/actors")).slice(4)) as { actors: Array<{ id: string; lastError: string | null }> };
      const failing = a.actors.filter((x) => x.lastError !== null).map((x) => x.id).sort();
      return failing.length >= 3 ? a.actors : null;
    }, 60_000, "three sinks reporting their errors");
    const err = (id: string) => actors.find((a) => a.id === id)?.lastError ?? "";
    expect(err("sink.items.unset")).toMatch(/environment variable TRIB_NOT_ON_THIS_NODE is not set/);
    expect(err("sink.items.wrongpw")).toMatch(/Access denied/);
    expect(err("sink.items.refused")).toMatch(/ECONNREFUSED|connect/);
  });

  it("collects every output", async () => {
    for (const path of ["/v1/actors", "/v1/streams", "/v1/streams/items", "/v1/cluster", "/v1/health", "/readyz", "/healthz", "/metrics"]) outputs.push([`GET ${path}`, await get(path)]);
    for (const [method, path] of [["POST", "/v1/streams/items/pause"], ["POST", "/v1/streams/items/resume"]] as const) {
      const r = await fetch(node.adminUrl + path, { method, headers: auth(secrets.adminToken) });
      outputs.push([`${method} ${path}`, `${r.status} ${await r.text()}`]);
      expect(r.status).toBe(200);
    }
    const wrong = await fetch(node.adminUrl + "/v1/streams/items/pause", { method: "POST", headers: auth(secrets.readToken) });
    outputs.push(["POST with the read token", `${wrong.status} ${await wrong.text()}`]);
    expect(wrong.status).toBe(403);
    const cfgFile = node.configFile;
    for (const args of [
      ["status", "-s", natsUrl, "--cluster", cluster],
      ["status", "--json", "-s", natsUrl, "--cluster", cluster],
      ["positions", "-s", natsUrl, "--cluster", cluster],
      ["validate", "-f", cfgFile],
      ["apply", "-f", cfgFile, "--dry-run"],
      ["status", "-s", `nats://tributary:${secrets.nats}@127.0.0.1:1`, "--cluster", cluster],
      ["status", "-s", `nats://tributary:wrong-${secrets.nats}@127.0.0.1:${nats.port}`, "--cluster", cluster],
    ]) {
      const r = await cli(args);
      outputs.push([`tributary ${args.slice(0, 2).join(" ")}`, r.out]);
    }
    expect(outputs.find(([w]) => w === "tributary status -s")?.[1]).toContain("sink.items.ok");
    // the log, after all of the above happened (errors are logged as they happen)
    outputs.push(["node log", node.output]);
    expect(node.output).toMatch(/"actor":"sink\.items\.wrongpw"/);
  });

  it("finds no secret in any output", () => {
    expect(outputs.length).toBeGreaterThanOrEqual(19);
    const leaks: string[] = [];
    for (const [where, text] of outputs) for (const [name, value] of Object.entries(secrets)) if (text.includes(value)) leaks.push(`${name} in ${where}`);
    expect(leaks).toEqual([]);
  });

  it("finds no secret in any revision of any KV bucket, nor in any message of any JetStream stream", async () => {
    const nc: NatsConnection = await connect({ servers: `127.0.0.1:${nats.port}`, user: "tributary", pass: secrets.nats });
    try {
      const jsm = await jetstreamManager(nc);
      const kvm = new Kvm(nc);
      const leaks: string[] = [];
      let entries = 0;
      for await (const info of jsm.streams.list()) {
        const name = info.config.name;
        if (name.startsWith("KV_")) {
          const kv = await kvm.open(name.slice(3));
          for await (const key of await kv.keys()) {
            for await (const e of await kv.history({ key })) {
              entries++;
              const text = new TextDecoder().decode(e.value);
              for (const [n, v] of Object.entries(secrets)) if (text.includes(v)) leaks.push(`${n} in ${name} ${key}@${e.revision}`);
            }
          }
        } else {
          for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
            const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
            if (!m) continue;
            entries++;
            const text = new TextDecoder().decode(m.data) + JSON.stringify(m.header ? [...m.header] : []);
            for (const [n, v] of Object.entries(secrets)) if (text.includes(v)) leaks.push(`${n} in ${name} #${seq}`);
          }
        }
      }
      expect(entries).toBeGreaterThan(50);
      expect(leaks).toEqual([]);
      // and the streams bucket holds the references as written
      const spec = (await (await kvm.open(`${cluster}_streams`)).get("items"))!.string();
      expect(spec).toContain("postgres://postgres:${TRIB_PG_PW}@");
      expect(spec).toContain("${file:");
    } finally {
      await nc.close();
    }
  });
});
