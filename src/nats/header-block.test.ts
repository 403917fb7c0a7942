import { describe, it, expect } from "vitest";
import { MsgHdrsImpl } from "@nats-io/transport-node";
import { HeaderBlock, headerValue } from "./header-block.js";
import { buildHeaders, isPlainAck } from "./chain-publisher.js";

const dec = new TextDecoder();

describe("HeaderBlock", () => {
  it("encodes exactly what the client's MsgHdrsImpl encodes for the same headers", () => {
    const pairs: Array<[string, string]> = [["Nats-Msg-Id", "s:0001"], ["Tributary-Key", '{"id":"ü 🚀"}'], ["Tributary-Table", "public.t"]];
    const ours = new HeaderBlock(pairs.map(([k, v]) => `${k}: ${v}\r\n`).join(""));
    ours.append("Nats-Expected-Last-Sequence", "41");
    const theirs = new MsgHdrsImpl();
    for (const [k, v] of pairs) theirs.append(k, v);
    theirs.append("Nats-Expected-Last-Sequence", "41");
    expect(dec.decode(ours.encode())).toBe(dec.decode(theirs.encode()));
    // and the client decodes it back to the same headers
    const back = MsgHdrsImpl.decode(ours.encode());
    expect(back.get("Tributary-Key")).toBe('{"id":"ü 🚀"}');
    expect(back.get("Nats-Expected-Last-Sequence")).toBe("41");
  });

  it("reads, replaces and deletes like MsgHdrs", () => {
    const h = new HeaderBlock("A: 1\r\nB: 2\r\n");
    expect(h.get("A")).toBe("1");
    expect(h.has("b")).toBe(false);
    h.set("A", "3");
    expect(h.values("A")).toEqual(["3"]);
    h.append("B", "4");
    expect(h.values("B")).toEqual(["2", "4"]);
    expect(h.last("B")).toBe("4");
    h.delete("B");
    expect(h.keys()).toEqual(["A"]);
    expect([...h]).toEqual([["A", ["3"]]]);
    expect(h.hasError).toBe(false);
  });

  it("turns CR/LF in values into spaces, so a value cannot end the block", () => {
    expect(headerValue("a\r\nb\nc")).toBe("a b c");
    const h = new HeaderBlock();
    h.append("T", "x\ny");
    expect(h.get("T")).toBe("x y");
    expect(buildHeaders({ T: "p\r\nq" }).get("T")).toBe("p q");
  });
});

describe("isPlainAck", () => {
  const enc = new TextEncoder();
  it("accepts a plain success ack and sends everything else to the full parse", () => {
    expect(isPlainAck(enc.encode('{"stream":"CDC_x","seq":123}'))).toBe(true);
    expect(isPlainAck(enc.encode('{"stream":"CDC_x","domain":"hub","seq":7}'))).toBe(true);
    expect(isPlainAck(enc.encode('{"stream":"CDC_x","seq":5,"duplicate":true}'))).toBe(false);
    expect(isPlainAck(enc.encode('{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 5"}}'))).toBe(false);
    expect(isPlainAck(enc.encode('{"stream":"CDC_x","seq":}'))).toBe(false);
    expect(isPlainAck(enc.encode("garbage"))).toBe(false);
  });
});
