/**
 * Who owns a replication slot or a publication (docs/adr/0010): `tributary.resource_owners`
 * in the source database holds one row per resource with the (cluster, stream) that claimed
 * it. A reader claims its slot and publication before it touches either and refuses one
 * that another stream owns, instead of terminating that stream's walsender or rewriting its
 * publication's table list (which lost changes silently). A resource without a row (a
 * legacy slot, a publication a DBA created) is claimed by the first stream that uses it.
 */
import type pg from "pg";
import { TributaryError } from "../../base/index.js";

/** Serializes the first creation of the table by several readers (CREATE … IF NOT EXISTS can race). */
const CREATE_LOCK = 7_310_575_213_948_134_002n;

/** A server-side resource of a stream. */
export interface OwnedResource {
  kind: "slot" | "publication";
  name: string;
}

/** The (cluster, stream) a resource belongs to. */
export interface ResourceOwner {
  cluster: string;
  stream: string;
}

/** Creates schema `tributary` and table `resource_owners` unless the table exists. */
async function ensureOwnersTable(c: pg.ClientBase): Promise<void> {
  const exists = await c.query<{ t: string | null }>("SELECT to_regclass('tributary.resource_owners')::text AS t");
  if (exists.rows[0]?.t) return;
  await c.query("BEGIN");
  try {
    await c.query("SELECT pg_advisory_xact_lock($1)", [CREATE_LOCK.toString()]);
    await c.query("CREATE SCHEMA IF NOT EXISTS tributary");
    await c.query(
      `CREATE TABLE IF NOT EXISTS tributary.resource_owners (
         kind text NOT NULL,
         name text NOT NULL,
         cluster text NOT NULL,
         stream text NOT NULL,
         claimed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (kind, name))`,
    );
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    const e = err as { code?: string; message?: string };
    if (e.code === "42501") {
      throw new TributaryError(
        "SOURCE_INVALID",
        `cannot create tributary.resource_owners, where a stream marks the slot and publication it owns (${e.message}): GRANT CREATE ON DATABASE to the source's user, or create the schema and table once as described in docs/operations.md`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Claims `resources` for (cluster, stream): a resource nobody owns becomes ours, one we own
 * stays ours. @throws TributaryError SOURCE_INVALID (not retryable) naming the owner when
 * another stream owns one: nothing is claimed then.
 */
export async function claimResources(c: pg.ClientBase, owner: ResourceOwner, resources: readonly OwnedResource[]): Promise<void> {
  await ensureOwnersTable(c);
  await c.query("BEGIN");
  try {
    for (const r of resources) {
      await c.query(`INSERT INTO tributary.resource_owners (kind, name, cluster, stream) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, name) DO NOTHING`, [r.kind, r.name, owner.cluster, owner.stream]);
      const row = (await c.query<ResourceOwner>(`SELECT cluster, stream FROM tributary.resource_owners WHERE kind = $1 AND name = $2`, [r.kind, r.name])).rows[0];
      if (row && (row.cluster !== owner.cluster || row.stream !== owner.stream)) {
        const what = r.kind === "slot" ? "replication slot" : "publication";
        throw new TributaryError(
          "SOURCE_INVALID",
          `stream ${owner.stream} (cluster ${owner.cluster}): ${what} ${r.name} belongs to stream ${row.stream} of cluster ${row.cluster}; two streams on one ${r.kind} lose changes. Give this stream its own (omit source.${r.kind} for a name derived from the stream), or, if ${row.stream} no longer uses it, release it: DELETE FROM tributary.resource_owners WHERE kind = '${r.kind}' AND name = '${r.name}'`,
        );
      }
    }
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** Every resource `owner` has claimed. */
export async function ownedBy(c: pg.ClientBase, owner: ResourceOwner): Promise<OwnedResource[]> {
  const exists = await c.query<{ t: string | null }>("SELECT to_regclass('tributary.resource_owners')::text AS t");
  if (!exists.rows[0]?.t) return [];
  const r = await c.query<OwnedResource>("SELECT kind, name FROM tributary.resource_owners WHERE cluster = $1 AND stream = $2 ORDER BY kind, name", [owner.cluster, owner.stream]);
  return r.rows;
}

/** Forgets `owner`'s marks on dropped resources (an absent table or row is fine; another owner's mark stays). */
export async function releaseResources(c: pg.ClientBase, owner: ResourceOwner, resources: readonly OwnedResource[]): Promise<void> {
  const exists = await c.query<{ t: string | null }>("SELECT to_regclass('tributary.resource_owners')::text AS t");
  if (!exists.rows[0]?.t) return;
  for (const r of resources) {
    await c.query(`DELETE FROM tributary.resource_owners WHERE kind = $1 AND name = $2 AND cluster = $3 AND stream = $4`, [r.kind, r.name, owner.cluster, owner.stream]);
  }
}
