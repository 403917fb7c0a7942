// Validation of Cosmos DB streams through the whole config loader (what `tributary validate`
// runs): bad combinations are refused with their field path, and no message ever shows the
// value of a key or a client secret, even when the problem is in the object holding it.
import { describe, expect, it } from "vitest";
import { parseConfig, resolveSink, resolveSource } from "../src/config/index.js";

const KEY = "c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=";
const SECRET = "client-secret-do-not-print";
const endpoint = "https://acct.documents.azure.com:443/";
const cosmosSource = (extra: Record<string, unknown>) => ({ type: "cosmosdb", endpoint, database: "shop", containers: ["orders"], auth: { key: "${COSMOS_KEY}" }, ...extra });
const cosmosSink = (extra: Record<string, unknown>) => ({ name: "cos", type: "cosmosdb", endpoint, database: "shop", partitionKey: "/pk", auth: { key: "${COSMOS_KEY}" }, ...extra });
const env = { COSMOS_KEY: KEY, APP_SECRET: SECRET };

function problems(doc: unknown): string {
  try {
    parseConfig(doc, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("Cosmos DB streams in the config", () => {
  it("a valid pair keeps ${ENV} for the nodes (docs/adr/0013), gets its defaults, and a node resolves the key", () => {
    const cfg = parseConfig({ streams: [{ id: "s", source: cosmosSource({}), sinks: [cosmosSink({})] }] }, env);
    expect(cfg.streams[0]!.source).toMatchObject({ auth: { key: "${COSMOS_KEY}" }, mode: "latestVersion", pageSize: 256, pollInterval: 1000 });
    expect(cfg.streams[0]!.sinks[0]).toMatchObject({ container: "{table}", offsetsContainer: "tributary_offsets", autoCreate: false });
    expect(resolveSource("s", cfg.streams[0]!.source, { env })).toMatchObject({ auth: { key: KEY } });
    expect(resolveSink("s", cfg.streams[0]!.sinks[0]!, { env })).toMatchObject({ auth: { key: KEY } });
  });

  it("refuses bad combinations with their field path", () => {
    const msg = problems({
      streams: [
        {
          id: "s",
          source: cosmosSource({ endpoint: "http://127.0.0.1:8081/", mode: "allVersionsAndDeletes", startFrom: "beginning", auth: { entra: { tenantId: "t", clientId: "c", clientSecret: "${APP_SECRET}" } } }),
          sinks: [cosmosSink({ container: "{db}" })],
        },
      ],
    });
    expect(msg).toMatch(/streams\.0\.source\.endpoint: Entra ID sign-in needs an https:\/\/ endpoint/);
    expect(msg).toMatch(/streams\.0\.source\.startFrom: allVersionsAndDeletes can start only from now/);
    expect(msg).toMatch(/streams\.0\.sinks\.0\.container: unknown placeholder \{db\}/);
  });

  it("never shows a key or a client secret, not even inside the object a problem is reported on", () => {
    const both = problems({ streams: [{ id: "s", source: cosmosSource({ auth: { key: "${COSMOS_KEY}", entra: { default: true } } }) }] });
    expect(both).toMatch(/streams\.0\.source\.auth: give exactly one of key \(an account key\) or entra/);
    const ways = problems({ streams: [{ id: "s", source: cosmosSource({ auth: { entra: { clientSecret: "${APP_SECRET}", default: true } } }) }] });
    expect(ways).toMatch(/streams\.0\.source\.auth\.entra: give exactly one way to sign in/);
    const typed = problems({ streams: [{ id: "s", sinks: [cosmosSink({ auth: { key: 12345678 } })], source: { type: "generator" } }] });
    expect(typed).toMatch(/streams\.0\.sinks\.0\.auth\.key: Expected string, received number/);
    for (const m of [both, ways, typed]) {
      expect(m).not.toContain(KEY);
      expect(m).not.toContain(SECRET);
      expect(m).not.toContain("12345678");
    }
  });
});
