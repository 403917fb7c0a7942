/**
 * Update operators of the fake MongoDB server ($set, $unset, $inc, $mul, $min, $max,
 * $currentDate, $rename, $setOnInsert, $push, $addToSet, $pull, $pullAll, $pop), applied to a
 * copy of the stored document with exact BSON numeric semantics (Int32 overflow becomes Long,
 * any Double makes a Double) and logged as mongod logs them, so change events carry the
 * `updateDescription` a real server would produce.
 */
import { Double, Int32, Long } from "mongodb";
import { Query } from "mingo";
import { compare, isEqual } from "mingo/util";
import { bsonType, cloneValue, getPath, isPlainDoc, promote, promoteDoc, toNum, type Doc } from "./bson-values.js";
import { fail } from "./errors.js";
import { UpdateLog, setPath, unsetPath } from "./update-paths.js";

type OpFn = (doc: Doc, path: string, arg: unknown, log: UpdateLog) => void;

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return bsonType(v)?.toLowerCase() ?? typeof v;
}

function arith(a: unknown, b: unknown, op: "add" | "mul", name: string, path: string): unknown {
  for (const v of [a, b]) {
    const t = bsonType(v);
    if (t === "Decimal128") throw fail("NotImplemented", `${name} on Decimal128 is not supported by the fake MongoDB (field '${path}')`);
    if (toNum(v) === undefined) throw fail("TypeMismatch", `Cannot apply ${name} to a value of non-numeric type ${typeName(v)} (field '${path}')`);
  }
  const isDouble = (v: unknown): boolean => bsonType(v) === "Double" || (typeof v === "number" && !Number.isInteger(v));
  if (isDouble(a) || isDouble(b)) {
    const x = toNum(a) as number;
    const y = toNum(b) as number;
    return new Double(op === "add" ? x + y : x * y);
  }
  if (bsonType(a) === "Long" || bsonType(b) === "Long") {
    const x = Long.fromValue(bsonType(a) === "Long" ? (a as Long) : Long.fromNumber(toNum(a) as number));
    const y = bsonType(b) === "Long" ? (b as Long) : Long.fromNumber(toNum(b) as number);
    return op === "add" ? x.add(y) : x.multiply(y);
  }
  const r = op === "add" ? (toNum(a) as number) + (toNum(b) as number) : (toNum(a) as number) * (toNum(b) as number);
  return r >= -2147483648 && r <= 2147483647 ? new Int32(r) : Long.fromNumber(r);
}

function zeroLike(v: unknown): unknown {
  const t = bsonType(v);
  if (t === "Long") return Long.ZERO;
  if (t === "Double") return new Double(0);
  return new Int32(0);
}

function arrayAt(doc: Doc, path: string, op: string): unknown[] | undefined {
  const cur = getPath(doc, path);
  if (cur === undefined) return undefined;
  if (!Array.isArray(cur)) {
    throw fail("BadValue", `The field '${path}' must be an array but is of type ${typeName(cur)} in document {_id: ${String(promote(doc._id))}} (${op})`);
  }
  return cur;
}

function eachOf(arg: unknown): { values: unknown[]; mods: Doc } {
  if (isPlainDoc(arg) && "$each" in arg) {
    if (!Array.isArray(arg.$each)) throw fail("BadValue", "The argument to $each must be an array");
    return { values: arg.$each.map(cloneValue), mods: arg };
  }
  return { values: [cloneValue(arg)], mods: {} };
}

function sortArray(values: unknown[], spec: unknown): unknown[] {
  const sorted = values.map((v) => ({ v, p: promote(v) }));
  if (isPlainDoc(spec)) {
    const keys = Object.entries(spec);
    sorted.sort((x, y) => {
      for (const [k, dir] of keys) {
        const c = compare(getPath(x.p, k) as never, getPath(y.p, k) as never);
        if (c !== 0) return (toNum(dir) ?? 1) < 0 ? -c : c;
      }
      return 0;
    });
  } else {
    const dir = toNum(spec) ?? 1;
    sorted.sort((x, y) => (dir < 0 ? -1 : 1) * compare(x.p as never, y.p as never));
  }
  return sorted.map((x) => x.v);
}

function push(doc: Doc, path: string, arg: unknown, log: UpdateLog): void {
  const { values, mods } = eachOf(arg);
  const cur = arrayAt(doc, path, "$push");
  const plainAppend = !("$position" in mods) && !("$sort" in mods) && !("$slice" in mods);
  if (cur && plainAppend) {
    // mongod logs a plain append element by element ('a.3': v), not as the whole array.
    for (const v of values) {
      cur.push(v);
      log.updated.add(`${path}.${cur.length - 1}`);
    }
    return;
  }
  let next = [...(cur ?? [])];
  const pos = toNum(mods.$position);
  if (pos === undefined) next.push(...values);
  else next.splice(pos < 0 ? Math.max(0, next.length + pos) : pos, 0, ...values);
  if ("$sort" in mods) next = sortArray(next, mods.$sort);
  const slice = toNum(mods.$slice);
  if (slice !== undefined) next = slice < 0 ? next.slice(slice) : next.slice(0, slice);
  setPath(doc, path, next, log);
}

