/**
 * PostgreSQL array literals (the text form of `int4[]`, `text[]`, ...): a parser for what the
 * server prints and a builder for what the PostgreSQL sink sends back. Elements stay strings
 * here; type-map.ts converts each one by its element type.
 */

/** A parsed array literal: element text, `null` for SQL NULL, or a nested dimension. */
export type PgArray = Array<string | null | PgArray>;

/**
 * Parses an array literal such as `{1,NULL,"a \"b\""}`, `{{1,2},{3,4}}` or `[0:1]={1,2}`.
 * Explicit bounds are dropped (only the elements are returned). An unquoted `NULL`
 * (any case) is SQL NULL; a quoted `"NULL"` is the string. Unquoted elements are trimmed.
 * @param delimiter the element type's `typdelim`: `,` for all built-in types except `box` (`;`).
 * @throws SyntaxError when the text is not a well-formed array literal.
 */
export function parsePgArray(text: string, delimiter = ","): PgArray {
  let i = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`malformed array literal (${why} at ${i}): ${JSON.stringify(text)}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? "")) i++;
  };

  const parseLevel = (): PgArray => {
    i++; // the opening brace
    const out: PgArray = [];
    skipSpace();
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      skipSpace();
      const c = text[i];
      if (c === undefined) return fail("unexpected end");
      if (c === "{") out.push(parseLevel());
      else if (c === '"') out.push(parseQuoted());
      else out.push(parseUnquoted());
      skipSpace();
      const sep = text[i++];
      if (sep === "}") return out;
      if (sep !== delimiter) return fail("expected delimiter or '}'");
    }
  };

  const parseQuoted = (): string => {
    i++; // the opening quote
    let s = "";
    for (;;) {
      const c = text[i++];
      if (c === undefined) return fail("unterminated quoted element");
      if (c === '"') return s;
      if (c === "\\") {
        const next = text[i++];
        if (next === undefined) return fail("dangling backslash");
        s += next;
      } else s += c;
    }
  };

  const parseUnquoted = (): string | null => {
    let s = "";
    let escaped = false;
    let keep = 0; // length of s that must survive trimming (ends at the last escaped char)
    for (;;) {
      const c = text[i];
      if (c === undefined) return fail("unexpected end");
      if (c === delimiter || c === "}") break;
      if (c === "{" || c === '"') return fail(`unexpected '${c}'`);
      i++;
      if (c === "\\") {
        const next = text[i++];
        if (next === undefined) return fail("dangling backslash");
        s += next;
        escaped = true;
        keep = s.length;
      } else s += c;
    }
    const trimmed = s.slice(0, keep) + s.slice(keep).trimEnd();
    if (trimmed === "") return fail("empty unquoted element");
    return !escaped && trimmed.toUpperCase() === "NULL" ? null : trimmed;
  };

  skipSpace();
  if (text[i] === "[") {
    const eq = text.indexOf("=", i);
    if (eq < 0 || !/^(\[\s*-?\d+\s*:\s*-?\d+\s*\]\s*)+$/.test(text.slice(i, eq))) fail("bad dimensions");
    i = eq + 1;
    skipSpace();
  }
  if (text[i] !== "{") fail("expected '{'");
  const result = parseLevel();
  skipSpace();
  if (i !== text.length) fail("junk after array");
  return result;
}

/** Input of {@link buildPgArray}: element text, `null` for SQL NULL, or a nested dimension. */
export type PgArrayInput = ReadonlyArray<string | null | PgArrayInput>;

/**
 * Builds an array literal that PostgreSQL reads back exactly: every non-null element is
 * double-quoted with `\` and `"` escaped (so commas, braces, spaces and the word NULL are
 * data), SQL NULL is an unquoted `NULL`. An array with no elements at any depth is `{}`
 * (PostgreSQL rejects `{{}}`).
 */
export function buildPgArray(values: PgArrayInput, delimiter = ","): string {
  if (!hasElements(values)) return "{}";
  const level = (vs: PgArrayInput): string =>
    "{" +
    vs
      .map((v) => (v === null ? "NULL" : typeof v === "string" ? quote(v) : level(v)))
      .join(delimiter) +
    "}";
  return level(values);
}

function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, "\\$&") + '"';
}

function hasElements(vs: PgArrayInput): boolean {
  return vs.some((v) => typeof v !== "object" || v === null || hasElements(v));
}
