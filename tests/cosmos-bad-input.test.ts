// Bad input met at run time by Cosmos DB sources and sinks in a node process: an endpoint
// nobody listens on, a wrong account key, a wrong client secret, an identity without a
// data-plane role, a missing container, a missing offsets container — each an error in
// /v1/actors that names the account, the container and the way out, without the key or
// secret, while a healthy sink of the same stream keeps writing.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmosClient } from "@azure/cosmos";
import { caAgent, childProcessEnv, FakeCosmos, FakeEntra, makeTestCa, type TestTls } from "./fakes/cosmos/index.js";
import { NodeProc, assertBuilt, cleanupCluster, eventually, freePort, pipelineConfig, uniqueCluster } from "./support/index.js";

const WRONG_KEY = Buffer.from("definitely-not-the-account-key-0123456789").toString("base64");
const WRONG_SECRET = "wrong-client-secret-value-42";

let dir: string;
let tls: TestTls;
let entra: FakeEntra;
let cosmos: FakeCosmos;
let admin: CosmosClient;
let node: NodeProc | undefined;
const cluster = uniqueCluster("cbad");

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), "cosmos-bad-"));
  tls = await makeTestCa(dir);
  entra = await FakeEntra.start({ tls, tenants: { t1: { clients: { app1: "right-secret", norole: "norole-secret" } } } });
  cosmos = await FakeCosmos.start({ tls, entra: { allowedPrincipals: [entra.objectId("t1", "app1")] } });
  admin = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.masterKey, agent: caAgent(tls) });
  const { database } = await admin.databases.createIfNotExists({ id: "shop" });
  for (const c of ["orders", "rows_ok"]) await database.containers.createIfNotExists({ id: c, partitionKey: { paths: [c === "orders" ? "/pk" : "/id"] } });
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

