/** Pins the fake's database/container/document REST behaviour through the real @azure/cosmos SDK. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeFeedStartFrom, CosmosClient, type Container, ErrorResponse } from "@azure/cosmos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caAgent, FakeCosmos, makeTestCa, MAX_DOC_BYTES, type TestTls } from "./index.js";

let dir: string;
let tls: TestTls;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fake-cosmos-crud-"));
  tls = await makeTestCa(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<ErrorResponse> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ErrorResponse) return err;
    throw err;
  }
  throw new Error("expected the SDK to throw");
}

async function container(client: CosmosClient, paths = ["/pk"], version?: number): Promise<Container> {
  const { database } = await client.databases.createIfNotExists({ id: "db" });
  const { container: c } = await database.containers.createIfNotExists({
    id: `c-${paths.join("-").replace(/\//g, "")}-${version ?? 1}`,
    partitionKey: { paths, ...(version ? { version } : {}) },
  });
  return c;
}

describe.each([
  ["http", false],
  ["https", true],
])("document CRUD with key auth over %s", (_name, secure) => {
  it("creates, reads, upserts, replaces, patches and deletes with system properties", async () => {
    const fake = await FakeCosmos.start(secure ? { tls } : {});
    const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey, ...(secure ? { agent: caAgent(tls) } : {}) });
    try {
      expect(fake.endpoint.startsWith(secure ? "https://127.0.0.1:" : "http://127.0.0.1:")).toBe(true);
      const c = await container(client);
      const created = await c.items.create({ id: "a", pk: "p1", n: 1 });
      expect(created.statusCode).toBe(201);
      const doc = created.resource!;
      for (const k of ["_rid", "_self", "_etag", "_attachments", "_ts"]) expect(doc).toHaveProperty(k);
      const dbRid = (await c.database.read()).resource!._rid;
      const collRid = (await c.read()).resource!._rid;
      expect(doc._self).toBe(`dbs/${dbRid}/colls/${collRid}/docs/${doc._rid}/`);

      const read = await c.item("a", "p1").read();
      expect(read.statusCode).toBe(200);
      expect(read.resource).toMatchObject({ id: "a", pk: "p1", n: 1, _etag: doc._etag });
      expect((await c.item("a", "other-pk").read()).statusCode).toBe(404);
      expect((await c.item("missing", "p1").read()).statusCode).toBe(404);

      const conflict = await caught(c.items.create({ id: "a", pk: "p1" }));
      expect(conflict.code).toBe(409);

      const up1 = await c.items.upsert({ id: "b", pk: "p1", n: 1 });
      const up2 = await c.items.upsert({ id: "b", pk: "p1", n: 2 });
      expect([up1.statusCode, up2.statusCode]).toEqual([201, 200]);
      expect(up2.resource!._etag).not.toBe(up1.resource!._etag);
      expect(up2.resource!._rid).toBe(up1.resource!._rid);

      const replaced = await c.item("a", "p1").replace({ id: "a", pk: "p1", n: 5 });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.resource!._etag).not.toBe(doc._etag);

      const patched = await c.item("a", "p1").patch([{ op: "incr", path: "/n", value: 2 }, { op: "set", path: "/tag", value: "x" }]);
      expect(patched.resource).toMatchObject({ n: 7, tag: "x" });

      expect((await c.item("a", "p1").delete()).statusCode).toBe(204);
      expect((await c.item("a", "p1").read()).statusCode).toBe(404);
      expect((await caught(c.item("a", "p1").delete())).code).toBe(404);
      expect((await caught(c.item("nope", "p1").replace({ id: "nope", pk: "p1" }))).code).toBe(404);
      expect(fake.auth.master).toBeGreaterThan(10);
      expect(fake.auth.aad).toBe(0);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });
});

describe("document rules", () => {
  it("refuses a replace with a stale etag (412) and accepts the current one", async () => {
    const fake = await FakeCosmos.start({ tls });
    const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey, agent: caAgent(tls) });
    try {
      const c = await container(client);
      const first = (await c.items.create({ id: "offset", pk: "s", pos: 1 })).resource!;
      const second = (await c.item("offset", "s").replace({ id: "offset", pk: "s", pos: 2 }, { accessCondition: { type: "IfMatch", condition: first._etag } })).resource!;
      const stale = await caught(c.item("offset", "s").replace({ id: "offset", pk: "s", pos: 3 }, { accessCondition: { type: "IfMatch", condition: first._etag } }));
      expect(stale.code).toBe(412);
      expect((await c.item("offset", "s").read()).resource!.pos).toBe(2);
      const third = await c.item("offset", "s").replace({ id: "offset", pk: "s", pos: 3 }, { accessCondition: { type: "IfMatch", condition: second._etag } });
      expect(third.resource!.pos).toBe(3);
      expect((await caught(c.item("offset", "s").delete({ accessCondition: { type: "IfMatch", condition: second._etag } }))).code).toBe(412);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });

  it("refuses a document over 2 MB with 413 and accepts one just under", async () => {
    const fake = await FakeCosmos.start();
    const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey });
    try {
      const c = await container(client);
      const big = await caught(c.items.create({ id: "big", pk: "p", blob: "x".repeat(MAX_DOC_BYTES) }));
      expect(big.code).toBe(413);
      const ok = await c.items.create({ id: "ok", pk: "p", blob: "x".repeat(MAX_DOC_BYTES - 100) });
      expect(ok.statusCode).toBe(201);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });

  it("keys documents by a nested partition key path and checks it against the header", async () => {
    const fake = await FakeCosmos.start();
    const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey });
    try {
      const c = await container(client, ["/a/b"], 2);
      await c.items.create({ id: "x", a: { b: "k1" }, v: 1 });
      await c.items.create({ id: "x", a: { b: "k2" }, v: 2 });
      expect((await c.item("x", "k1").read()).resource!.v).toBe(1);
      expect((await c.item("x", "k2").read()).resource!.v).toBe(2);
      await c.items.create({ id: "y", a: { b: "k1" } });
      // The item is addressed under k2 (header) while its body says k1.
      const wrong = await caught(c.item("y", "k2").replace({ id: "y", a: { b: "k1" } }));
      expect(wrong.code).toBe(400);
      expect(wrong.substatus).toBe(1001);
      const noKey = await c.items.create({ id: "z" });
      expect(noKey.statusCode).toBe(201);
      expect(fake.documents("db", "c-ab-2").map((d) => d.id).sort()).toEqual(["x", "x", "y", "z"]);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });

  it("a recreated container gets a new _rid and the SDK refuses its old continuation token", async () => {
    const fake = await FakeCosmos.start();
    const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey });
    try {
      const c = await container(client);
      await c.items.create({ id: "a", pk: "p" });
      const it = c.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
      const token = (await it.readNext()).continuationToken;
      const oldRid = (await c.read()).resource!._rid;
      await c.delete();
      expect((await caught(c.read())).code).toBe(404);
      const again = await container(client);
      expect((await again.read()).resource!._rid).not.toBe(oldRid);
      const resumed = again.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Continuation(token) });
      await expect(resumed.readNext()).rejects.toThrow(/continuation token is not for the current container/i);
      await again.database.delete();
      expect((await caught(again.database.read())).code).toBe(404);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });

  it("answers 401 with a JSON body to a wrong master key", async () => {
    const fake = await FakeCosmos.start();
    const other = Buffer.alloc(64, 7).toString("base64");
    const client = new CosmosClient({ endpoint: fake.endpoint, key: other });
    try {
      const err = await caught(client.databases.createIfNotExists({ id: "db" }));
      expect(err.code).toBe(401);
      expect(err.body).toMatchObject({ code: "Unauthorized" });
      expect(fake.auth.rejected).toBeGreaterThan(0);
      expect(fake.auth.master).toBe(0);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });

  it("refuses master keys when local auth is disabled", async () => {
    const fake = await FakeCosmos.start({ disableLocalAuth: true });
    const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey });
    try {
      expect((await caught(client.databases.createIfNotExists({ id: "db" }))).code).toBe(403);
    } finally {
      client.dispose();
      await fake.stop();
    }
  });
});
