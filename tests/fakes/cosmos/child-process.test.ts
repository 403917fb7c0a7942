/**
 * Pins the way connector tests will use the fakes: SDK code in a CHILD node process trusting
 * the test CA through NODE_EXTRA_CA_CERTS and authenticating with DefaultAzureCredential from
 * the environment, killed with SIGKILL while the fakes keep running in the test process.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CosmosClient } from "@azure/cosmos";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, GiveUp } from "../../support/index.js";
import { caAgent, childProcessEnv, FakeCosmos, FakeEntra, makeTestCa, type TestTls } from "./index.js";

// Child code: no agent, no policies — the CA comes from NODE_EXTRA_CA_CERTS, the identity from AZURE_*.
const CHILD = `
import { CosmosClient } from "@azure/cosmos";
import { DefaultAzureCredential } from "@azure/identity";
const aadCredentials = new DefaultAzureCredential({ disableInstanceDiscovery: true });
const client = new CosmosClient({ endpoint: process.env.COSMOS_ENDPOINT, aadCredentials });
const c = client.database("db").container("c");
if (process.argv[1] === "write-forever") {
  for (let i = 0; ; i++) await c.items.upsert({ id: "d" + i, pk: "p", n: i });
} else {
  let n = 0;
  const it = c.items.getChangeFeedIterator({ changeFeedStartFrom: (await import("@azure/cosmos")).ChangeFeedStartFrom.Beginning() });
  for (let r = await it.readNext(); r.statusCode === 200; r = await it.readNext()) n += r.result.length;
  console.log(JSON.stringify({ count: n }));
  client.dispose();
}
`;

let dir: string;
let tls: TestTls;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fake-cosmos-child-"));
  tls = await makeTestCa(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function child(mode: string, env: Record<string, string>) {
  const p = spawn(process.execPath, ["--input-type=module", "-e", CHILD, mode], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.on("exit", (code) => resolve(code)));
  return { p, exited, output: () => out };
}

it("a child process killed with SIGKILL mid-write; the fakes keep serving the next one", async () => {
  const entra = await FakeEntra.start({ tls, tenants: { t1: { clients: { app1: "sekret" } } } });
  const cosmos = await FakeCosmos.start({ tls });
  const setup = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.masterKey, agent: caAgent(tls) });
  try {
    const { database } = await setup.databases.createIfNotExists({ id: "db" });
    await database.containers.createIfNotExists({ id: "c", partitionKey: { paths: ["/pk"] } });
    const env = { ...childProcessEnv(tls, { entra, tenant: "t1", clientId: "app1", secret: "sekret" }), COSMOS_ENDPOINT: cosmos.endpoint };

    const writer = child("write-forever", env);
    await eventually(
      () => {
        if (writer.p.exitCode !== null) throw new GiveUp(`the writer exited with ${writer.p.exitCode}: ${writer.output()}`);
        return cosmos.documents("db", "c").length >= 5;
      },
      30_000,
      "5 documents from the child",
      100,
    );
    writer.p.kill("SIGKILL");
    expect(await writer.exited).toBeNull();

    const reader = child("count", env);
    expect(await reader.exited).toBe(0);
    // Counted after the reader: a request the writer sent just before dying may still have landed.
    const written = cosmos.documents("db", "c").length;
    expect(written).toBeGreaterThanOrEqual(5);
    expect(JSON.parse(reader.output().trim())).toEqual({ count: written });
    expect(entra.issued).toHaveLength(2);
    expect(cosmos.auth.aad).toBeGreaterThan(written);
  } finally {
    setup.dispose();
    await cosmos.stop();
    await entra.stop();
  }
});
