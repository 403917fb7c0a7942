// Microsoft Entra ID sign-in of the Cosmos DB source and sink in a node process, against
// the fake Entra ID and a fake account that refuses account keys (local auth disabled) and
// principals without a data-plane role: a client secret from the config (with its
// authority host) and DefaultAzureCredential restricted to the environment
// (AZURE_TOKEN_CREDENTIALS=EnvironmentCredential), each on a source and on a sink. Short
// token lifetimes show the tokens being refreshed while everything keeps flowing. The node
// runs under the network guard: nothing but loopback may be dialled (no managed identity
// probe of 169.254.169.254, no instance discovery). The secrets never reach the logs, the
// admin API, the metrics, the positions/leases/nodes buckets or the event streams.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmosClient } from "@azure/cosmos";
import { ClientSecretCredential } from "@azure/identity";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { caAgent, childProcessEnv, credentialOptions, decodeJwt, FakeCosmos, FakeEntra, makeTestCa, type TestTls } from "./fakes/cosmos/index.js";
import { NodeProc, assertBuilt, cleanupCluster, eventually, natsConnect, netGuard, pipelineConfig, uniqueCluster } from "./support/index.js";

const SECRET1 = "app1-Client~Secret.value-0123456789";
const SECRET2 = "app2-Client~Secret.value-9876543210";

let dir: string;
let tls: TestTls;
let entra: FakeEntra;
let cosmos: FakeCosmos;
let admin: CosmosClient;
let node: NodeProc | undefined;
const cluster = uniqueCluster("cauth");

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "cosmos-auth-"));
  tls = await makeTestCa(dir);
  entra = await FakeEntra.start({ tls, tenants: { t1: { clients: { app1: SECRET1, app2: SECRET2, admin: "admin-secret" } } }, tokenLifetimeSec: 70 });
  const principals = ["app1", "app2", "admin"].map((c) => entra.objectId("t1", c));
  cosmos = await FakeCosmos.start({ tls, disableLocalAuth: true, entra: { allowedPrincipals: principals } });
  admin = new CosmosClient({ endpoint: cosmos.endpoint, aadCredentials: new ClientSecretCredential("t1", "admin", "admin-secret", credentialOptions(entra, tls)), agent: caAgent(tls) });
  const { database } = await admin.databases.createIfNotExists({ id: "shop" });
  for (const c of ["a", "a_copy", "b", "b_copy"]) await database.containers.createIfNotExists({ id: c, partitionKey: { paths: ["/pk"] } });
  await database.containers.createIfNotExists({ id: "tributary_offsets", partitionKey: { paths: ["/id"] } });
});
afterAll(async () => {
  await node?.kill9();
  admin?.dispose();
  await cosmos?.stop();
  await entra?.stop();
  await cleanupCluster(cluster);
  await rm(dir, { recursive: true, force: true });
});

/** User properties of a container's documents, sorted by id. */
const userDocs = (container: string) =>
  cosmos.documents("shop", container).map(({ _rid, _self, _etag, _attachments, _ts, ...u }) => u).sort((x, y) => String(x.id).localeCompare(String(y.id)));

