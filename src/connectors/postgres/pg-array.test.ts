import { describe, it, expect } from "vitest";
import { buildPgArray, parsePgArray } from "./pg-array.js";

describe("parsePgArray", () => {
  it("parses flat, empty and NULL elements", () => {
    expect(parsePgArray("{}")).toEqual([]);
    expect(parsePgArray("{1,2,3}")).toEqual(["1", "2", "3"]);
    expect(parsePgArray("{1,NULL,null,3}")).toEqual(["1", null, null, "3"]);
  });

  it("keeps a quoted NULL as the string", () => {
    expect(parsePgArray('{"NULL",NULL}')).toEqual(["NULL", null]);
  });

  it("unescapes quotes and backslashes and keeps delimiters and braces inside quotes", () => {
    expect(parsePgArray('{"a,b","c\\"d","e\\\\f","{x}",""," sp "}')).toEqual([
      "a,b",
      'c"d',
      "e\\f",
      "{x}",
      "",
      " sp ",
    ]);
  });

  it("handles backslash escapes in unquoted elements and trims unquoted whitespace", () => {
    expect(parsePgArray("{ a\\,b , c }")).toEqual(["a,b", "c"]);
    expect(parsePgArray("{a\\ }")).toEqual(["a "]);
    expect(parsePgArray("{\\NULL}")).toEqual(["NULL"]);
  });

  it("parses nested dimensions", () => {
    expect(parsePgArray("{{1,2},{3,NULL}}")).toEqual([["1", "2"], ["3", null]]);
    expect(parsePgArray("{{{1},{2}},{{3},{4}}}")).toEqual([[["1"], ["2"]], [["3"], ["4"]]]);
  });

  it("drops explicit bounds", () => {
    expect(parsePgArray("[0:1]={1,2}")).toEqual(["1", "2"]);
    expect(parsePgArray("[-2:-1][1:2]={{1,2},{3,4}}")).toEqual([["1", "2"], ["3", "4"]]);
  });

  it("keeps unicode", () => {
    expect(parsePgArray('{héllo,"🎉 party"}')).toEqual(["héllo", "🎉 party"]);
  });

  it("uses the given delimiter (box arrays use ';')", () => {
    expect(parsePgArray("{(1,2),(0,0);(3,3),(1,1)}", ";")).toEqual(["(1,2),(0,0)", "(3,3),(1,1)"]);
  });

  it("rejects malformed literals", () => {
    for (const bad of ["", "1,2", "{1,2", '{"a}', "{1,,2}", "{1}x", "[0:1]{1}", "{a\"b}"]) {
      expect(() => parsePgArray(bad), bad).toThrow(SyntaxError);
    }
  });
});

describe("buildPgArray", () => {
  it("quotes every element and escapes quotes and backslashes", () => {
    expect(buildPgArray(["a,b", 'c"d', "e\\f", "", "NULL"])).toBe('{"a,b","c\\"d","e\\\\f","","NULL"}');
  });

  it("writes SQL NULL unquoted", () => {
    expect(buildPgArray(["1", null])).toBe('{"1",NULL}');
  });

  it("nests dimensions", () => {
    expect(buildPgArray([["1", "2"], ["3", null]])).toBe('{{"1","2"},{"3",NULL}}');
  });

  it("writes arrays without elements as {}", () => {
    expect(buildPgArray([])).toBe("{}");
    expect(buildPgArray([[], []])).toBe("{}");
  });

  it("round-trips through parsePgArray", () => {
    const v = [["x", null, "NULL", ' "q" ', "\\", "{}", "🎉"], ["a", "b", "c", "d", "e", "f", "g"]];
    expect(parsePgArray(buildPgArray(v))).toEqual(v);
  });
});
