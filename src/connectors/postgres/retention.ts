/**
 * What a PostgreSQL stream leaves on its source when it is paused or deleted (docs/adr/0012):
 * its replication slot, which keeps every WAL segment from its restart LSN on, and its
 * publication. Measured for the retained-WAL metric and dropped only when asked.
 */
import pg from "pg";
import type { RetainedResource, RetentionContext, SourceRetention } from "../../core/index.js";
import { qi } from "./catalog.js";
import type { PostgresSourceSpec } from "./schema.js";
import { readerNames } from "./names.js";
import { releaseResources } from "./ownership.js";
import { sourceError } from "./source.js";

/** The slot and publication names of a stream: the checkpoint's slot first (it is what the reader used). */
function names(spec: PostgresSourceSpec, ctx: RetentionContext): { slot: string; publication: string } {
  const fromPosition = (ctx.position as { slot?: unknown } | null)?.slot;
  const used = readerNames(spec, ctx.cluster, ctx.stream, typeof fromPosition === "string" ? fromPosition : null);
  return { slot: typeof fromPosition === "string" ? fromPosition : used.slot, publication: used.publication };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: "tributary-retention", connectionTimeoutMillis: 10_000 });
  try {
    await c.connect();
    return await fn(c);
  } catch (err) {
    throw sourceError(err, url);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The PostgreSQL source's retained resources. */
export const postgresRetention: SourceRetention<PostgresSourceSpec> = {
  describe: (spec, ctx) => names(spec, ctx),

  retained: (spec, ctx) =>
    withClient(spec.url, async (c): Promise<RetainedResource[]> => {
      const { slot } = names(spec, ctx);
      const r = await c.query<{ active: boolean; bytes: string | null; behind: string | null }>(
        `SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS bytes,
                pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS behind
         FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      const row = r.rows[0];
      return row ? [{ resource: `slot ${slot}`, bytes: Math.max(0, Number(row.bytes ?? 0)), active: row.active, behindBytes: Math.max(0, Number(row.behind ?? 0)) }] : [];
    }),

  drop: (spec, ctx) =>
    withClient(spec.url, async (c) => {
      const { slot, publication } = names(spec, ctx);
      const dropped: string[] = [];
      const s = await c.query<{ active_pid: number | null }>(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      if (s.rowCount) {
        // a reader that still holds it would keep it: the caller waited for the stream's leases to go
        if (s.rows[0]!.active_pid !== null) await c.query(`SELECT pg_terminate_backend($1)`, [s.rows[0]!.active_pid]);
        for (let i = 0; i < 50; i++) {
          const a = await c.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
          if (!a.rows[0]?.active) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        await c.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
        dropped.push(`slot ${slot}`);
      }
      const p = await c.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
      if (p.rowCount) {
        await c.query(`DROP PUBLICATION ${qi(publication)}`);
        dropped.push(`publication ${publication}`);
      }
      await releaseResources(c, { cluster: ctx.cluster, stream: ctx.stream }, [
        { kind: "slot", name: slot },
        { kind: "publication", name: publication },
      ]);
      return dropped;
    }),
};
