/**
 * Renders docs/configuration.md from the zod schemas (schema.ts, which composes the
 * connectors' own schemas through the registry), so the reference cannot
 * drift from the parser: src/config/load.test.ts compares the committed file with this
 * output, and scripts/gen-config-docs.ts (`npm run docs:config`) rewrites it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { configSchema } from "./schema.js";
import { ENV_NOTES, EXAMPLE_NOTES, INTRO, NAMES_AND_DURATIONS } from "./docs-text.js";

/** A schema field with its wrappers (default, optional, effects) peeled off. */
interface Field {
  core: z.ZodTypeAny;
  description: string | undefined;
  /** present only when the field has a default */
  default?: { value: unknown };
  optional: boolean;
  duration: boolean;
}

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

interface Section {
  level: number;
  title: string;
  intro: string | undefined;
  rows: Row[];
}

/** Section titles of the discriminated unions, by field path. */
const UNION_TITLES: Record<string, { title: string; noun: string }> = {
  "streams[].source": { title: "Sources", noun: "source" },
  "streams[].sinks[]": { title: "Sinks", noun: "sink" },
};

/** A duration() field: a transform over `string | number` (see duration.ts). */
function isDuration(s: z.ZodEffects<z.ZodTypeAny>): boolean {
  if (s._def.effect.type !== "transform") return false;
  let inner: z.ZodTypeAny = s._def.schema;
  while (inner instanceof z.ZodDefault) inner = inner._def.innerType;
  if (!(inner instanceof z.ZodUnion)) return false;
  const opts = inner._def.options as z.ZodTypeAny[];
  return opts.length === 2 && opts.some((o) => o instanceof z.ZodString) && opts.some((o) => o instanceof z.ZodNumber);
}

function unwrap(schema: z.ZodTypeAny): Field {
  const f: Field = { core: schema, description: undefined, optional: false, duration: false };
  for (let cur = schema; ; ) {
    f.description ??= cur.description;
    if (cur instanceof z.ZodDefault) {
      f.default ??= { value: cur._def.defaultValue() as unknown };
      cur = cur._def.innerType;
    } else if (cur instanceof z.ZodOptional) {
      f.optional = true;
      cur = cur._def.innerType;
    } else if (cur instanceof z.ZodEffects) {
      f.duration ||= isDuration(cur);
      cur = cur._def.schema;
    } else {
      f.core = cur;
      return f;
    }
  }
}