describe("Cosmos DB with Microsoft Entra ID", () => {
  it("client secret and DefaultAzureCredential on a source and a sink; tokens refreshed; only loopback dialled; secrets nowhere", async () => {
    const c = admin.database("shop");
    for (let i = 0; i < 20; i++) {
      await c.container("a").items.create({ id: `a${i}`, pk: `p${i % 3}`, v: i, nested: { ok: true } });
      await c.container("b").items.create({ id: `b${i}`, pk: `p${i % 3}`, v: i });
    }
    const withSecret = { entra: { tenantId: "t1", clientId: "app1", clientSecret: "${APP1_SECRET}", authorityHost: entra.authorityHost } };
    const withDefault = { entra: { default: true } };
    const source = (container: string, auth: unknown) => ({ type: "cosmosdb", endpoint: cosmos.endpoint, database: "shop", containers: [container], auth, pollInterval: "200ms" });
    const sink = (auth: unknown) => ({ name: "copy", type: "cosmosdb", endpoint: cosmos.endpoint, database: "shop", container: "{table}_copy", partitionKey: "/pk", auth, batchMaxRows: 100 });
    const streams = [
      { id: "s_secret", source: source("a", withSecret), sinks: [sink(withDefault)] },
      { id: "s_default", source: source("b", withDefault), sinks: [sink(withSecret)] },
    ];
    const guard = netGuard(join(dir, "guard.log"));
    node = await NodeProc.create({
      config: pipelineConfig(cluster, streams)("n1", { log: { level: "debug" } }),
      env: { ...childProcessEnv(tls, { entra, tenant: "t1", clientId: "app2", secret: SECRET2 }), ...guard.env, APP1_SECRET: SECRET1 },
    });
    node.start();
    await node.waitReady({ actors: 4, timeoutMs: 90_000 });
    for (let i = 20; i < 40; i++) {
      await c.container("a").items.upsert({ id: `a${i}`, pk: `p${i % 3}`, v: i });
      await c.container("b").items.upsert({ id: `b${i}`, pk: `p${i % 3}`, v: i });
    }
    // tokens are refreshed (the fake issues 70 s tokens: the SDK renews them 2 minutes before expiry, i.e. at once)
    const tokensOf = (app: string) => cosmos.auth.tokens.filter((t) => decodeJwt(t)?.appid === app);
    await eventually(() => tokensOf("app1").length >= 3 && tokensOf("app2").length >= 3, 60_000, "refreshed tokens of both identities in use");
    await eventually(() => userDocs("a_copy").length === 40 && userDocs("b_copy").length === 40, 60_000, "the copies");
    expect(userDocs("a_copy")).toEqual(userDocs("a"));
    expect(userDocs("b_copy")).toEqual(userDocs("b"));
    // each renewal happened while the previous token was still valid: no request was refused
    for (const app of ["app1", "app2"]) {
      const issued = entra.issued.filter((t) => t.clientId === app);
      for (let i = 1; i < issued.length; i++) expect(issued[i]!.claims.iat).toBeLessThan(issued[i - 1]!.claims.exp);
    }
    expect(cosmos.auth.rejected).toBe(0);
    expect(cosmos.auth.master).toBe(0);
    // the client secret credential used the configured authority host; DefaultAzureCredential the environment's
    expect(entra.issued.some((t) => t.clientId === "app1")).toBe(true);
    expect(entra.issued.some((t) => t.clientId === "app2")).toBe(true);
    expect(guard.loaded()).toContain(node.pid);
    expect(guard.refused()).toEqual([]);

    // the secrets are nowhere an operator or another process can read them
    const places: Array<[string, string]> = [
      ["logs", node.output],
      ["/v1/actors", JSON.stringify(await node.json("/v1/actors"))],
      ["/metrics", await (await fetch(`${node.adminUrl}/metrics`)).text()],
    ];
    const nc = await natsConnect();
    try {
      const kvm = new Kvm(nc);
      for (const bucket of ["positions", "leases", "nodes"]) {
        const kv = await kvm.open(`${cluster}_${bucket}`);
        for await (const k of await kv.keys()) places.push([`${bucket} ${k}`, (await kv.get(k))?.string() ?? ""]);
      }
      const jsm = await jetstreamManager(nc);
      for (const s of ["s_secret", "s_default"]) {
        const name = `${cluster}_CDC_${s}`;
        const info = await jsm.streams.info(name);
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage(name, { seq });
          places.push([`${name} ${seq}`, `${m?.string() ?? ""} ${JSON.stringify([...(m?.header ?? [])])}`]);
        }
      }
    } finally {
      await nc.close();
    }
    expect(places.length).toBeGreaterThan(50);
    for (const [where, text] of places) {
      expect(text.includes(SECRET1), `${where} holds app1's secret`).toBe(false);
      expect(text.includes(SECRET2), `${where} holds app2's secret`).toBe(false);
      for (const t of entra.issued) expect(text.includes(t.token), `${where} holds an access token`).toBe(false);
    }
    expect(await node.term()).toBe(0);
  });

  it("the network guard refuses and records a connection to a non-loopback address, and lets loopback through", async () => {
    const guard = netGuard(join(dir, "guard-self.log"));
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    // addresses of this machine itself: if the guard failed, nothing would leave the machine
    const own = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address ?? "0.0.0.0";
    const code = `
      import net from "node:net";
      const dial = (host, port) => new Promise((res) => { const s = net.connect(port, host); s.on("connect", () => { s.destroy(); res("connected"); }); s.on("error", (e) => res(e.message)); });
      console.log(JSON.stringify([await dial("127.0.0.1", ${port}), await dial("${own}", ${port}), await dial("0.0.0.0", ${port})]));
    `;
    try {
      const child = spawn(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, ...guard.env }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      expect(await new Promise((r) => child.on("exit", r))).toBe(0);
      const [loop, ownIp, any] = JSON.parse(out.trim().split("\n").pop()!) as string[];
      expect(loop).toBe("connected");
      expect(ownIp).toBe(`test network guard: refused a connection to ${own}:${port} (only loopback is allowed in tests)`);
      expect(any).toMatch(/^test network guard: refused a connection to 0\.0\.0\.0/);
      expect(guard.refused().map((r) => `${r.host}:${r.port}`)).toEqual([`${own}:${port}`, `0.0.0.0:${port}`]);
      expect(guard.loaded()).toEqual([child.pid]);
    } finally {
      server.close();
    }
  });
});
