/** The MongoDB sink spec: defaults, the connection string, the collection template and the offsets namespace, each refused with its field path. */
import { describe, expect, it } from "vitest";
import { mongoSinkSchema } from "./schema-sink.js";
import { compileCollectionTemplate } from "./sink-namespace.js";

const sink = (extra: Record<string, unknown> = {}) => ({ name: "mg", type: "mongodb", url: "mongodb://a:27017,b:27018/?replicaSet=rs0", ...extra });
const issues = (extra: Record<string, unknown>) => {
  const r = mongoSinkSchema.safeParse(sink(extra));
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("MongoDB sink spec", () => {
  it("defaults", () => {
    expect(mongoSinkSchema.parse(sink())).toEqual({ ...sink(), collection: "{schema}.{table}", offsets: "tributary.sink_offsets", transactions: "auto", batchMaxRows: 2000, batchMaxWait: 100 });
  });

  it("the connection string: scheme, hosts, ports, srv rules; references are checked on the node", () => {
    expect(issues({ url: "mongodb+srv://user:pw@cluster0.example.net/app?retryWrites=true" })).toEqual([]);
    expect(issues({ url: "${MONGO_URL}" })).toEqual([]);
    expect(issues({ url: "mongodb://u:${MONGO_PASSWORD}@h:27017/" })).toEqual([]);
    expect(issues({ url: "postgres://h/db" })).toEqual(["url: must be a mongodb:// or mongodb+srv:// connection string, e.g. mongodb://host1:27017,host2:27017/?replicaSet=rs0"]);
    expect(issues({ url: "mongodb://a:27017,,b/" })).toEqual(["url: names no host (or an empty one between commas)"]);
    expect(issues({ url: "mongodb://a:27x17/" })).toEqual(['url: the port "27x17" of host a is not a number']);
    expect(issues({ url: "mongodb://a:70000/" })).toEqual(["url: the port 70000 is above 65535"]);
    expect(issues({ url: "mongodb+srv://a,b/" })).toEqual(["url: a mongodb+srv:// URL names exactly one host (the SRV record)"]);
    expect(issues({ url: "mongodb+srv://a:27017/" })).toEqual(["url: a mongodb+srv:// URL cannot carry a port"]);
    expect(issues({ url: "mongodb://a/my.db" })).toEqual(['url: the database "my.db" in its path is not a valid database name']);
  });

  it("the collection template and the offsets namespace", () => {
    expect(issues({ collection: "archive.{db}_{collection}" })).toEqual([]);
    expect(issues({ collection: "${TARGET_NS}" })).toEqual([]);
    expect(issues({ collection: "{table}" })).toEqual(['collection: collection template "{table}" must be "<database>.<collection>" (e.g. "{schema}.{table}" or "archive.{table}")']);
    expect(issues({ collection: "{schema}.{tabel}" })).toEqual(['collection: collection template "{schema}.{tabel}" has an unknown placeholder {tabel} (known: {schema} or {db}, {table} or {collection})']);
    expect(issues({ collection: "{schema}.x}" })).toEqual(['collection: collection template "{schema}.x}" has a stray "}" (placeholders are {schema}, {db}, {table}, {collection})']);
    expect(issues({ collection: "my db.{table}" })).toEqual(['collection: collection template "my db.{table}": its database part contains " ", which MongoDB does not allow in a database name']);
    expect(issues({ collection: "{schema}.a$b" })).toEqual(['collection: collection template "{schema}.a$b": its collection part contains "$", which MongoDB does not allow']);
    expect(issues({ offsets: "sink_offsets" })).toEqual(['offsets: "sink_offsets" must be "<database>.<collection>"']);
    expect(issues({ offsets: "t.system.x" })).toEqual(['offsets: collection name "system.x" starts with "system.", which MongoDB reserves']);
    expect(issues({ batchMaxRows: 0 })[0]).toMatch(/^batchMaxRows: /);
    expect(issues({ transactions: "always" })[0]).toMatch(/^transactions: Invalid enum value. Expected 'auto' \| 'off'/);
    expect(issues({ extra: 1 })[0]).toMatch(/^: Unrecognized key\(s\) in object: 'extra'/);
  });

  it("resolves targets: the first '.' separates the database; a dotted source table stays in the collection", () => {
    const t = compileCollectionTemplate("{db}.{collection}");
    expect(t({ schema: "shop", table: "orders.2024" })).toEqual({ db: "shop", collection: "orders.2024" });
    expect(compileCollectionTemplate("copy_{schema}.{schema}_{table}")({ schema: "public", table: "t" })).toEqual({ db: "copy_public", collection: "public_t" });
  });
});