/** GitHub's heading anchor for a heading text. */
function slug(title: string): string {
  return title.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

const code = (v: unknown) => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;
const objectTitle = (path: string) => `\`${path}\``;
const link = (title: string) => `[${title}](#${slug(title)})`;

function numberType(n: z.ZodNumber): string {
  const parts: string[] = [n.isInt ? "integer" : "number"];
  for (const c of n._def.checks) {
    if (c.kind === "min") parts.push(`${c.inclusive ? "≥" : ">"} ${c.value}`);
    if (c.kind === "max") parts.push(`${c.inclusive ? "≤" : "<"} ${c.value}`);
  }
  return parts.join(", ");
}

function stringType(s: z.ZodString): string {
  const parts = ["string"];
  for (const c of s._def.checks) {
    if (c.kind === "regex") parts.push(`matching ${code(c.regex.source)}`);
    if (c.kind === "min" && c.value === 1) parts[0] = "non-empty string";
  }
  return parts.join(" ");
}

/** The Type cell; enqueues the sections of nested objects, arrays of objects and unions. */
function typeOf(f: Field, path: string, out: Section[], level: number): string {
  const s = f.core;
  if (f.duration) return "duration";
  if (s instanceof z.ZodString) return stringType(s);
  if (s instanceof z.ZodNumber) return numberType(s);
  if (s instanceof z.ZodBoolean) return "boolean";
  if (s instanceof z.ZodLiteral) return code(s._def.value);
  if (s instanceof z.ZodEnum) return `one of ${(s._def.values as string[]).map(code).join(", ")}`;
  if (s instanceof z.ZodArray) {
    const min = s._def.minLength?.value;
    const itemField = unwrap(s._def.type as z.ZodTypeAny);
    itemField.description ??= f.description; // the intro of the items' section
    const item = typeOf(itemField, `${path}[]`, out, level).replace(/^object\b/, "objects");
    return `array of ${item}${min ? `, at least ${min}` : ""}`;
  }
  if (s instanceof z.ZodObject) {
    const title = objectTitle(path);
    out.push(...objectSections(s, path, title, f.description, level));
    return `object, see ${link(title)}`;
  }
  if (s instanceof z.ZodDiscriminatedUnion) {
    const t = UNION_TITLES[path] ?? { title: `\`${path}\` types`, noun: "type" };
    out.push(...unionSections(s, path, t, f.description, level));
    return `object, one of the ${link(t.title)}`;
  }
  throw new Error(`config docs: no rendering for ${s.constructor.name} at ${path}`);
}

function defaultOf(f: Field): string {
  if (f.default) return code(f.default.value);
  return f.optional ? "—" : "**required**";
}

/** The section of one object (its table) followed by the sections of what it contains. */
function objectSections(obj: z.AnyZodObject, path: string, title: string, intro: string | undefined, level: number): Section[] {
  const section: Section = { level, title, intro, rows: [] };
  const nested: Section[] = [];
  for (const [key, schema] of Object.entries(obj.shape as z.ZodRawShape)) {
    const p = path ? `${path}.${key}` : key;
    const f = unwrap(schema);
    section.rows.push({ path: p, type: typeOf(f, p, nested, level), default: defaultOf(f), description: f.description ?? "" });
  }
  return [section, ...nested];
}

function unionSections(u: z.ZodDiscriminatedUnion<string, z.AnyZodObject[]>, path: string, t: { title: string; noun: string }, intro: string | undefined, level: number): Section[] {
  const out: Section[] = [{ level, title: t.title, intro, rows: [] }];
  for (const option of u._def.options as z.AnyZodObject[]) {
    const tag = unwrap(option.shape[u._def.discriminator] as z.ZodTypeAny).core;
    const name = tag instanceof z.ZodLiteral ? String(tag._def.value) : "?";
    out.push(...objectSections(option, path, `\`${name}\` ${t.noun}`, option.description, level + 1));
  }
  return out;
}

/** `<` outside code spans would start an HTML tag; `|` would end a table cell. */
function cell(text: string): string {
  return text
    .split("`")
    .map((part, i) => (i % 2 ? part : part.replace(/</g, "&lt;").replace(/>/g, "&gt;")))
    .join("`")
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ");
}

function renderSection(s: Section): string {
  const lines = [`${"#".repeat(s.level)} ${s.title}`, ""];
  if (s.intro) lines.push(`${s.intro}.`, "");
  if (s.rows.length) {
    lines.push("| Field | Type | Default | Description |", "| --- | --- | --- | --- |");
    for (const r of s.rows) lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`);
    lines.push("");
  }
  return lines.join("\n");
}

/** The package root (holds package.json and examples/), from src/config or dist/src/config. */
export function packageRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, "package.json")) && existsSync(join(d, "examples"))) return d;
    if (dirname(d) === d) throw new Error("config docs: cannot find the package root (package.json beside examples/)");
  }
}

/**
 * Renders the configuration reference as Markdown: the notes on loading, `${ENV}`
 * interpolation, names and durations, one table per object of the schema (a section per
 * source and sink type), and examples/demo.yaml as the example.
 * Throws if a schema field has no description: the schema is the documentation.
 * @param example YAML shown as the example @default the text of examples/demo.yaml
 */
export function renderConfigDocs(example: string = readFileSync(join(packageRoot(), "examples/demo.yaml"), "utf8")): string {
  const sections = objectSections(configSchema._def.schema, "", "Top level", undefined, 3);
  const undocumented = sections.flatMap((s) => s.rows.filter((r) => !r.description).map((r) => r.path));
  if (undocumented.length) throw new Error(`config docs: fields without a .describe() (src/config/schema.ts or a connector's schema.ts): ${undocumented.join(", ")}`);
  return [
    INTRO,
    ENV_NOTES,
    NAMES_AND_DURATIONS,
    "## Reference\n",
    ...sections.map(renderSection),
    "## Example\n",
    "`examples/demo.yaml`, the config of `npm run demo`:\n",
    "```yaml",
    example.trimEnd(),
    "```",
    "",
    EXAMPLE_NOTES,
  ].join("\n");
}
