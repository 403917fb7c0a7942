/** Which credential a config builds, and where the request plugin files a request. */
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { describe, expect, it } from "vitest";
import { containerOfPath, credentialFor, credentialPlan } from "./client.js";

describe("credentialPlan", () => {
  it("client secret: the tenant and client, instance discovery off only with an authority host", () => {
    const entra = { tenantId: "t1", clientId: "app1", clientSecret: "s3cret" };
    expect(credentialPlan(entra, {})).toEqual({ kind: "clientSecret", tenantId: "t1", clientId: "app1", disableInstanceDiscovery: false });
    expect(credentialPlan({ ...entra, authorityHost: "https://127.0.0.1:9443/" }, {})).toEqual({
      kind: "clientSecret", tenantId: "t1", clientId: "app1", authorityHost: "https://127.0.0.1:9443", disableInstanceDiscovery: true,
    });
    expect(JSON.stringify(credentialPlan(entra, {}))).not.toContain("s3cret");
  });

  it("managed identity: system-assigned, or user-assigned by client id", () => {
    expect(credentialPlan({ managedIdentity: true }, {})).toEqual({ kind: "managedIdentity" });
    expect(credentialPlan({ managedIdentity: true, clientId: "mi1" }, {})).toEqual({ kind: "managedIdentity", clientId: "mi1" });
  });

  it("DefaultAzureCredential: instance discovery off with an authority host from the config or AZURE_AUTHORITY_HOST", () => {
    expect(credentialPlan({ default: true }, {})).toEqual({ kind: "default", disableInstanceDiscovery: false });
    expect(credentialPlan({ default: true }, { AZURE_AUTHORITY_HOST: "https://127.0.0.1:1" })).toEqual({ kind: "default", disableInstanceDiscovery: true });
    expect(credentialPlan({ default: true, authorityHost: "https://login.microsoftonline.us" }, {})).toEqual({
      kind: "default", authorityHost: "https://login.microsoftonline.us", disableInstanceDiscovery: true,
    });
  });

  it("credentialFor builds the planned credential (no token is requested here)", () => {
    expect(credentialFor({ tenantId: "t1", clientId: "app1", clientSecret: "s" }, {})).toBeInstanceOf(ClientSecretCredential);
    expect(credentialFor({ managedIdentity: true }, {})).toBeInstanceOf(ManagedIdentityCredential);
    expect(credentialFor({ default: true }, {})).toBeInstanceOf(DefaultAzureCredential);
  });
});

describe("containerOfPath", () => {
  it("names the container of a request path, decoded; account requests have none", () => {
    expect(containerOfPath("/dbs/shop/colls/orders/docs")).toBe("orders");
    expect(containerOfPath("/dbs/shop/colls/my%20orders/docs/1")).toBe("my orders");
    expect(containerOfPath("/dbs/shop")).toBe("");
    expect(containerOfPath("")).toBe("");
  });
});
