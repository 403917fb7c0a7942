// Secret references: their syntax, resolution, the checkable view validation sees, and the scrubber.
import { describe, expect, it } from "vitest";
import { SecretScrubber, checkableText, isWholeReference, literalSecrets, redactSpec, referenceProblems, referencesIn, resolveText } from "./secrets.js";

describe("references", () => {
  it("finds ${NAME}, ${NAME:-default} and ${file:/path}; $${ is a literal", () => {
    expect(referencesIn("postgres://u:${PGPASSWORD}@${HOST:-db}/x?k=${file:/run/secrets/k}&lit=$${NOT}")).toEqual([
      { kind: "env", name: "PGPASSWORD", text: "${PGPASSWORD}" },
      { kind: "env", name: "HOST", fallback: "db", text: "${HOST:-db}" },
      { kind: "file", name: "/run/secrets/k", text: "${file:/run/secrets/k}" },
    ]);
    expect(isWholeReference("${DATABASE_URL}")).toBe(true);
    expect(isWholeReference("x${A}")).toBe(false);
  });

  it("names malformed references", () => {
    expect(referenceProblems("a ${1X} b")).toEqual([expect.stringMatching(/^malformed reference \$\{1X\}/)]);
    expect(referenceProblems("${file:relative/path}")).toHaveLength(1);
    expect(referenceProblems("${UNCLOSED")[0]).toMatch(/no closing/);
    expect(referenceProblems("$${fine} ${FINE}")).toEqual([]);
  });

  it("resolves from the given environment and files, reporting what is missing by name only", () => {
    const seen: string[] = [];
    const errors: string[] = [];
    const ctx = { env: { A: "alpha-secret" }, readFile: (p: string) => (p === "/s" ? "from-file\n" : Promise.reject(new Error("x")) as never), onResolved: (v: string) => seen.push(v) };
    expect(resolveText("${A}:${B:-bee}:${file:/s}:$${A}", ctx, "f", errors)).toBe("alpha-secret:bee:from-file:${A}");
    expect(seen).toEqual(["alpha-secret", "from-file"]);
    expect(errors).toEqual([]);
    resolveText("${MISSING}", { env: {} }, "sinks.0.url", errors);
    resolveText("${file:/nope/nothing-here}", { env: {} }, "source.url", errors);
    expect(errors).toEqual(["sinks.0.url: environment variable MISSING is not set (referenced as ${MISSING})", "source.url: cannot read ${file:/nope/nothing-here} (ENOENT)"]);
  });

  it("gives validation a neutral text around partial references and nothing for a whole one", () => {
    expect(checkableText("postgres://app:${PW}@db:${PORT:-5432}/shop")).toBe("postgres://app:0@db:5432/shop");
    expect(checkableText("${DATABASE_URL}")).toBeNull();
    expect(checkableText("plain")).toBe("plain");
  });
});

describe("SecretScrubber", () => {
  it("replaces remembered values, their URL-encoded and JSON-escaped forms, longest first; ignores short ones", () => {
    const s = new SecretScrubber();
    s.add("p@ss/w\"rd-long");
    s.add("p@ss");
    s.add("abc");
    expect(s.scrub("url postgres://u:p%40ss%2Fw%22rd-long@h json {\"pw\":\"p@ss/w\\\"rd-long\"} raw p@ss/w\"rd-long")).toBe('url postgres://u:***@h json {"pw":"***"} raw ***');
    expect(s.scrub("abc stays")).toBe("abc stays");
  });
});

describe("literal secrets in a spec", () => {
  const spec = {
    source: { url: "postgres://app:written-out@db/shop", tables: ["a.b"] },
    sinks: [
      { name: "ok", url: "postgres://app:${PGPASSWORD}@db/w" },
      { name: "cosmos", key: "abc123==", clientSecret: "${file:/run/secrets/cs}" },
    ],
  };

  it("are found by path; references are not literal secrets", () => {
    expect(literalSecrets(spec)).toEqual(["source.url", "sinks.1.key"]);
  });

  it("are masked for display while references stay as written", () => {
    expect(redactSpec(spec)).toEqual({
      source: { url: "postgres://app:***@db/shop", tables: ["a.b"] },
      sinks: [
        { name: "ok", url: "postgres://app:${PGPASSWORD}@db/w" },
        { name: "cosmos", key: "***", clientSecret: "${file:/run/secrets/cs}" },
      ],
    });
  });
});
