/**
 * zod building blocks every config schema uses (the top level's, the kernel's and each
 * connector's): names that become NATS subject tokens and KV keys, and human durations
 * ("500ms", "15s", "2m", "7d", or a number of milliseconds) parsed to milliseconds.
 */
import { z } from "zod";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "1.5s" / "200ms" / 250 into milliseconds; returns undefined when malformed. */
function parseDuration(v: string | number): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNITS[m[2]!] ?? 1));
}

/** zod type for a duration field with default `def`; the parsed value is milliseconds. */
export const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `invalid duration ${JSON.stringify(v)} (use e.g. "500ms", "15s", "2m", "7d")` });
        return z.NEVER;
      }
      return ms;
    });

/** zod type for a stream, transformer, sink, node or cluster name (`what` names it in the error). */
export const tokenName = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, `${what} must be 1-64 characters of letters, digits, '_' or '-' (it becomes a NATS subject token and KV key)`);
