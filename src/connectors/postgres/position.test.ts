import { describe, it, expect } from "vitest";
import { bigIntToLsn, compareLsn, encodeEventPos, lsnToBigInt } from "./position.js";

describe("PostgreSQL positions", () => {
  it("parses and formats LSNs, padded or not", () => {
    expect(lsnToBigInt("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n);
    expect(bigIntToLsn(lsnToBigInt("00000000/45DBD0B0"))).toBe("0/45DBD0B0");
    expect(compareLsn("0/FF", "1/0")).toBe(-1);
    expect(compareLsn("1/0", "0/FFFFFFFF")).toBe(1);
    expect(() => lsnToBigInt("nonsense")).toThrow(/invalid LSN/);
  });

  it("encodes event positions so that string order is position order", () => {
    const ordered = [
      encodeEventPos("0/FFFF", "t", 5),
      encodeEventPos("1/0", "s", 0), // snapshot rows at a consistent point...
      encodeEventPos("1/0", "s", 12),
      encodeEventPos("1/0", "t", 0), // ...come before transactions committed at the same LSN
      encodeEventPos("1/0", "t", 10),
      encodeEventPos("A/0", "t", 2),
    ];
    expect([...ordered].sort()).toEqual(ordered);
    expect(encodeEventPos("16/B374D848", "t", 3)).toBe("00000016B374D848:t:0000000003");
  });
});
