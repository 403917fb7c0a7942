import { describe, it, expect } from "vitest";
import { timestampToIso, timestamptzToIso } from "./pg-datetime.js";

describe("timestamptzToIso", () => {
  it("keeps the source's fractional digits", () => {
    expect(timestamptzToIso("2024-03-01 12:34:56.123456+00")).toBe("2024-03-01T12:34:56.123456Z");
    expect(timestamptzToIso("2024-03-01 12:34:56.12+00")).toBe("2024-03-01T12:34:56.12Z");
    expect(timestamptzToIso("2024-03-01 12:34:56+00")).toBe("2024-03-01T12:34:56Z");
  });

  it("shifts other offsets to UTC, across day, month and year boundaries", () => {
    expect(timestamptzToIso("2024-03-01 12:34:56.5+05:30")).toBe("2024-03-01T07:04:56.5Z");
    expect(timestamptzToIso("2024-03-01 01:00:00-02")).toBe("2024-03-01T03:00:00Z");
    expect(timestamptzToIso("2024-03-01 01:00:00+02")).toBe("2024-02-29T23:00:00Z");
    expect(timestamptzToIso("2023-03-01 01:00:00+02")).toBe("2023-02-28T23:00:00Z");
    expect(timestamptzToIso("2023-12-31 23:30:00-01")).toBe("2024-01-01T00:30:00Z");
    expect(timestamptzToIso("1900-01-01 00:19:32+00:19:32")).toBe("1900-01-01T00:00:00Z");
  });

  it("handles years outside JavaScript Date's range and below 1000", () => {
    expect(timestamptzToIso("294276-12-31 23:59:59.999999+00")).toBe("294276-12-31T23:59:59.999999Z");
    expect(timestamptzToIso("294276-12-31 23:59:59+01")).toBe("294276-12-31T22:59:59Z");
    expect(timestamptzToIso("0044-03-15 00:00:00+01")).toBe("0044-03-14T23:00:00Z");
  });

  it("keeps infinities, BC dates and a shift before year 1 as text", () => {
    for (const t of ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "0001-01-01 00:10:00+01"]) {
      expect(timestamptzToIso(t)).toBe(t);
    }
  });
});

describe("timestampToIso", () => {
  it("puts a T between date and time and no zone", () => {
    expect(timestampToIso("2024-03-01 12:34:56.123456")).toBe("2024-03-01T12:34:56.123456");
    expect(timestampToIso("2024-03-01 12:34:56")).toBe("2024-03-01T12:34:56");
  });

  it("keeps infinities and BC dates as text", () => {
    for (const t of ["infinity", "-infinity", "0044-03-15 12:00:00 BC"]) expect(timestampToIso(t)).toBe(t);
  });
});
