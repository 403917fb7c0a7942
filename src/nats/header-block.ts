/**
 * A NATS header block kept as the text it is sent as ("Key: value\r\n" lines), for the
 * publishers' own headers: one string per message instead of the client's map of arrays
 * plus its encoding pass (docs/performance.md). It implements the client's MsgHdrs; the
 * reading methods parse the text and are for tests and tools, not for the hot path.
 */
import { Match, type MsgHdrs } from "@nats-io/transport-node";

const CRLF = /[\r\n]+/g;

/** A header value with CR/LF (which would end the header block) turned into spaces. */
export function headerValue(v: string): string {
  return v.includes("\r") || v.includes("\n") ? v.replace(CRLF, " ") : v;
}

export class HeaderBlock implements MsgHdrs {
  /**
   * @param lines `Key: value\r\n` lines; values must already be free of CR/LF (headerValue).
   */
  constructor(private lines = "") {}

  /** The block as the client puts it on the wire (what MsgHdrsImpl.encode gives for the same headers). */
  encode(): Uint8Array {
    return Buffer.from(`NATS/1.0\r\n${this.lines}\r\n`);
  }

  get hasError(): boolean {
    return false;
  }
  get status(): string {
    return "";
  }
  get code(): number {
    return 0;
  }
  get description(): string {
    return "";
  }

  set(k: string, v: string, match: Match = Match.Exact): void {
    if (this.has(k, match)) this.delete(k, match);
    this.append(k, v);
  }

  append(k: string, v: string): void {
    this.lines += `${k}: ${headerValue(v).trim()}\r\n`;
  }

  get(k: string, match: Match = Match.Exact): string {
    return this.values(k, match)[0] ?? "";
  }

  last(k: string, match: Match = Match.Exact): string {
    return this.values(k, match).at(-1) ?? "";
  }

  has(k: string, match: Match = Match.Exact): boolean {
    return this.values(k, match).length > 0;
  }

  keys(): string[] {
    return [...new Set(this.entries().map(([k]) => k))];
  }

  values(k: string, match: Match = Match.Exact): string[] {
    return this.entries().filter(([key]) => same(key, k, match)).map(([, v]) => v);
  }

  delete(k: string, match: Match = Match.Exact): void {
    this.lines = this.entries()
      .filter(([key]) => !same(key, k, match))
      .map(([key, v]) => `${key}: ${v}\r\n`)
      .join("");
  }

  *[Symbol.iterator](): IterableIterator<[string, string[]]> {
    for (const k of this.keys()) yield [k, this.values(k)];
  }

  private entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const line of this.lines.split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) out.push([line.slice(0, i), line.slice(i + 1).trim()]);
    }
    return out;
  }
}

function same(a: string, b: string, match: Match): boolean {
  return match === Match.Exact ? a === b : a.toLowerCase() === b.toLowerCase();
}
