/**
 * Document operations of the Cosmos DB fake (create, upsert, replace, delete, read, patch),
 * each keyed by (partition key, id), each write taking the next account LSN and appending to
 * the container's change log. Used by the REST routes and by batch/bulk alike, so both paths
 * produce the same results and the same change feed.
 */
import { effectivePartitionKey, type PkComponent } from "./hash.js";
import { extractPartitionKey, partitionKeyString } from "./partition-key.js";
import { applyPatch, type PatchBody } from "./patch.js";
import { type AccountState, type ContainerState, type Doc, type Entry, newEtag, nowSec } from "./store.js";
import { errors } from "./wire.js";

/** Largest document the service accepts (2 MB). */
export const MAX_DOC_BYTES = 2 * 1024 * 1024;
const SYSTEM = ["_rid", "_self", "_etag", "_ts", "_attachments", "_lsn"];

/** Result of a document operation: status, the document (absent for deletes) and its etag. */
export interface DocResult {
  status: number;
  doc?: Doc;
  etag?: string;
  lsn: number;
  /** EPK of the document (which range it lives in). */
  epk: string;
}

/** Conditions a write may carry. */
export interface Conditions {
  ifMatch?: string;
}

const keyOf = (pk: PkComponent[], id: string): string => `${partitionKeyString(pk)}\u0001${id}`;

/** Operations on one container's documents. */
export class Documents {
  constructor(
    private readonly account: AccountState,
    private readonly c: ContainerState,
  ) {}

  /** Point read; 404 when missing. */
  read(pk: PkComponent[], id: string): DocResult {
    const e = this.entry(pk, id);
    return { status: 200, doc: e.doc, etag: String(e.doc._etag), lsn: e.lsn, epk: e.epk };
  }

  /** Create (409 if present) or, with `upsert`, create-or-replace. */
  create(pk: PkComponent[] | undefined, body: unknown, upsert: boolean, cond: Conditions = {}): DocResult {
    const doc = this.validate(body, pk);
    const id = doc.id as string;
    const existing = this.c.docs.get(keyOf(this.pkOf(doc), id));
    if (existing && !upsert) throw errors.conflict();
    if (existing) return this.write(doc, existing, cond, 200);
    if (cond.ifMatch !== undefined && upsert) throw errors.preconditionFailed();
    return this.write(doc, undefined, cond, 201);
  }

  /** Replace an existing document; 404 when missing, 412 on an etag mismatch. */
  replace(pk: PkComponent[] | undefined, id: string, body: unknown, cond: Conditions = {}): DocResult {
    const doc = this.validate(body, pk);
    if (doc.id !== id) throw errors.badRequest(`The id '${String(doc.id)}' of the body differs from the id '${id}' of the URL.`);
    return this.write(doc, this.entry(this.pkOf(doc), id), cond, 200);
  }

  /** Patch an existing document (JSON patch operations of the Cosmos flavour). */
  patch(pk: PkComponent[], id: string, body: unknown, cond: Conditions = {}): DocResult {
    const prev = this.entry(pk, id);
    const next = applyPatch(prev.doc, body as PatchBody, this.c.pkDef.paths);
    return this.write(this.validate(next, pk), prev, cond, 200);
  }

  /** Delete; 404 when missing, 412 on an etag mismatch. Status 204. */
  delete(pk: PkComponent[], id: string, cond: Conditions = {}): DocResult {
    const prev = this.entry(pk, id);
    checkEtag(prev, cond);
    const lsn = ++this.account.lsn;
    this.c.docs.delete(keyOf(prev.pk, id));
    this.c.log.push({
      lsn, crts: nowSec(), op: "delete", id, epk: prev.epk, pk: prev.pk, previous: prev.doc, previousLsn: prev.lsn,
    });
    return { status: 204, lsn, epk: prev.epk };
  }

  private entry(pk: PkComponent[], id: string): Entry {
    const e = this.c.docs.get(keyOf(pk, id));
    if (!e) throw errors.notFound();
    return e;
  }

  private pkOf(doc: Doc): PkComponent[] {
    return extractPartitionKey(doc, this.c.pkDef);
  }

  /** Checks id, size and that the header's partition key matches the document's. */
  private validate(body: unknown, pk: PkComponent[] | undefined): Doc {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw errors.badRequest("The input content is invalid: a document must be a JSON object.");
    }
    const doc = { ...(body as Doc) };
    for (const k of SYSTEM) delete doc[k];
    if (typeof doc.id !== "string" || doc.id === "") {
      throw errors.badRequest("The input content is invalid because the required properties - 'id; ' - are missing.");
    }
    if (/[/\\?#]/.test(doc.id) || doc.id.length > 255) {
      throw errors.badRequest(`The id '${doc.id}' contains an invalid character (/ \\ ? #) or is longer than 255.`);
    }
    if (Buffer.byteLength(JSON.stringify(doc)) > MAX_DOC_BYTES) throw errors.tooLarge();
    if (pk !== undefined && partitionKeyString(pk) !== partitionKeyString(this.pkOf(doc))) {
      throw errors.badRequest(
        "PartitionKey extracted from document doesn't match the one specified in the header. " +
          "Learn more: https://aka.ms/CosmosDB/sql/errors/wrong-pk-value",
        1001,
      );
    }
    return doc;
  }

  private write(doc: Doc, prev: Entry | undefined, cond: Conditions, status: number): DocResult {
    if (prev) checkEtag(prev, cond);
    const pk = this.pkOf(doc);
    const lsn = ++this.account.lsn;
    const ts = nowSec();
    const rid = prev ? String(prev.doc._rid) : this.c.newDocRid();
    const stored: Doc = {
      ...doc,
      _rid: rid,
      _self: `${this.c.self}docs/${rid}/`,
      _etag: newEtag(),
      _attachments: "attachments/",
      _ts: ts,
    };
    const epk = effectivePartitionKey(pk, this.c.pkDef);
    this.c.docs.set(keyOf(pk, String(doc.id)), { doc: stored, lsn, epk, pk });
    this.c.log.push({
      lsn, crts: ts, op: prev ? "replace" : "create", id: String(doc.id), epk, pk, current: stored,
      ...(prev ? { previous: prev.doc, previousLsn: prev.lsn } : {}),
    });
    return { status, doc: stored, etag: String(stored._etag), lsn, epk };
  }
}

function checkEtag(e: Entry, cond: Conditions): void {
  if (cond.ifMatch !== undefined && cond.ifMatch !== "*" && cond.ifMatch !== e.doc._etag) {
    throw errors.preconditionFailed();
  }
}
