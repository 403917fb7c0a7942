/**
 * The change feed of the Cosmos DB fake: `GET …/docs` with `A-IM: Incremental Feed`
 * (LatestVersion: the latest version of each live document, in LSN order of its last change,
 * deletes invisible) or `A-IM: Full-Fidelity Feed` (AllVersionsAndDeletes: every change with
 * metadata and previous image). `If-None-Match` carries the position (absent = beginning,
 * `*` = now, `"<lsn>"` = after that LSN) and EVERY 200/304 reply carries the new one in `etag`,
 * which is how the SDK's continuation moves on the service.
 */
import { effectivePartitionKey, type PkComponent } from "./hash.js";
import { parsePartitionKey, partitionKeyObject, partitionKeyString } from "./partition-key.js";
import { type AccountState, type ContainerState, type Doc, inRange } from "./store.js";
import { errors, type Reply } from "./wire.js";

/** Page size when the request sets no `x-ms-max-item-count`. */
export const DEFAULT_FEED_PAGE = 100;

/** The request headers the change feed reads (lowercase names). */
export type FeedHeaders = Record<string, string | undefined>;

type Mode = "latest" | "all";

interface Scope {
  /** Range id for the session token. */
  rangeId: string;
  accepts: (epk: string, pk: PkComponent[]) => boolean;
}

/** True when a `GET …/docs` request is a change feed read. */
export function isChangeFeed(headers: FeedHeaders): boolean {
  return headers["a-im"] !== undefined;
}

/** Answers one change feed request on container `c`. */
export function readChangeFeed(account: AccountState, c: ContainerState, h: FeedHeaders): Reply {
  const mode = modeOf(h["a-im"] ?? "");
  const scope = scopeOf(c, h);
  const inm = h["if-none-match"];
  const since = h["if-modified-since"];
  if (mode === "all" && (inm === undefined || since !== undefined)) {
    throw errors.badRequest(
      "Full-Fidelity Feed (AllVersionsAndDeletes) can only start from now or from a continuation, " +
        "not from the beginning or a point in time.",
    );
  }
  const from = positionOf(inm, account.lsn);
  const sinceSec = inm === undefined && since !== undefined ? sinceOf(since) : undefined;
  const max = pageSize(h["x-ms-max-item-count"]);
  const items = mode === "latest" ? latest(c, scope, from, sinceSec) : allVersions(c, scope, from);
  const page = items.slice(0, max);
  const last = page[page.length - 1];
  const session = `${scope.rangeId}:-1#${account.lsn}`;
  if (!last) {
    const etag = `"${Math.max(from, account.lsn)}"`;
    return { status: 304, headers: { etag, lsn: String(account.lsn), "x-ms-session-token": session } };
  }
  return {
    status: 200,
    body: { _rid: c.rid, Documents: page.map((x) => x.body), _count: page.length },
    headers: {
      etag: `"${last.lsn}"`,
      lsn: String(account.lsn),
      "x-ms-item-count": String(page.length),
      "x-ms-session-token": session,
    },
  };
}

function modeOf(aim: string): Mode {
  const v = aim.toLowerCase();
  if (v === "incremental feed") return "latest";
  if (v === "full-fidelity feed") return "all";
  throw errors.badRequest(`A-IM '${aim}' is not supported (Incremental Feed or Full-Fidelity Feed).`);
}

function scopeOf(c: ContainerState, h: FeedHeaders): Scope {
  const pkText = h["x-ms-documentdb-partitionkey"];
  if (pkText !== undefined) {
    const pk = parsePartitionKey(pkText);
    const key = partitionKeyString(pk);
    const rangeId = c.rangeOf(effectivePartitionKey(pk, c.pkDef)).id;
    return { rangeId, accepts: (_epk, docPk) => partitionKeyString(docPk) === key };
  }
  const rangeIdHeader = h["x-ms-documentdb-partitionkeyrangeid"];
  const range = rangeIdHeader !== undefined
    ? c.onlineRange(rangeIdHeader.split(",")[0] ?? "")
    : { id: "0", minInclusive: "", maxExclusive: "FF" };
  // A feed range narrower than the physical range arrives as an EPK sub-range.
  const start = h["x-ms-start-epk"];
  const end = h["x-ms-end-epk"];
  const sub = { minInclusive: start ?? "", maxExclusive: end ?? "FF" };
  return { rangeId: range.id, accepts: (epk) => inRange(range, epk) && inRange(sub, epk) };
}

function positionOf(inm: string | undefined, current: number): number {
  if (inm === undefined) return 0;
  if (inm.trim() === "*") return current;
  const n = Number(inm.trim().replace(/^W\//, "").replace(/^"|"$/g, ""));
  if (!Number.isSafeInteger(n) || n < 0) throw errors.badRequest(`If-None-Match '${inm}' is not a change feed position.`);
  return n;
}

function sinceOf(text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw errors.badRequest(`If-Modified-Since '${text}' is not an HTTP date.`);
  return Math.floor(ms / 1000);
}

function pageSize(text: string | undefined): number {
  const n = text === undefined ? DEFAULT_FEED_PAGE : Number(text);
  if (!Number.isInteger(n) || n === 0 || n < -1) throw errors.badRequest(`x-ms-max-item-count '${text}' is invalid.`);
  return n === -1 ? Number.MAX_SAFE_INTEGER : n;
}

interface Item {
  lsn: number;
  body: Doc;
}

function latest(c: ContainerState, scope: Scope, from: number, sinceSec: number | undefined): Item[] {
  const out: Item[] = [];
  for (const e of c.docs.values()) {
    if (e.lsn <= from || !scope.accepts(e.epk, e.pk)) continue;
    if (sinceSec !== undefined && Number(e.doc._ts) < sinceSec) continue;
    out.push({ lsn: e.lsn, body: { ...e.doc, _lsn: e.lsn } });
  }
  return out.sort((a, b) => a.lsn - b.lsn);
}

function allVersions(c: ContainerState, scope: Scope, from: number): Item[] {
  const out: Item[] = [];
  // The log is in LSN order; binary search would do, a scan is plenty for tests.
  for (const r of c.log) {
    if (r.lsn <= from || !scope.accepts(r.epk, r.pk)) continue;
    const metadata: Doc = { operationType: r.op, lsn: r.lsn, crts: r.crts, timeToLiveExpired: false };
    if (r.previousLsn !== undefined) metadata.previousImageLSN = r.previousLsn;
    if (r.op === "delete") {
      metadata.id = r.id;
      metadata.partitionKey = partitionKeyObject(r.pk, c.pkDef);
    }
    const body: Doc = { current: r.current ? { ...r.current, _lsn: r.lsn } : null, metadata };
    if (r.previous) body.previous = r.previous;
    out.push({ lsn: r.lsn, body });
  }
  return out;
}
