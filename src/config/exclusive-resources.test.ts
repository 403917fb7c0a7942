/**
 * Source resources have one owner (issue 10, item 1; docs/adr/0010): default slot and
 * publication names are derived from the exact (cluster, stream), and a file whose streams
 * share a slot, a publication or a MySQL server id is refused naming the other stream.
 */
import { describe, expect, it } from "vitest";
import { defaultSlotName, legacySlotName, readerNames } from "../connectors/postgres/index.js";
import { resourceClashes } from "../registry/index.js";
import { parseConfig, parseStreamSpec } from "./index.js";

const pg = (id: string, extra: Record<string, unknown> = {}) => ({ id, source: { type: "postgres", url: "postgres://u@db:5432/app", tables: ["public.t"], ...extra } });
const my = (id: string, extra: Record<string, unknown> = {}) => ({ id, source: { type: "mysql", url: "mysql://u@db:3306/app", tables: ["app.t"], ...extra } });
const refused = (streams: unknown[], cluster = "c1"): string => {
  try {
    parseConfig({ cluster, streams }, {});
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the config was accepted");
};

describe("default slot names", () => {
  it("differ for ids that the old default mapped to one name, and stay within 63 characters of [a-z0-9_]", () => {
    for (const [a, b] of [["Orders", "orders"], ["my-x", "my_x"], ["A-b", "a_B"]] as const) {
      expect(legacySlotName(a)).toBe(legacySlotName(b)); // the bug: one slot for two streams
      expect(defaultSlotName("c1", a)).not.toBe(defaultSlotName("c1", b));
    }
    const long = "x".repeat(64);
    for (const n of [defaultSlotName("c1", "Orders"), defaultSlotName("a".repeat(64), long), defaultSlotName("c1", "-")]) expect(n).toMatch(/^[a-z0-9_]{1,63}$/);
    expect(defaultSlotName("c1", long)).not.toBe(defaultSlotName("c1", `${long.slice(1)}y`));
  });

  it("differ between clusters and stay the same for one (cluster, stream)", () => {
    expect(defaultSlotName("blue", "orders")).not.toBe(defaultSlotName("green", "orders"));
    expect(defaultSlotName("blue", "orders")).toBe(defaultSlotName("blue", "orders"));
    expect(defaultSlotName("blue", "orders")).toMatch(/^tributary_orders_[0-9a-f]{10}$/);
  });
});

describe("the names a reader uses", () => {
  it("an explicit slot, else the slot its checkpoint names (a legacy name survives an upgrade), else the derived one; the publication follows", () => {
    expect(readerNames({ slot: "mine" }, "c1", "orders", "tributary_orders")).toEqual({ slot: "mine", publication: "mine" });
    expect(readerNames({}, "c1", "orders", "tributary_orders")).toEqual({ slot: "tributary_orders", publication: "tributary_orders" });
    expect(readerNames({ publication: "pub" }, "c1", "orders", null)).toEqual({ slot: defaultSlotName("c1", "orders"), publication: "pub" });
  });
});

describe("a file's streams may not share a source resource", () => {
  it("accepts Orders and orders with default names", () => {
    expect(parseConfig({ cluster: "c1", streams: [pg("Orders"), pg("orders"), pg("my-x"), pg("my_x")] }, {}).streams).toHaveLength(4);
  });

  it("refuses two streams on one slot, naming the other stream", () => {
    const m = refused([pg("a", { slot: "shared" }), pg("b", { slot: "shared" })]);
    expect(m).toContain("streams.1.source.slot: replication slot shared is already used by stream a of cluster c1");
  });

  it("refuses two streams on one publication, and a slot named like another stream's derived one", () => {
    expect(refused([pg("a", { publication: "pub" }), pg("b", { slot: "s2", publication: "pub" })])).toContain("streams.1.source.publication: publication pub is already used by stream a");
    expect(refused([pg("a"), pg("b", { slot: defaultSlotName("c1", "a") })])).toContain(`streams.1.source.slot: replication slot ${defaultSlotName("c1", "a")} is already used by stream a`);
  });

  it("refuses two MySQL streams with one server id, explicit or derived", () => {
    expect(refused([my("a", { serverId: 4242 }), my("b", { serverId: 4242 })])).toContain("streams.1.source.serverId: replication server id 4242 is already used by stream a of cluster c1");
    expect(parseConfig({ cluster: "c1", streams: [my("a"), my("b"), my("A")] }, {}).streams).toHaveLength(3);
  });

  it("compares a spec with the cluster's other streams, not with its own earlier version", () => {
    const a = parseStreamSpec(pg("a", { slot: "s" }));
    expect(resourceClashes(a, [a], "c1")).toEqual([]);
    expect(resourceClashes(parseStreamSpec(pg("b", { slot: "s" })), [a], "c1")[0]?.message).toMatch(/stream a of cluster c1/);
    // a MySQL server id and a slot never clash, whatever their text
    expect(resourceClashes(parseStreamSpec(my("m", { serverId: 7 })), [parseStreamSpec(pg("p", { slot: "7" }))], "c1")).toEqual([]);
  });
});
