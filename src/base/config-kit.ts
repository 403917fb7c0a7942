/**
 * zod building blocks every config schema uses (the top level's, the kernel's and each
 * connector's): names that become NATS subject tokens and KV keys, and human durations
 * ("500ms", "15s", "2m", "7d", or a number of milliseconds) parsed to milliseconds.
 */
import { z } from "zod";
import { checkableText } from "./secrets.js";

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

/** Why `url` (with a known scheme) is not a URL, in words: the port, or the whole. */
function urlProblem(url: string): string {
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(url)?.[1] ?? "";
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
  if (port !== undefined && !/^\d{0,5}$/.test(port)) return `its port "${port}" is not a number`;
  if (port !== undefined && Number(port) > 65535) return `its port ${port} is above 65535`;
  return "it is not a valid URL (percent-encode special characters in the user name and password)";
}

/**
 * zod type for a connection URL checked when the config is read, not when the actor first
 * connects: the scheme, the URL syntax (a port that is not a number, a stray character) and
 * (`database`) a database name in the path. No host is fine: `postgres:///db?host=/run/pg`. Messages never show the password.
 * @param o.schemes accepted schemes, lower-case without `://`
 * @param o.message what the field must be (the message when the scheme is wrong)
 * @param o.database when set, the message for a URL without a database in its path
 */
export const connectionUrl = (o: { schemes: readonly string[]; message: string; database?: string }) =>
  z.string().superRefine((text, ctx) => {
    // references: a whole one is checked on the node once resolved; around a partial one, the text is checked
    const v = checkableText(text);
    if (v === null) return;
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v)?.[1]?.toLowerCase();
    if (!scheme || !o.schemes.includes(scheme)) return void ctx.addIssue({ code: z.ZodIssueCode.custom, message: o.message });
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return void ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${urlProblem(v)}` });
    }
    if (o.database && !/^\/[^/]+/.test(u.pathname)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: o.database });
  });
