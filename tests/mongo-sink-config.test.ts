// MongoDB sinks through the whole config loader (what `tributary validate` runs): the
// connection string stays a ${VAR} reference in the stream and is resolved on the node;
// bad values and templates are refused with their field path, also once resolved; no
// message shows the password.
import { describe, expect, it } from "vitest";
import { parseConfig, resolveSink, type SinkSpec } from "../src/config/index.js";

const PASSWORD = "pw-do-not-print";
const env = { MONGO_URL: `mongodb://app:${PASSWORD}@db1:27017,db2:27017/?replicaSet=rs0`, MONGO_PASSWORD: PASSWORD, BAD_NS: "{table}", BAD_URL: "mongodb://app:pw-do-not-print@h:99999/" };
const sink = (extra: Record<string, unknown>) => ({ name: "mg", type: "mongodb", url: "${MONGO_URL}", ...extra });
const stream = (...sinks: unknown[]) => ({ streams: [{ id: "s", source: { type: "generator" }, sinks }] });

function problems(doc: unknown): string {
  try {
    parseConfig(doc, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("MongoDB sinks in the config", () => {
  it("keeps ${MONGO_URL} for the nodes, gets its defaults, and a node resolves it", () => {
    const cfg = parseConfig(stream(sink({ collection: "copy.{db}_{collection}" })), env);
    const spec = cfg.streams[0]!.sinks[0]!;
    expect(spec).toEqual({ name: "mg", type: "mongodb", url: "${MONGO_URL}", collection: "copy.{db}_{collection}", offsets: "tributary.sink_offsets", transactions: "auto", batchMaxRows: 2000, batchMaxWait: 100 });
    expect(resolveSink("s", spec, { env })).toMatchObject({ url: env.MONGO_URL });
  });

  it("refuses bad values and templates with their field path", () => {
    const msg = problems(stream(sink({ url: "mongodb://u:${MONGO_PASSWORD}@h:x/", collection: "{schema}", offsets: "offsets" }), sink({ name: "two", collection: "{schema}.{tbl}", batchMaxWait: "soon" })));
    expect(msg).toMatch(/streams\.0\.sinks\.0\.url: the port "x" of host h is not a number/);
    expect(msg).toMatch(/streams\.0\.sinks\.0\.collection: collection template "\{schema\}" must be "<database>\.<collection>"/);
    expect(msg).toMatch(/streams\.0\.sinks\.0\.offsets: "offsets" must be "<database>\.<collection>"/);
    expect(msg).toMatch(/streams\.0\.sinks\.1\.collection: collection template "\{schema\}\.\{tbl\}" has an unknown placeholder \{tbl\}/);
    expect(msg).toMatch(/streams\.0\.sinks\.1\.batchMaxWait: invalid duration "soon"/);
    expect(msg).not.toContain(PASSWORD);
  });

  it("a whole reference is checked once resolved on the node, without showing the password", () => {
    const cfg = parseConfig(stream(sink({ url: "${BAD_URL}", collection: "${BAD_NS}" })), env);
    const spec = cfg.streams[0]!.sinks[0]! as SinkSpec;
    let msg = "";
    try {
      resolveSink("s", spec, { env });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^stream s: sink mg is invalid once its references are resolved on this node:/);
    expect(msg).toMatch(/url: the port 99999 is above 65535/);
    expect(msg).toMatch(/collection: collection template "\{table\}" must be "<database>\.<collection>"/);
    expect(msg).not.toContain(PASSWORD);
  });
});
