/**
 * Every name Tributary shows on NATS: KV buckets, JetStream streams, subjects, lease and
 * position keys. The default cluster ("tributary") uses exactly the names of the design
 * brief (CDC_<stream>, cdc.<stream>.…); any other cluster name prefixes JetStream stream
 * names and subjects too, so clusters sharing an account never collide (docs/adr/0002).
 */

const DEFAULT_CLUSTER = "tributary";

/** Escapes a name into one NATS subject token, reversibly ('~XX' hex for . * > ~ and whitespace/control). */
export function escapeToken(s: string): string {
  if (s === "") return "~";
  return s.replace(/[~.*>\s\u0000-\u001f\u007f]/gu, (c) =>
    [...Buffer.from(c, "utf8")].map((b) => "~" + b.toString(16).toUpperCase().padStart(2, "0")).join(""),
  );
}

/** Inverse of escapeToken. */
export function unescapeToken(t: string): string {
  if (t === "~") return "";
  const bytes: number[] = [];
  let out = "";
  const flush = () => {
    if (bytes.length) out += Buffer.from(bytes).toString("utf8");
    bytes.length = 0;
  };
  for (let i = 0; i < t.length; i++) {
    if (t[i] === "~" && /^[0-9A-F]{2}$/i.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += t[i];
    }
  }
  flush();
  return out;
}

/** All names of one cluster. */
export class Names {
  constructor(readonly cluster: string = DEFAULT_CLUSTER) {}
  private get isDefault(): boolean {
    return this.cluster === DEFAULT_CLUSTER;
  }
  private js(name: string): string {
    return this.isDefault ? name : `${this.cluster}_${name}`;
  }
  private subj(s: string): string {
    return this.isDefault ? s : `${this.cluster}.${s}`;
  }
  get streamsBucket(): string { return `${this.cluster}_streams`; }
  get nodesBucket(): string { return `${this.cluster}_nodes`; }
  get leasesBucket(): string { return `${this.cluster}_leases`; }
  get positionsBucket(): string { return `${this.cluster}_positions`; }

  /** JetStream stream holding a stream's change events. */
  cdcStream(stream: string): string { return this.js(`CDC_${stream}`); }
  /** JetStream stream holding one transformer's output (one writer per JetStream stream: docs/adr/0003). */
  xfStream(stream: string, transformer: string): string { return this.js(`XF_${stream}_${transformer}`); }
  get dlqStream(): string { return this.js("DLQ"); }

  cdcSubject(stream: string, schema: string, table: string): string {
    return this.subj(`cdc.${stream}.${escapeToken(schema)}.${escapeToken(table)}`);
  }
  cdcFilter(stream: string): string { return this.subj(`cdc.${stream}.>`); }
  xfSubject(stream: string, transformer: string, schema: string, table: string): string {
    return this.subj(`xf.${stream}.${transformer}.${escapeToken(schema)}.${escapeToken(table)}`);
  }
  xfFilter(stream: string, transformer: string): string { return this.subj(`xf.${stream}.${transformer}.>`); }
  dlqSubject(stream: string, actor: string): string { return this.subj(`dlq.${stream}.${actor}`); }
  get dlqFilter(): string { return this.subj("dlq.>"); }
  /** Probe subject where readers announce (epoch, node) intervals; used by tests and operators. */
  probeSubject(stream: string): string { return this.subj(`tributary.probe.${stream}`); }
}

export type ActorKind = "stream" | "transformer" | "sink";

/** Identity of one leased actor. */
export interface ActorRef {
  kind: ActorKind;
  stream: string;
  /** transformer or sink name; undefined for the stream (reader) actor */
  name?: string;
}

/** Lease key `<kind>.<stream>[.<name>]`, also the actor id shown by the admin API. */
export function actorId(a: ActorRef): string {
  return a.name === undefined ? `${a.kind}.${a.stream}` : `${a.kind}.${a.stream}.${a.name}`;
}

/**
 * Name prefix of the ordered consumer an actor reads its input with, readable in
 * `nats consumer ls`: `<kind>_<stream>_<name>_e<epoch>_<tag>` (`tag`: a few random
 * characters, so a retry under the same lease never meets its predecessor's consumer,
 * which the server removes after its inactivity threshold).
 */
export function consumerName(a: ActorRef, epoch: number, tag: string = Math.random().toString(36).slice(2, 6)): string {
  return `${a.kind}_${a.stream}${a.name === undefined ? "" : `_${a.name}`}_e${epoch}_${tag}`;
}

/** Position key: `<stream>` for the reader, `<stream>.<kind>.<name>` for the others. */
export function positionKey(a: ActorRef): string {
  return a.name === undefined ? a.stream : `${a.stream}.${a.kind}.${a.name}`;
}
