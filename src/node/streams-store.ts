/**
 * The desired state: stream specs in the streams bucket, its one owner (docs/adr/0012).
 * Writers: `tributary apply` (`planApply` + `executePlan`: the declarative sync, deletion only
 * with prune and only of its own owner's streams), the admin API (`putStream`), and a node
 * start (`seedStreams`: creates what the cluster never had, nothing else). `watchStreams`
 * follows the bucket (watch + periodic full listing, since a watcher can miss entries across
 * reconnects). Keys with a dot (`retired.<id>`) are not streams: see retired.ts.
 */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { TributaryError } from "../base/index.js";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";
import { resourceClashes, type SourceSpec, type StreamSource } from "../registry/index.js";

/** A key of the streams bucket that holds a stream spec (stream ids have no dots). */
export const isStreamKey = (key: string): boolean => !key.includes(".");

/** Lists every stream spec in the bucket (invalid entries are logged and skipped). */
export async function listStreams(kv: KV, log?: Logger): Promise<StreamSpec[]> {
  const out: StreamSpec[] = [];
  for await (const key of await kv.keys()) {
    if (!isStreamKey(key)) continue;
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT") continue;
    try {
      out.push(parseStreamSpec(e.json(), `stream ${key} in the streams bucket`));
    } catch (err) {
      log?.error({ err, stream: key }, "invalid stream spec in the bucket; ignored");
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Reads one stream spec, or undefined when absent or deleted. */
export async function getStream(kv: KV, id: string): Promise<StreamSpec | undefined> {
  const e = await kv.get(id);
  if (!e || e.operation !== "PUT") return undefined;
  return parseStreamSpec(e.json(), `stream ${id} in the streams bucket`);
}

/** Writes one spec (idempotent). */
export async function putStream(kv: KV, spec: StreamSpec): Promise<"created" | "updated" | "unchanged"> {
  const cur = await kv.get(spec.id);
  const json = JSON.stringify(spec);
  if (cur && cur.operation === "PUT" && cur.string() === json) return "unchanged";
  await kv.put(spec.id, json);
  return cur && cur.operation === "PUT" ? "updated" : "created";
}

/**
 * Refuses specs whose slot, publication or MySQL server id another stream of the cluster
 * uses (docs/adr/0010): each of `specs` is compared with `others` and with the specs before
 * it. @throws TributaryError CONFIG_INVALID naming the stream, the field and the other stream
 */
export function assertOwnResources(specs: readonly StreamSpec[], others: readonly StreamSource[], cluster: string): void {
  const problems: string[] = [];
  for (const [i, s] of specs.entries()) {
    for (const k of resourceClashes(s, [...others, ...specs.slice(0, i)], cluster)) problems.push(`stream ${s.id}: ${k.path.join(".")}: ${k.message}`);
  }
  if (problems.length) throw new TributaryError("CONFIG_INVALID", problems.join("\n"));
}

/**
 * The deleted streams that kept their source resources (`retired.<id>`, retired.ts), as the
 * exclusive-resources check sees them: a kept slot is still theirs until it is dropped.
 */
export async function keptSources(kv: KV): Promise<StreamSource[]> {
  const out: StreamSource[] = [];
  for await (const key of await kv.keys("retired.>")) {
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT") continue;
    const r = e.json<{ id?: unknown; source?: unknown }>();
    if (typeof r?.id !== "string" || !r.source || typeof r.source !== "object") continue;
    out.push({ id: r.id, source: r.source as SourceSpec, label: `deleted stream ${r.id}, which kept its source resources (drop them: tributary drop ${r.id})` });
  }
  return out;
}

/** Writes one spec for the admin API: refused when another stream of `cluster` (or a deleted one that kept them) uses one of its source's exclusive resources. */
export async function putOwnStream(kv: KV, spec: StreamSpec, cluster: string): Promise<"created" | "updated" | "unchanged"> {
  assertOwnResources([spec], [...(await listStreams(kv)), ...(await keptSources(kv))], cluster);
  return putStream(kv, spec);
}

/**
 * Creates one spec, refusing (CONFLICT, naming it) a stream id the cluster already runs:
 * POST /v1/streams never silently replaces a stream. A compare-and-set create, so of two
 * concurrent creations one wins and the other is refused. An id whose stream was deleted
 * may be created again.
 */
export async function createStream(kv: KV, spec: StreamSpec): Promise<"created"> {
  try {
    await kv.create(spec.id, JSON.stringify(spec));
    return "created";
  } catch (err) {
    const cur = await kv.get(spec.id).catch(() => null);
    if (cur && cur.operation === "PUT") {
      throw new TributaryError("CONFLICT", `stream "${spec.id}" already exists; change it with PUT /v1/streams/${spec.id} (or delete it first)`, { cause: err });
    }
    throw err;
  }
}

/** Creates one spec for the admin API (POST): refused like `putOwnStream` when it would share a source resource, and like `createStream` when the id exists. */
export async function createOwnStream(kv: KV, spec: StreamSpec, cluster: string): Promise<"created"> {
  assertOwnResources([spec], [...(await listStreams(kv)), ...(await keptSources(kv))], cluster);
  return createStream(kv, spec);
}

/** What a node start did with its file's streams. */
export interface SeedResult {
  /** streams the cluster never had, now created */
  created: string[];
  /** already in the cluster: left as they are (the cluster's spec wins) */
  kept: string[];
  /** in the cluster, but different from the file: left as they are, and logged */
  differs: string[];
  /** deleted in the cluster (the bucket remembers the deletion): not re-created */
  deletedInCluster: string[];
  /** new, but a slot, publication or server id of theirs is another stream's: not created, logged at error */
  refused: string[];
}

/**
 * A node start: creates the file's streams that the cluster has never had (compare-and-set,
 * so nodes starting together create each once). Never updates, deletes, pauses or resumes a
 * stream; a stream deleted through the API or `apply --prune` is not brought back.
 */
export async function seedStreams(kv: KV, specs: readonly StreamSpec[], log: Logger, cluster?: string): Promise<SeedResult> {
  const r: SeedResult = { created: [], kept: [], differs: [], deletedInCluster: [], refused: [] };
  const existing = cluster === undefined ? [] : await listStreams(kv, log);
  for (const s of specs) {
    const cur = await kv.get(s.id);
    if (cur && cur.operation !== "PUT") {
      r.deletedInCluster.push(s.id);
      continue;
    }
    if (cur) {
      const stored = parseStreamSpec(cur.json(), `stream ${s.id} in the streams bucket`);
      if (changedPaths(withoutOwner(stored), withoutOwner({ ...s, paused: stored.paused })).length) r.differs.push(s.id);
      else r.kept.push(s.id);
      continue;
    }
    if (cluster !== undefined) {
      try {
        assertOwnResources([s], existing, cluster);
      } catch (err) {
        log.error({ err, stream: s.id }, "a stream of the config file is not created: one of its source resources is another stream's");
        r.refused.push(s.id);
        continue;
      }
    }
    try {
      await kv.create(s.id, JSON.stringify({ ...s, managedBy: s.managedBy ?? "node" }));
      existing.push(s);
      r.created.push(s.id);
    } catch {
      r.kept.push(s.id); // a peer created it first
    }
  }
  if (r.differs.length) {
    log.warn({ streams: r.differs }, "the config file's spec of these streams differs from the cluster's; the cluster's is kept (a node start never changes a stream: run `tributary apply -f <file>` to change it)");
  }
  if (r.deletedInCluster.length) log.info({ streams: r.deletedInCluster }, "streams of the config file that were deleted in the cluster are not re-created by a node start");
  return r;
}

const withoutOwner = (s: StreamSpec): Omit<StreamSpec, "managedBy"> => {
  const { managedBy: _ignored, ...rest } = s;
  return rest;
};

/** Paths (dotted) where `a` and `b` differ; values are never part of the answer (they may be secrets). */
export function changedPaths(a: unknown, b: unknown, path: string[] = [], out: string[] = []): string[] {
  if (a === b) return out;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) {
      out.push(path.join(".") || "(spec)");
      return out;
    }
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths(a[k], b[k], [...path, k], out);
    return out;
  }
  out.push(path.join(".") || "(spec)");
  return out;
}

/** One stream's part of an apply plan. */
export type PlanEntry =
  | { id: string; action: "create"; spec: StreamSpec }
  | { id: string; action: "update"; spec: StreamSpec; changed: string[]; revision: number }
  | { id: string; action: "unchanged" }
  | { id: string; action: "delete"; managedBy: string | undefined; revision: number }
  /** in the cluster, not in the file, and not deleted: without prune, or managed by another owner */
  | { id: string; action: "keep"; managedBy: string | undefined; why: string };

/** How `planApply` runs. */
export interface ApplyOptions {
  /** the owner this apply writes as (the streams' `managedBy`) @default "apply" */
  owner?: string;
  /** delete this owner's streams that the file no longer lists */
  prune?: boolean;
  /** stream ids whose file spec states `paused` explicitly (others keep the cluster's value) */
  pausedStated?: ReadonlySet<string>;
  /** the cluster's name: when set, a file stream whose slot, publication or server id a stream kept in the cluster uses is refused */
  cluster?: string;
}

/**
 * What `tributary apply` would do (also its `--dry-run` output): create the file's new
 * streams, update those that differ, keep the cluster's `paused` unless the file states it,
 * and with `prune` delete the streams this owner manages that the file no longer lists.
 * Streams of other owners (the API, another apply) are never deleted.
 */
export async function planApply(kv: KV, specs: readonly StreamSpec[], o: ApplyOptions = {}): Promise<PlanEntry[]> {
  const owner = o.owner ?? "apply";
  const plan: PlanEntry[] = [];
  const want = new Set(specs.map((s) => s.id));
  for (const s of specs) {
    const cur = await kv.get(s.id);
    if (!cur || cur.operation !== "PUT") {
      plan.push({ id: s.id, action: "create", spec: { ...s, managedBy: owner } });
      continue;
    }
    const stored = parseStreamSpec(cur.json(), `stream ${s.id} in the streams bucket`);
    const next: StreamSpec = { ...s, paused: o.pausedStated?.has(s.id) ? s.paused : stored.paused, managedBy: owner };
    const changed = changedPaths(stored, next);
    plan.push(changed.length ? { id: s.id, action: "update", spec: next, changed, revision: cur.revision } : { id: s.id, action: "unchanged" });
  }
  for await (const key of await kv.keys()) {
    if (want.has(key) || !isStreamKey(key)) continue;
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT") continue;
    const managedBy = (e.json<{ managedBy?: string }>() ?? {}).managedBy;
    if (o.prune && managedBy === owner) plan.push({ id: key, action: "delete", managedBy, revision: e.revision });
    else plan.push({ id: key, action: "keep", managedBy, why: o.prune ? `managed by ${managedBy ?? "nobody"}, not by ${owner}` : "not in the file (--prune deletes it if this owner manages it)" });
  }
  if (o.cluster !== undefined) {
    // the cluster after the plan: the file's streams and the kept ones
    const kept = new Set(plan.filter((e) => e.action === "keep").map((e) => e.id));
    assertOwnResources(specs, [...(await listStreams(kv)).filter((s) => kept.has(s.id)), ...(await keptSources(kv))], o.cluster);
  }
  return plan.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The plan as text lines, `+ id` / `~ id: paths` / `- id` / `= id` / `  id (kept: why)`; no values. */
export function formatPlan(plan: readonly PlanEntry[]): string[] {
  return plan.map((e) => {
    switch (e.action) {
      case "create":
        return `+ ${e.id} (create)`;
      case "update":
        return `~ ${e.id} (update: ${e.changed.join(", ")})`;
      case "unchanged":
        return `= ${e.id} (unchanged)`;
      case "delete":
        return `- ${e.id} (delete; its source resources and JetStream streams are kept)`;
      case "keep":
        return `  ${e.id} (kept: ${e.why})`;
    }
  });
}

/**
 * Carries out a plan with compare-and-set writes: a stream changed by someone else since the
 * plan was made is not overwritten (it is reported in `conflicts`; run apply again).
 * `onDelete` retires a stream before its spec is deleted (retired.ts).
 */
export async function executePlan(kv: KV, plan: readonly PlanEntry[], onDelete: (id: string) => Promise<void>): Promise<{ created: string[]; updated: string[]; deleted: string[]; unchanged: string[]; conflicts: string[] }> {
  const r = { created: [] as string[], updated: [] as string[], deleted: [] as string[], unchanged: [] as string[], conflicts: [] as string[] };
  for (const e of plan) {
    try {
      if (e.action === "create") {
        await kv.create(e.id, JSON.stringify(e.spec)); // refused when someone created it meanwhile
        r.created.push(e.id);
      } else if (e.action === "update") {
        await kv.update(e.id, JSON.stringify(e.spec), e.revision);
        r.updated.push(e.id);
      } else if (e.action === "delete") {
        await onDelete(e.id);
        await kv.delete(e.id, { previousSeq: e.revision });
        r.deleted.push(e.id);
      } else if (e.action === "unchanged") r.unchanged.push(e.id);
    } catch {
      r.conflicts.push(e.id);
    }
  }
  return r;
}

/**
 * Makes the bucket hold exactly `specs`, deleting every other stream whoever declared it,
 * without retiring anything: a blunt tool for tests and benchmarks that own their whole
 * (throw-away) cluster. Operators use `tributary apply` (planApply/executePlan).
 */
export async function applyStreams(kv: KV, specs: readonly StreamSpec[]): Promise<{ created: string[]; updated: string[]; deleted: string[]; unchanged: string[] }> {
  const r = { created: [] as string[], updated: [] as string[], deleted: [] as string[], unchanged: [] as string[] };
  const want = new Set(specs.map((s) => s.id));
  for (const s of specs) r[await putStream(kv, s)].push(s.id);
  for await (const key of await kv.keys()) {
    if (want.has(key) || !isStreamKey(key)) continue;
    const e = await kv.get(key);
    if (e && e.operation === "PUT") {
      await kv.delete(key);
      r.deleted.push(key);
    }
  }
  return r;
}

/** Calls `onChange(id, spec|null)` for every change; returns a stop function. */
export async function watchStreams(kv: KV, log: Logger, onChange: (id: string, spec: StreamSpec | null) => void, onFull: (specs: StreamSpec[]) => void, fullEveryMs = 30_000): Promise<() => void> {
  const w = await kv.watch();
  let stopped = false;
  (async () => {
    for await (const e of w) {
      if (!isStreamKey(e.key)) continue;
      if (e.operation !== "PUT") {
        onChange(e.key, null);
        continue;
      }
      try {
        onChange(e.key, parseStreamSpec(e.json(), `stream ${e.key} in the streams bucket`));
      } catch (err) {
        log.error({ err, stream: e.key }, "invalid stream spec in the bucket; ignored");
      }
    }
  })().catch((err) => !stopped && log.error({ err }, "streams watch ended"));
  const t = setInterval(() => {
    listStreams(kv, log).then(onFull, (err: unknown) => log.warn({ err }, "listing streams failed"));
  }, fullEveryMs);
  t.unref();
  return () => {
    stopped = true;
    clearInterval(t);
    w.stop();
  };
}
