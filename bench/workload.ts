/**
 * The benchmark's data: one table of ~300-byte rows (id, account, amount, status, a
 * 192-character note, a timestamp), generated inside PostgreSQL (generate_series) so the
 * inserter costs almost no client CPU. Two drivers: `saturate` writes a fixed number of
 * changes as fast as the database takes them (1000-row transactions, inserts with a share
 * of updates); `offer` holds a fixed rate of inserts in small transactions every 10 ms.
 */
import type pg from "pg";

export const SOURCE_TABLE = "public.bench_rows";

/** Source table. The target adds the transformer's stamp and the visibility time. */
export const SOURCE_DDL = `CREATE TABLE bench_rows (
  id bigint PRIMARY KEY, account text NOT NULL, amount numeric(12,2) NOT NULL,
  status text NOT NULL, note text NOT NULL, updated_at timestamptz NOT NULL)`;

/**
 * Target table: `visible_at` is stamped by the target when the sink writes the row;
 * `src_commit_ms` is filled only by the `stamp` transformer (the event's source.ts_ms).
 */
export const TARGET_DDL = `CREATE TABLE bench_rows (
  id bigint PRIMARY KEY, account text, amount numeric(12,2), status text, note text,
  updated_at timestamptz, src_commit_ms bigint, visible_at timestamptz DEFAULT clock_timestamp())`;

/** JSONata transformers the benchmark can run (`--transformer`). */
export const TRANSFORMERS: Record<string, string> = {
  /** passes every event through unchanged */
  identity: "$",
  /** a routing filter: keeps this table's inserts and updates (all of the benchmark's events) */
  filter: '$not(op = "d") and source.table = "bench_rows" ? $ : undefined',
  /** masks a column: rebuilds the event */
  mask: '$merge([$, {"after": $merge([after, {"note": "***"}])}])',
  /** copies the source commit time into the row: rebuilds the event */
  stamp: '$merge([$, {"after": $merge([after, {"src_commit_ms": source.ts_ms}])}])',
};

const INSERT = `INSERT INTO bench_rows (id, account, amount, status, note, updated_at)
  SELECT g, 'account-' || lpad(g::text, 10, '0'), (g % 1000000) / 100.0, 'created', repeat(md5(g::text), 6), clock_timestamp()
  FROM generate_series($1::bigint, $2::bigint) g`;
const UPDATE = `UPDATE bench_rows SET amount = amount + 1, status = 'updated', updated_at = clock_timestamp() WHERE id BETWEEN $1 AND $2`;

/** The same row as TEXT values, the way pgoutput sends it (for building identical payloads). */
export function rowText(id: number): Record<string, string> {
  return {
    id: String(id),
    account: `account-${String(id).padStart(10, "0")}`,
    amount: ((id % 1_000_000) / 100).toFixed(2),
    status: "created",
    note: "0123456789abcdef0123456789abcdef".repeat(6),
    updated_at: "2026-01-01 12:00:00.123456+00",
  };
}

/** The plan of a saturation run: transactions of `txRows`, every k-th one an update of rows already inserted. */
export interface SaturationPlan {
  events: number;
  inserts: number;
  updates: number;
}

/**
 * Writes `events` changes as fast as PostgreSQL takes them: 1000-row INSERT transactions
 * with UPDATE transactions of 1000 earlier rows mixed in (share `updateShare`).
 */
export async function saturate(c: pg.Client, events: number, updateShare: number, txRows = 1000): Promise<SaturationPlan> {
  const updates = Math.floor((events * updateShare) / txRows) * txRows;
  const inserts = events - updates;
  let nextId = 1;
  let updated = 0;
  let inserted = 0;
  while (inserted < inserts || updated < updates) {
    // keep updates proportional to inserts, and only of rows that exist
    const wantUpdate = updated < updates && inserted >= txRows && updated / updates <= inserted / inserts;
    if (wantUpdate) {
      const from = (updated % (inserted - txRows + 1)) + 1;
      const n = Math.min(txRows, updates - updated);
      await c.query(UPDATE, [from, from + n - 1]);
      updated += n;
    } else {
      const n = Math.min(txRows, inserts - inserted);
      await c.query(INSERT, [nextId, nextId + n - 1]);
      nextId += n;
      inserted += n;
    }
  }
  return { events: inserted + updated, inserts: inserted, updates: updated };
}

/**
 * Offers `rate` inserts per second for `seconds`, one transaction every `tickMs` holding
 * the rows due by then. Returns the number of rows inserted and the ticks that fell
 * behind (the database or the machine could not keep the pace).
 */
export async function offer(c: pg.Client, rate: number, seconds: number, firstId: number, tickMs = 10): Promise<{ rows: number; lateTicks: number }> {
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  let rows = 0;
  let lateTicks = 0;
  let tick = 0;
  while (rows < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    if (due > rows) {
      await c.query(INSERT, [firstId + rows, firstId + due - 1]);
      rows = due;
    }
    tick++;
    const wait = t0 + tick * tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else lateTicks++;
  }
  return { rows, lateTicks };
}