describe("Cosmos DB run-time bad input", () => {
  it("names each problem and the fix, never the secret, and keeps the healthy sink running", async () => {
    const closed = await freePort(); // nobody listens there
    const key = { key: "${COSMOS_KEY}" };
    const secret = (clientId: string, value: string) => ({ entra: { tenantId: "t1", clientId, clientSecret: value, authorityHost: entra.authorityHost } });
    const src = (extra: Record<string, unknown>) => ({ type: "cosmosdb", endpoint: cosmos.endpoint, database: "shop", containers: ["orders"], auth: key, pollInterval: "200ms", ...extra });
    const sink = (name: string, extra: Record<string, unknown>) => ({ name, type: "cosmosdb", endpoint: cosmos.endpoint, database: "shop", container: "{table}_ok", partitionKey: "/id", auth: key, ...extra });
    const streams = [
      { id: "endpoint", source: src({ endpoint: `https://127.0.0.1:${closed}/` }) },
      { id: "wrongkey", source: src({ auth: { key: "${WRONG_KEY}" } }) },
      { id: "wrongsecret", source: src({ auth: secret("app1", "${WRONG_SECRET}") }) },
      { id: "norole", source: src({ auth: secret("norole", "norole-secret") }) },
      { id: "missing", source: src({ containers: ["orders", "nope"] }) },
      {
        id: "sinks",
        source: { type: "generator", rate: 20, table: "gen.rows", keys: 50 },
        sinks: [
          sink("good", {}),
          sink("endpoint", { endpoint: `https://127.0.0.1:${closed}/` }),
          sink("wrongkey", { auth: { key: "${WRONG_KEY}" } }),
          sink("wrongsecret", { auth: secret("app1", "${WRONG_SECRET}") }),
          sink("nocontainer", { container: "{table}_missing" }),
          sink("nooffsets", { offsetsContainer: "no_offsets" }),
        ],
      },
    ];
    node = await NodeProc.create({ config: pipelineConfig(cluster, streams)("n1"), env: { ...childProcessEnv(tls), COSMOS_KEY: cosmos.masterKey, WRONG_KEY, WRONG_SECRET } });
    node.start();
    type Actor = { id: string; state: string; lastError: string | null };
    const actors = async () => (await node!.json<{ actors: Actor[] }>("/v1/actors")).actors;
    const errorOf = async (id: string) => (await actors()).find((a) => a.id === id)?.lastError ?? null;
    const expectError = async (id: string, re: RegExp) => {
      const e = await eventually(() => errorOf(id), 60_000, `the error of ${id}`);
      expect(e).toMatch(re);
      for (const s of [WRONG_KEY, WRONG_SECRET, cosmos.masterKey, "norole-secret"]) expect(e).not.toContain(s);
    };
    const ep = `https://127\\.0\\.0\\.1:${closed}/`;
    const account = cosmos.endpoint.replace(/[.]/g, "\\.");
    await expectError("stream.endpoint", new RegExp(`^Cosmos DB source ${ep} container shop/orders: reading the container's definition: cannot reach the account \\(ECONNREFUSED\\): connect ECONNREFUSED 127\\.0\\.0\\.1:${closed}$`));
    await expectError("stream.wrongkey", new RegExp(`^Cosmos DB source ${account} container shop/orders: reading the container's definition: the account refused the sign-in \\(401\\): The input authorization token can't serve the request\\. .*Check auth\\.key \\(the account's primary or secondary key\\)`));
    await expectError("stream.wrongsecret", new RegExp(`^Cosmos DB source ${account} container shop/orders: reading the container's definition: Microsoft Entra ID sign-in failed \\(\\w+\\): AADSTS7000215: Invalid client secret provided\\..*Check auth\\.entra`));
    await expectError("stream.norole", new RegExp(`^Cosmos DB source ${account} container shop/orders: reading the container's definition: the identity has no data-plane role on the account \\(403/5301\\): assign it the "Cosmos DB Built-in Data Reader" role \\(docs/operations\\.md\\)`));
    await expectError("stream.missing", new RegExp(`^Cosmos DB source ${account}: container shop/nope does not exist \\(or database shop does not\\): create it or fix source\\.containers / source\\.database of stream missing$`));
    await expectError("sink.sinks.endpoint", new RegExp(`^Cosmos DB sink ${ep} container shop/tributary_offsets: reading the offsets container: cannot reach the account \\(ECONNREFUSED\\)`));
    await expectError("sink.sinks.wrongkey", /^Cosmos DB sink .* container shop\/tributary_offsets: reading the offsets container: the account refused the sign-in \(401\)/);
    await expectError("sink.sinks.wrongsecret", /^Cosmos DB sink .* container shop\/tributary_offsets: reading the offsets container: Microsoft Entra ID sign-in failed \(\w+\): AADSTS7000215/);
    await expectError("sink.sinks.nocontainer", new RegExp(`^Cosmos DB sink ${account}: the target container shop/rows_missing does not exist \\(or database shop does not\\): create it with partition key /id, or set autoCreate: true$`));
    await expectError("sink.sinks.nooffsets", new RegExp(`^Cosmos DB sink ${account}: the offsets container shop/no_offsets does not exist \\(or database shop does not\\): create it with partition key /id, or set autoCreate: true$`));

    // refusals that retrying cannot fix wait in failed; the healthy sink of the same stream keeps writing
    const byId = new Map((await actors()).map((a) => [a.id, a]));
    for (const id of ["stream.wrongkey", "stream.wrongsecret", "stream.norole", "stream.missing", "sink.sinks.nocontainer", "sink.sinks.nooffsets"]) expect([id, byId.get(id)?.state]).toEqual([id, "running.failed"]);
    const before = cosmos.documents("shop", "rows_ok").length;
    await eventually(() => cosmos.documents("shop", "rows_ok").length >= Math.min(50, before + 5), 30_000, "the good sink writing");
    expect(byId.get("sink.sinks.good")?.lastError).toBeNull();
    expect(node.output).not.toContain(WRONG_SECRET);
    expect(node.output).not.toContain(WRONG_KEY);
  });
});
