/** The Cosmos DB specs: defaults, sign-in shapes, and the combinations `checkSource` / `checkSink` refuse with their field path. */
import { describe, expect, it } from "vitest";
import { checkSink, checkSource, cosmosSinkSchema, cosmosSourceSchema } from "./schema.js";

const endpoint = "https://acct.documents.azure.com:443/";
const source = (extra: Record<string, unknown> = {}) => ({ type: "cosmosdb", endpoint, database: "shop", containers: ["orders"], auth: { key: "k" }, ...extra });
const sink = (extra: Record<string, unknown> = {}) => ({ name: "cos", type: "cosmosdb", endpoint, database: "shop", partitionKey: "/pk", auth: { key: "k" }, ...extra });
const issues = (r: { success: boolean; error?: { issues: Array<{ path: Array<string | number>; message: string }> } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

describe("source spec", () => {
  it("defaults", () => {
    expect(cosmosSourceSchema.parse(source())).toEqual({ ...source(), mode: "latestVersion", pageSize: 256, pollInterval: 1000 });
  });

  it("sign-in: exactly one of key or entra, and one way within entra", () => {
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: {} })))).toEqual(["auth: give exactly one of key (an account key) or entra (Microsoft Entra ID sign-in)"]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { key: "k", entra: { default: true } } })))).toEqual(["auth: give exactly one of key (an account key) or entra (Microsoft Entra ID sign-in)"]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { entra: { default: true, managedIdentity: true } } })))).toEqual([
      "auth.entra: give exactly one way to sign in: clientSecret (with tenantId and clientId), managedIdentity: true, or default: true",
    ]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { entra: { clientSecret: "s" } } })))).toEqual([
      "auth.entra.tenantId: a client secret needs the tenant id of the app registration",
      "auth.entra.clientId: a client secret needs the client id of the app registration",
    ]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { entra: { managedIdentity: true, tenantId: "t" } } })))).toEqual([
      "auth.entra.tenantId: tenantId goes with clientSecret only (managedIdentity and default take the tenant from their environment)",
    ]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { entra: { default: true, clientId: "c" } } })))).toEqual([
      "auth.entra.clientId: with default: true the client id comes from AZURE_CLIENT_ID; leave clientId out",
    ]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { entra: { managedIdentity: true, clientId: "mi" } } })))).toEqual([]);
    expect(issues(cosmosSourceSchema.safeParse(source({ auth: { entra: { default: true, authorityHost: "http://x" } } })))).toEqual([
      "auth.entra.authorityHost: must be an https:// URL, e.g. https://login.microsoftonline.us",
    ]);
  });

  it("checkSource: Entra ID over http, allVersionsAndDeletes from the beginning, a container twice", () => {
    const parsed = cosmosSourceSchema.parse(source({ endpoint: "http://127.0.0.1:8081/", auth: { entra: { default: true } }, mode: "allVersionsAndDeletes", startFrom: "beginning", containers: ["a", "b", "a"] }));
    expect(checkSource(parsed).map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      "endpoint: Entra ID sign-in needs an https:// endpoint (the SDK does not send tokens over http)",
      "startFrom: allVersionsAndDeletes can start only from now (or a checkpoint): the service keeps no history before it; use startFrom: now or mode: latestVersion",
      "containers.2: container \"a\" is listed twice",
    ]);
    expect(checkSource(cosmosSourceSchema.parse(source({ mode: "allVersionsAndDeletes" })))).toEqual([]);
    expect(checkSource(cosmosSourceSchema.parse(source({ endpoint: "http://127.0.0.1:8081/" })))).toEqual([]);
  });

  it("names: endpoint shape, container characters", () => {
    expect(issues(cosmosSourceSchema.safeParse(source({ endpoint: "acct.documents.azure.com" })))[0]).toMatch(/^endpoint: must be the account endpoint URL/);
    expect(issues(cosmosSourceSchema.safeParse(source({ containers: ["a/b"] })))[0]).toMatch(/^containers.0: container name must not contain/);
  });
});

describe("sink spec", () => {
  it("defaults", () => {
    expect(cosmosSinkSchema.parse(sink())).toEqual({ ...sink(), container: "{table}", autoCreate: false, offsetsContainer: "tributary_offsets", batchMaxRows: 2000, batchMaxWait: 100 });
  });

  it("partition key path shape and checkSink's template checks", () => {
    expect(issues(cosmosSinkSchema.safeParse(sink({ partitionKey: "pk" })))[0]).toMatch(/^partitionKey: must be a partition key path like \/pk/);
    const bad = cosmosSinkSchema.parse(sink({ container: "{db}_x/y", endpoint: "http://127.0.0.1:1/", auth: { entra: { managedIdentity: true } } }));
    expect(checkSink(bad).map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      "endpoint: Entra ID sign-in needs an https:// endpoint (the SDK does not send tokens over http)",
      "container: unknown placeholder {db} (known: {schema}, {table})",
      "container: a container name must not contain / \\ ? #",
    ]);
    expect(checkSink(cosmosSinkSchema.parse(sink({ container: "{schema}_{table}" })))).toEqual([]);
  });
});
