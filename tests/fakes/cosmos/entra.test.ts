/**
 * Pins Entra ID auth end to end: real @azure/identity credentials get tokens from FakeEntra,
 * the real @azure/cosmos SDK sends them as `type=aad`, FakeCosmos checks them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CosmosClient, ErrorResponse } from "@azure/cosmos";
import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caAgent, credentialOptions, decodeJwt, FakeCosmos, FakeEntra, makeTestCa, type TestTls, withEnv } from "./index.js";

let dir: string;
let tls: TestTls;
const tenants = { t1: { clients: { app1: "sekret", app2: "other-sekret" } } };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fake-entra-"));
  tls = await makeTestCa(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

async function roundTrip(client: CosmosClient): Promise<void> {
  const { database } = await client.databases.createIfNotExists({ id: "db" });
  const { container } = await database.containers.createIfNotExists({ id: "c", partitionKey: { paths: ["/pk"] } });
  await container.items.upsert({ id: "a", pk: "p" });
  expect((await container.item("a", "p").read()).statusCode).toBe(200);
}

describe("Entra ID auth against FakeEntra", () => {
  it("ClientSecretCredential: tokens for the endpoint audience, accepted by the gateway", async () => {
    const entra = await FakeEntra.start({ tls, tenants });
    const cosmos = await FakeCosmos.start({ tls });
    const credential = new ClientSecretCredential("t1", "app1", "sekret", credentialOptions(entra, tls));
    const client = new CosmosClient({ endpoint: cosmos.endpoint, aadCredentials: credential, agent: caAgent(tls) });
    try {
      await roundTrip(client);
      expect(entra.requests).toEqual(["GET /t1/v2.0/.well-known/openid-configuration", "POST /t1/oauth2/v2.0/token"]);
      expect(entra.issued).toHaveLength(1);
      const claims = entra.issued[0]!.claims;
      expect(claims).toMatchObject({ aud: cosmos.origin, tid: "t1", appid: "app1", oid: entra.objectId("t1", "app1") });
      expect(entra.issued[0]!.scope).toBe(`${cosmos.origin}/.default`);
      expect(cosmos.auth.master).toBe(0);
      expect(cosmos.auth.aad).toBeGreaterThan(5);
      // A one-hour token is cached by MSAL and not refreshed during the test.
      expect(cosmos.auth.tokens).toEqual([entra.issued[0]!.token]);
    } finally {
      client.dispose();
      await cosmos.stop();
      await entra.stop();
    }
  });

  it("DefaultAzureCredential restricted to EnvironmentCredential", async () => {
    const entra = await FakeEntra.start({ tls, tenants });
    const cosmos = await FakeCosmos.start({ tls });
    const env = {
      AZURE_TENANT_ID: "t1", AZURE_CLIENT_ID: "app2", AZURE_CLIENT_SECRET: "other-sekret",
      AZURE_AUTHORITY_HOST: entra.authorityHost, AZURE_TOKEN_CREDENTIALS: "EnvironmentCredential",
    };
    const { additionalPolicies } = credentialOptions(entra, tls);
    // The variables stay set while the credential is used: MSAL reads AZURE_AUTHORITY_HOST per token request.
    await withEnv(env, async () => {
      const credential = new DefaultAzureCredential({ disableInstanceDiscovery: true, ...(additionalPolicies ? { additionalPolicies } : {}) });
      const client = new CosmosClient({ endpoint: cosmos.endpoint, aadCredentials: credential, agent: caAgent(tls) });
      try {
        await roundTrip(client);
        expect(entra.issued.map((t) => t.clientId)).toEqual(["app2"]);
        expect(decodeJwt(cosmos.auth.tokens[0]!)?.appid).toBe("app2");
      } finally {
        client.dispose();
      }
    });
    await cosmos.stop();
    await entra.stop();
  });

  it("DefaultAzureCredential restricted to EnvironmentCredential never falls through to managed identity", async () => {
    const entra = await FakeEntra.start({ tls, tenants });
    const { additionalPolicies } = credentialOptions(entra, tls);
    try {
      const err = await withEnv({ AZURE_TOKEN_CREDENTIALS: "EnvironmentCredential" }, () =>
        caught(new DefaultAzureCredential({ disableInstanceDiscovery: true, ...(additionalPolicies ? { additionalPolicies } : {}) })
          .getToken("https://127.0.0.1/.default")));
      expect(err.message).toContain("EnvironmentCredential");
      expect(err.message).not.toContain("ManagedIdentityCredential");
      expect(entra.requests).toEqual([]);
    } finally {
      await entra.stop();
    }
  });

  it("refuses a wrong client secret with AADSTS7000215 and the gateway never sees a token", async () => {
    const entra = await FakeEntra.start({ tls, tenants });
    const cosmos = await FakeCosmos.start({ tls });
    const credential = new ClientSecretCredential("t1", "app1", "wrong", credentialOptions(entra, tls));
    const client = new CosmosClient({ endpoint: cosmos.endpoint, aadCredentials: credential, agent: caAgent(tls) });
    try {
      const direct = await caught(credential.getToken(`${cosmos.origin}/.default`));
      expect(direct.message).toContain("AADSTS7000215");
      const viaSdk = await caught(client.databases.createIfNotExists({ id: "db" }));
      expect(viaSdk.message).toContain("AADSTS7000215");
      expect(entra.issued).toHaveLength(0);
      expect(entra.refused).toBeGreaterThanOrEqual(2);
      expect(cosmos.auth.aad).toBe(0);
    } finally {
      client.dispose();
      await cosmos.stop();
      await entra.stop();
    }
  });

  it("refreshes a short-lived token ahead of its expiry (70 s lifetime, inside the 2-minute refresh window)", async () => {
    const entra = await FakeEntra.start({ tls, tenants, tokenLifetimeSec: 70 });
    const cosmos = await FakeCosmos.start({ tls });
    const credential = new ClientSecretCredential("t1", "app1", "sekret", credentialOptions(entra, tls));
    const client = new CosmosClient({ endpoint: cosmos.endpoint, aadCredentials: credential, agent: caAgent(tls) });
    try {
      await roundTrip(client);
      const { container } = await client.database("db").containers.createIfNotExists({ id: "c", partitionKey: { paths: ["/pk"] } });
      for (let i = 0; i < 5 && cosmos.auth.tokens.length < 2; i++) await container.item("a", "p").read();
      expect(cosmos.auth.tokens.length).toBeGreaterThanOrEqual(2);
      const [first, second] = cosmos.auth.tokens.map((t) => decodeJwt(t)!);
      expect(second!.uti).not.toBe(first!.uti);
      // The second token was fetched while the first was still valid: a refresh, not a recovery.
      expect(second!.iat).toBeLessThan(first!.exp);
      expect(cosmos.auth.rejected).toBe(0);
    } finally {
      client.dispose();
      await cosmos.stop();
      await entra.stop();
    }
  });

  it("refuses a principal without a data-plane role with 403 substatus 5301", async () => {
    const entra = await FakeEntra.start({ tls, tenants });
    const cosmos = await FakeCosmos.start({ tls, entra: { allowedPrincipals: [entra.objectId("t1", "app1")] } });
    const allowed = new CosmosClient({
      endpoint: cosmos.endpoint, agent: caAgent(tls),
      aadCredentials: new ClientSecretCredential("t1", "app1", "sekret", credentialOptions(entra, tls)),
    });
    const denied = new CosmosClient({
      endpoint: cosmos.endpoint, agent: caAgent(tls),
      aadCredentials: new ClientSecretCredential("t1", "app2", "other-sekret", credentialOptions(entra, tls)),
    });
    try {
      await roundTrip(allowed);
      const err = await caught(denied.database("db").container("c").item("a", "p").read());
      expect(err).toBeInstanceOf(ErrorResponse);
      expect((err as ErrorResponse).code).toBe(403);
      expect((err as ErrorResponse).substatus).toBe(5301);
    } finally {
      allowed.dispose();
      denied.dispose();
      await cosmos.stop();
      await entra.stop();
    }
  });

  it("refuses a token for another audience with 401", async () => {
    const entra = await FakeEntra.start({ tls, tenants });
    const cosmos = await FakeCosmos.start({ tls });
    // Same server, other name: the SDK asks for a token for https://localhost:PORT, not this account's origin.
    const otherName = cosmos.endpoint.replace("127.0.0.1", "localhost");
    const client = new CosmosClient({
      endpoint: otherName, agent: caAgent(tls),
      aadCredentials: new ClientSecretCredential("t1", "app1", "sekret", credentialOptions(entra, tls)),
    });
    try {
      const err = await caught(client.databases.createIfNotExists({ id: "db" }));
      expect((err as ErrorResponse).code).toBe(401);
      expect(entra.issued[0]!.claims.aud).toBe(otherName.replace(/\/$/, ""));
      expect(cosmos.auth.aad).toBe(0);
    } finally {
      client.dispose();
      await cosmos.stop();
      await entra.stop();
    }
  });
});
