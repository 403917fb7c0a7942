/**
 * Where the MongoDB sink writes an event: its `collection` template (`{schema}`/`{db}` and
 * `{table}`/`{collection}` placeholders) compiled into a resolver to a `database.collection`
 * namespace, and the name rules MongoDB puts on databases and collections. Pure: the
 * config schema checks templates with it, the sink resolves targets with it.
 */

/** Characters a MongoDB database name cannot hold (any platform), nor a space. */
const BAD_DB_CHARS = /[/\\. "$*<>:|?\0]/;
/** Placeholders of the template and the source field each one takes. */
const PLACEHOLDER = /\{schema\}|\{db\}|\{table\}|\{collection\}/g;

/** A target namespace. */
export interface Namespace {
  db: string;
  collection: string;
}

/** Why `name` cannot be a database name, or undefined when it can. */
export function databaseNameProblem(name: string): string | undefined {
  if (name.length === 0) return "a database name cannot be empty";
  const bad = BAD_DB_CHARS.exec(name);
  if (bad) return `database name ${JSON.stringify(name)} contains ${JSON.stringify(bad[0])}, which MongoDB does not allow in a database name (/\\. "$*<>:|? or a space)`;
  if (Buffer.byteLength(name) > 63) return `database name ${JSON.stringify(name)} is longer than MongoDB's 63 bytes`;
  return undefined;
}

/** Why `name` cannot be a collection name, or undefined when it can. */
export function collectionNameProblem(name: string): string | undefined {
  if (name.length === 0) return "a collection name cannot be empty";
  if (name.includes("$")) return `collection name ${JSON.stringify(name)} contains "$", which MongoDB does not allow`;
  if (name.includes("\0")) return `collection name ${JSON.stringify(name)} contains a NUL character`;
  if (name.startsWith("system.")) return `collection name ${JSON.stringify(name)} starts with "system.", which MongoDB reserves`;
  return undefined;
}

/**
 * Compiles a `collection` template: the text before its first `.` names the database, the
 * rest the collection (collection names may hold dots, database names may not). The
 * template is split before substitution, so a source table name with a dot stays in the
 * collection part.
 * @throws Error naming the template when it has no `.`, an empty part, an unknown
 * placeholder, a stray brace, or a literal character a database name cannot hold.
 */
export function compileCollectionTemplate(template: string): (source: { schema: string; table: string }) => Namespace {
  const unknown = template.replace(PLACEHOLDER, "").match(/\{[^}]*\}/);
  if (unknown) throw new Error(`collection template "${template}" has an unknown placeholder ${unknown[0]} (known: {schema} or {db}, {table} or {collection})`);
  const stray = template.replace(PLACEHOLDER, "").match(/[{}]/);
  if (stray) throw new Error(`collection template "${template}" has a stray "${stray[0]}" (placeholders are {schema}, {db}, {table}, {collection})`);
  const dot = template.indexOf(".");
  if (dot <= 0 || dot === template.length - 1) {
    throw new Error(`collection template "${template}" must be "<database>.<collection>" (e.g. "{schema}.{table}" or "archive.{table}")`);
  }
  const dbTpl = template.slice(0, dot);
  const collTpl = template.slice(dot + 1);
  const dbLiteral = dbTpl.replace(PLACEHOLDER, "");
  const bad = BAD_DB_CHARS.exec(dbLiteral);
  if (bad) throw new Error(`collection template "${template}": its database part contains ${JSON.stringify(bad[0])}, which MongoDB does not allow in a database name`);
  const collLiteral = collTpl.replace(PLACEHOLDER, "");
  if (collLiteral.includes("$")) throw new Error(`collection template "${template}": its collection part contains "$", which MongoDB does not allow`);
  const fill = (tpl: string, s: { schema: string; table: string }) => tpl.replace(PLACEHOLDER, (m) => (m === "{schema}" || m === "{db}" ? s.schema : s.table));
  return (s) => ({ db: fill(dbTpl, s), collection: fill(collTpl, s) });
}

/**
 * Parses a `database.collection` name (the offsets collection): the first `.` separates them.
 * @throws Error naming the problem.
 */
export function parseNamespace(ns: string): Namespace {
  const dot = ns.indexOf(".");
  if (dot < 0) throw new Error(`"${ns}" must be "<database>.<collection>"`);
  const n = { db: ns.slice(0, dot), collection: ns.slice(dot + 1) };
  const problem = databaseNameProblem(n.db) ?? collectionNameProblem(n.collection);
  if (problem) throw new Error(problem);
  return n;
}
