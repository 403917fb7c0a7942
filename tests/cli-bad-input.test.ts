/**
 * The built CLI refuses bad input before it starts anything: `tributary validate` and
 * `tributary node` exit with code 2 and say on stderr what is wrong and where; a node whose
 * NATS server cannot be reached exits non-zero naming the URL.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, runCli } from "./support/index.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-cli-bad-input-"));

beforeAll(() => assertBuilt());

let n = 0;
function configFile(yaml: string): string {
  const f = join(dir, `config-${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

const streamYaml = (lines: string[]) => ["nats:", '  servers: ["nats://127.0.0.1:1"]', "admin:", "  port: 0", "streams:", "  - id: s1", ...lines].join("\n") + "\n";

const cases: Array<{ name: string; yaml: string; expect: RegExp[] }> = [
  {
    name: "a wrong type",
    yaml: streamYaml(["    source:", "      type: generator", "      rate: fast"]),
    expect: [/streams\.0\.source\.rate: Expected number, received string \(got "fast"\)/],
  },
  {
    name: "an unknown source type",
    yaml: streamYaml(["    source:", "      type: oracle"]),
    expect: [/streams\.0\.source\.type: .*Expected 'postgres' \| 'mysql' \| 'generator' \| 'cosmosdb' \| 'mongodb' \(got "oracle"\)/],
  },
  {
    name: "a JSONata syntax error",
    yaml: streamYaml(["    source:", "      type: generator", "    transformers:", "      - name: t", "        jsonata: '$merge([$, {\"a\": 1}'"]),
    expect: [/streams\.0\.transformers\.0\.jsonata: JSONata syntax error at position \d+/],
  },
];

describe.each([
  ["validate", (f: string) => ["validate", "-f", f]],
  ["node", (f: string) => ["node", "--config", f]],
] as const)("tributary %s with a bad config", (_cmd, argv) => {
  it.each(cases)("exits 2 and names $name on stderr", async (c) => {
    const f = configFile(c.yaml);
    const r = await runCli(argv(f));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`tributary: invalid config file ${f}:`);
    for (const re of c.expect) expect(r.stderr).toMatch(re);
    expect(r.stdout).toBe("");
  });

  it("exits 2 for a file that does not exist", async () => {
    const r = await runCli(argv(join(dir, "missing.yaml")));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read config file .*missing\.yaml: ENOENT/);
  });
});

describe("tributary validate with a good config", () => {
  it("exits 0 and lists the streams", async () => {
    const r = await runCli(["validate", "-f", configFile(streamYaml(["    source:", "      type: generator"]))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("ok: 1 stream(s): s1\n");
  });
});

describe("tributary node with an unreachable NATS server", () => {
  it("exits non-zero naming the NATS URL", async () => {
    const r = await runCli(["node", "--config", configFile(streamYaml(["    source:", "      type: generator"]))], 15_000);
    expect(r.timedOut, r.stderr).toBe(false); // it gave up by itself instead of retrying forever
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1\b/);
  });
});
