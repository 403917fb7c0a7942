/** Plain-text tables for the CLI. */
export function printTable(rows: Array<Record<string, unknown>>, cols: string[], out: NodeJS.WritableStream = process.stdout): void {
  const cell = (v: unknown) => (v === undefined || v === null ? "" : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd() + "\n";
  out.write(line(cols.map((c) => c.toUpperCase())));
  for (const r of rows) out.write(line(cols.map((c) => cell(r[c]))));
  if (rows.length === 0) out.write("(none)\n");
}
