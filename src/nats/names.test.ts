import { describe, it, expect } from "vitest";
import { Names, escapeToken, unescapeToken, actorId, positionKey } from "./names.js";

describe("subject tokens", () => {
  it("escapes dots, spaces, wildcards and its own escape character reversibly", () => {
    for (const s of ["orders", "my.table", "with space", "star*", "gt>", "tilde~7E", "ünï 🚀.x", "", "tab\there"]) {
      const t = escapeToken(s);
      expect(t).not.toMatch(/[.*>\s]/);
      expect(unescapeToken(t)).toBe(s);
    }
    expect(escapeToken("a.b c")).toBe("a~2Eb~20c");
  });

  it("names the default cluster's objects exactly as the brief does, and prefixes others", () => {
    const d = new Names();
    expect(d.cdcStream("orders")).toBe("CDC_orders");
    expect(d.cdcSubject("orders", "public", "line items")).toBe("cdc.orders.public.line~20items");
    expect(d.leasesBucket).toBe("tributary_leases");
    expect(d.dlqStream).toBe("DLQ");
    const t = new Names("blue");
    expect(t.cdcStream("orders")).toBe("blue_CDC_orders");
    expect(t.cdcFilter("orders")).toBe("blue.cdc.orders.>");
    expect(t.xfStream("orders", "slim")).toBe("blue_XF_orders_slim");
    expect(t.positionsBucket).toBe("blue_positions");
  });

  it("derives lease keys and position keys", () => {
    expect(actorId({ kind: "stream", stream: "orders" })).toBe("stream.orders");
    expect(actorId({ kind: "sink", stream: "orders", name: "pg" })).toBe("sink.orders.pg");
    expect(positionKey({ kind: "stream", stream: "orders" })).toBe("orders");
    expect(positionKey({ kind: "transformer", stream: "orders", name: "slim" })).toBe("orders.transformer.slim");
  });
});