function addToSet(doc: Doc, path: string, arg: unknown, log: UpdateLog): void {
  const { values } = eachOf(arg);
  const next = [...(arrayAt(doc, path, "$addToSet") ?? [])];
  for (const v of values) if (!next.some((x) => isEqual(promote(x) as never, promote(v) as never))) next.push(v);
  setPath(doc, path, next, log);
}

function pullMatcher(arg: unknown): (el: unknown) => boolean {
  if (isPlainDoc(arg) && !Object.keys(arg).some((k) => k.startsWith("$"))) {
    const q = new Query(promoteDoc(arg));
    return (el) => isPlainDoc(el) && q.test(promoteDoc(el));
  }
  if (isPlainDoc(arg)) {
    const q = new Query({ v: promote(arg) });
    return (el) => q.test({ v: promote(el) });
  }
  const want = promote(arg);
  return (el) => isEqual(promote(el) as never, want as never);
}

function cull(doc: Doc, path: string, keep: (el: unknown, i: number, all: unknown[]) => boolean, log: UpdateLog, op: string): void {
  const cur = arrayAt(doc, path, op);
  if (!cur) return;
  const next = cur.filter(keep);
  if (next.length !== cur.length) setPath(doc, path, next, log);
}

function minMax(sign: 1 | -1): OpFn {
  return (doc, path, arg, log) => {
    const cur = getPath(doc, path);
    if (cur === undefined || sign * compare(promote(arg) as never, promote(cur) as never) > 0) setPath(doc, path, cloneValue(arg), log);
  };
}

const OPERATORS: Record<string, OpFn> = {
  $set: (doc, path, arg, log) => setPath(doc, path, cloneValue(arg), log),
  $unset: (doc, path, _arg, log) => unsetPath(doc, path, log),
  $inc: (doc, path, arg, log) => {
    const cur = getPath(doc, path);
    setPath(doc, path, cur === undefined ? arith(zeroLike(arg), arg, "add", "$inc", path) : arith(cur, arg, "add", "$inc", path), log);
  },
  $mul: (doc, path, arg, log) => {
    const cur = getPath(doc, path);
    setPath(doc, path, arith(cur === undefined ? zeroLike(arg) : cur, arg, "mul", "$mul", path), log);
  },
  $min: minMax(-1),
  $max: minMax(1),
  $currentDate: (doc, path, _arg, log) => setPath(doc, path, new Date(), log),
  $rename: (doc, path, arg, log) => {
    if (typeof arg !== "string") throw fail("BadValue", `The 'to' field for $rename must be a string: ${path}`);
    const cur = getPath(doc, path);
    if (cur === undefined) return;
    unsetPath(doc, path, log);
    setPath(doc, arg, cur, log);
  },
  $push: push,
  $addToSet: addToSet,
  $pull: (doc, path, arg, log) => {
    const match = pullMatcher(arg);
    cull(doc, path, (el) => !match(el), log, "$pull");
  },
  $pullAll: (doc, path, arg, log) => {
    if (!Array.isArray(arg)) throw fail("BadValue", `$pullAll requires an array argument but was given a ${typeName(arg)}`);
    const wanted = arg.map(promote);
    cull(doc, path, (el) => !wanted.some((w) => isEqual(promote(el) as never, w as never)), log, "$pullAll");
  },
  $pop: (doc, path, arg, log) => {
    const first = (toNum(arg) ?? 1) < 0;
    cull(doc, path, (_el, i, all) => (first ? i !== 0 : i !== all.length - 1), log, "$pop");
  },
};

function checkConflicts(paths: string[]): void {
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && b.startsWith(`${a}.`)) throw fail("ConflictingUpdateOperators", `Updating the path '${b}' would create a conflict at '${a}'`);
    }
  }
  const seen = new Set<string>();
  for (const p of paths) {
    if (seen.has(p)) throw fail("ConflictingUpdateOperators", `Updating the path '${p}' would create a conflict at '${p}'`);
    seen.add(p);
  }
}

/** True if `u` is an operator update (`{$set: …}`), false for a replacement document. */
export function isOperatorUpdate(u: Doc): boolean {
  return Object.keys(u)[0]?.startsWith("$") ?? false;
}

/**
 * Applies operator update `mods` to a deep copy of `doc`. `inserting` enables $setOnInsert.
 * Returns the new document and the change log (`log.changed === false` means a no-op).
 */
export function applyOperators(doc: Doc, mods: Doc, inserting: boolean): { doc: Doc; log: UpdateLog } {
  const paths: string[] = [];
  for (const [op, spec] of Object.entries(mods)) {
    if (op !== "$setOnInsert" && !(op in OPERATORS)) {
      throw fail("FailedToParse", `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isPlainDoc(spec)) throw fail("FailedToParse", `Modifiers operate on fields but we found type ${typeName(spec)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${typeName(spec)}}`);
    for (const [path, arg] of Object.entries(spec)) {
      paths.push(path);
      if (op === "$rename" && typeof arg === "string") paths.push(arg);
    }
  }
  checkConflicts(paths);
  const next = cloneValue(doc) as Doc;
  const log = new UpdateLog();
  for (const [op, spec] of Object.entries(mods)) {
    const fn = op === "$setOnInsert" ? (inserting ? OPERATORS.$set : undefined) : OPERATORS[op];
    if (!fn) continue;
    for (const [path, arg] of Object.entries(spec as Doc)) fn(next, path, arg, log);
  }
  return { doc: next, log };
}
