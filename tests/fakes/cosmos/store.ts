/**
 * State of the Cosmos DB fake: databases, containers, their partition key ranges, live
 * documents and the change log, under ONE account-wide monotonic LSN. Containers keep a
 * stable `_rid` (the SDK's continuation tokens embed it). `split` replaces a range by two
 * children at the median EPK of its documents, like a service split driven by storage.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { PkComponent, PkDefinition } from "./hash.js";
import { errors } from "./wire.js";

/** A JSON document as stored (user properties plus the system properties). */
export type Doc = Record<string, unknown>;

/** A live document: its body (with _rid, _self, _etag, _attachments, _ts) and placement. */
export interface Entry {
  doc: Doc;
  lsn: number;
  epk: string;
  pk: PkComponent[];
}

/** One change: what AllVersionsAndDeletes replays and LatestVersion reduces. */
export interface ChangeRecord {
  lsn: number;
  /** Commit time in epoch seconds. */
  crts: number;
  op: "create" | "replace" | "delete";
  id: string;
  epk: string;
  pk: PkComponent[];
  current?: Doc;
  previous?: Doc;
  previousLsn?: number;
}

/** A partition key range as `GET …/pkranges` returns it. */
export interface PkRange {
  id: string;
  minInclusive: string;
  maxExclusive: string;
  parents: string[];
}

/** Seconds since the epoch, the unit of `_ts`. */
export const nowSec = (): number => Math.floor(Date.now() / 1000);
/** A fresh etag, quoted like the service's. */
export const newEtag = (): string => `"${randomUUID()}"`;

/** One container: definition, ranges, documents and change log. */
export class ContainerState {
  readonly rid: string;
  readonly etag = newEtag();
  readonly ts = nowSec();
  ranges: PkRange[] = [{ id: "0", minInclusive: "", maxExclusive: "FF", parents: [] }];
  readonly goneRanges = new Set<string>();
  readonly docs = new Map<string, Entry>();
  readonly log: ChangeRecord[] = [];
  private nextRangeId = 1;
  private nextDocSeq = 1n;

  constructor(
    readonly db: DatabaseState,
    readonly id: string,
    readonly definition: Doc,
    readonly pkDef: PkDefinition,
  ) {
    this.rid = Buffer.concat([Buffer.from(db.rid, "base64"), randomBytes(4)]).toString("base64");
  }

  /** `_self` of the container. */
  get self(): string {
    return `dbs/${this.db.rid}/colls/${this.rid}/`;
  }

  /** A new document `_rid` under this container. */
  newDocRid(): string {
    const seq = Buffer.alloc(8);
    seq.writeBigUInt64LE(this.nextDocSeq++);
    return Buffer.concat([Buffer.from(this.rid, "base64"), seq]).toString("base64");
  }

  /** The online range holding `epk`. */
  rangeOf(epk: string): PkRange {
    const r = this.ranges.find((x) => x.minInclusive <= epk && epk < x.maxExclusive);
    if (!r) throw new Error(`fake cosmos: no range holds EPK ${epk}`);
    return r;
  }

  /** The online range `id`; a split-away range gives 410/1002 like the service. */
  onlineRange(id: string): PkRange {
    const r = this.ranges.find((x) => x.id === id);
    if (r) return r;
    if (this.goneRanges.has(id)) {
      throw errors.gone(1002, `The partition key range ${id} is gone (split). Refresh the partition key ranges and retry.`);
    }
    throw errors.notFound(`Partition key range ${id} does not exist.`);
  }

  /**
   * Splits range `id` (default: the one with the most documents) at `at` (default: the median
   * EPK of its documents, or the middle of its hex interval when it holds fewer than 2 keys).
   */
  split(id?: string, at?: string): { parent: PkRange; children: [PkRange, PkRange] } {
    const parent = id !== undefined ? this.onlineRange(id) : this.fullestRange();
    const point = at ?? this.medianEpk(parent) ?? midpoint(parent.minInclusive, parent.maxExclusive);
    if (!(parent.minInclusive < point && point < parent.maxExclusive)) {
      throw new Error(`fake cosmos: split point ${point} is not inside range ${parent.id}`);
    }
    const parents = [...parent.parents, parent.id];
    const left = { id: String(this.nextRangeId++), minInclusive: parent.minInclusive, maxExclusive: point, parents };
    const right = { id: String(this.nextRangeId++), minInclusive: point, maxExclusive: parent.maxExclusive, parents };
    const i = this.ranges.indexOf(parent);
    this.ranges.splice(i, 1, left, right);
    this.goneRanges.add(parent.id);
    return { parent, children: [left, right] };
  }

  private fullestRange(): PkRange {
    const count = (r: PkRange): number => [...this.docs.values()].filter((e) => inRange(r, e.epk)).length;
    return this.ranges.reduce((best, r) => (count(r) > count(best) ? r : best));
  }

  private medianEpk(r: PkRange): string | undefined {
    const epks = [...new Set([...this.docs.values()].map((e) => e.epk))].filter((e) => inRange(r, e)).sort();
    return epks.length >= 2 ? epks[Math.floor(epks.length / 2)] : undefined;
  }

  /** The container resource as the service returns it. */
  resource(): Doc {
    return {
      ...this.definition,
      id: this.id,
      partitionKey: this.pkDef,
      _rid: this.rid,
      _self: this.self,
      _etag: this.etag,
      _docs: "docs/",
      _sprocs: "sprocs/",
      _triggers: "triggers/",
      _udfs: "udfs/",
      _conflicts: "conflicts/",
      _ts: this.ts,
    };
  }
}

/** True when `epk` falls in `[minInclusive, maxExclusive)` of `r`. */
export function inRange(r: { minInclusive: string; maxExclusive: string }, epk: string): boolean {
  return r.minInclusive <= epk && epk < r.maxExclusive;
}

function midpoint(min: string, max: string): string {
  const width = Math.max(min.length, max.length, 2);
  const lo = BigInt(`0x${(min || "0").padEnd(width, "0")}`);
  const hi = BigInt(`0x${max.padEnd(width, "0")}`);
  return ((lo + hi) / 2n).toString(16).toUpperCase().padStart(width, "0");
}

/** One database and its containers. */
export class DatabaseState {
  readonly rid = randomBytes(4).toString("base64");
  readonly etag = newEtag();
  readonly ts = nowSec();
  readonly containers = new Map<string, ContainerState>();

  constructor(readonly id: string) {}

  /** The database resource as the service returns it. */
  resource(): Doc {
    return { id: this.id, _rid: this.rid, _self: `dbs/${this.rid}/`, _etag: this.etag, _colls: "colls/", _users: "users/", _ts: this.ts };
  }
}

/** The whole account: databases and the account-wide LSN. */
export class AccountState {
  /** The last LSN handed out (0 = nothing written yet). */
  lsn = 0;
  readonly databases = new Map<string, DatabaseState>();

  /** Database `id` or 404. */
  database(id: string): DatabaseState {
    const db = this.databases.get(id);
    if (!db) throw errors.notFound(`Resource Not Found: database '${id}'.`);
    return db;
  }

  /** Container `db/coll` or 404. */
  container(db: string, coll: string): ContainerState {
    const c = this.database(db).containers.get(coll);
    if (!c) throw errors.notFound(`Resource Not Found: container '${db}/${coll}'.`);
    return c;
  }
}
