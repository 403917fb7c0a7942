/**
 * Effective partition key (EPK) of a partition key value, computed exactly as
 * @azure/cosmos 4.9.3 computes it (utils/hashing: V1 = MurmurHash3 x86-32 plus a binary
 * encoding of the value, V2 = MurmurHash3 x64-128 reversed and masked, MultiHash = V2 per
 * component). The fake places documents in partition key ranges by this value, so that the
 * SDK's own routing (bulk batches are sent per range by the same hash) agrees with the fake.
 */

/** One component of a partition key as the SDK sends it (`{}` = the "None" key). */
export type PkComponent = string | number | boolean | null | Record<string, never>;

/** The partition key definition of a container (the part the hash depends on). */
export interface PkDefinition {
  paths: string[];
  kind?: string;
  version?: number;
}

const MASK64 = (1n << 64n) - 1n;
const PREFIX = { undef: 0x00, null: 0x01, false: 0x02, true: 0x03, number: 0x05, string: 0x08, inf: 0xff };

/** Returns the EPK (uppercase hex) of `key` under `def`, like the SDK's `hashPartitionKey`. */
export function effectivePartitionKey(key: PkComponent[], def: PkDefinition): string {
  if (def.kind === "MultiHash") return key.map((k) => hashV2([k])).join("");
  return def.version === 2 ? hashV2(key) : hashV1(key[0] === undefined ? {} : key[0]);
}

function utf8(s: string): number[] {
  return [...Buffer.from(s, "utf8")];
}

function doubleLe(value: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return [...b];
}

function hashV2(key: PkComponent[]): string {
  const bytes: number[] = [];
  for (const k of key) {
    if (typeof k === "string") bytes.push(PREFIX.string, ...utf8(k), PREFIX.inf);
    else if (typeof k === "number") bytes.push(PREFIX.number, ...doubleLe(k));
    else if (typeof k === "boolean") bytes.push(k ? PREFIX.true : PREFIX.false);
    else bytes.push(k === null ? PREFIX.null : PREFIX.undef);
  }
  const [h1, h2] = murmurX64(bytes);
  // The SDK prints h1 then h2 little-endian and reverses the 16 bytes: h2 big-endian, then h1.
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(h2, 0);
  out.writeBigUInt64BE(h1, 8);
  out[0] = (out[0] ?? 0) & 0x3f;
  return out.toString("hex").toUpperCase();
}

function hashV1(key: PkComponent): string {
  let toHash: number[];
  let encoded: number[];
  if (typeof key === "string") {
    const s = key.substring(0, 100);
    toHash = [PREFIX.string, ...utf8(s), PREFIX.undef];
    encoded = [PREFIX.string, ...utf8(s).map((b) => (b < 0xff ? b + 1 : b)), PREFIX.undef];
  } else if (typeof key === "number") {
    toHash = [PREFIX.number, ...doubleLe(key)];
    encoded = encodeNumber(key);
  } else if (typeof key === "boolean") {
    toHash = encoded = [key ? PREFIX.true : PREFIX.false];
  } else {
    toHash = encoded = [key === null ? PREFIX.null : PREFIX.undef];
  }
  const hash = encodeNumber(murmurX86(toHash));
  return Buffer.from([...hash, ...encoded]).toString("hex").toUpperCase();
}

/** The SDK's `writeNumberForBinaryEncodingBigInt`: an order-preserving varint of a double. */
function encodeNumber(value: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  const raw = b.readBigUInt64BE();
  const sign = 0x8000000000000000n;
  let payload = raw < sign ? raw ^ sign : -raw & MASK64;
  const out = [PREFIX.number, Number((payload >> 56n) & 0xffn)];
  payload = (payload << 8n) & MASK64;
  let byte = 0;
  let first = true;
  do {
    if (!first && byte !== 0) out.push(byte);
    first = false;
    byte = Number((payload >> 56n) & 0xffn) | 0x01;
    payload = (payload << 7n) & MASK64;
  } while (payload !== 0n);
  if ((byte & 0xfe) !== 0) out.push(byte & 0xfe);
  return out;
}

function murmurX86(bytes: number[]): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const tail = bytes.length % 4;
  const blocks = bytes.length - tail;
  const at = (i: number): number => bytes[i] ?? 0;
  const mixK = (k: number): number => Math.imul(rotl32(Math.imul(k, c1), 15), c2);
  for (let i = 0; i < blocks; i += 4) {
    h ^= mixK(at(i) | (at(i + 1) << 8) | (at(i + 2) << 16) | (at(i + 3) << 24));
    h = (Math.imul(rotl32(h, 13), 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  if (tail >= 3) k ^= at(blocks + 2) << 16;
  if (tail >= 2) k ^= at(blocks + 1) << 8;
  if (tail >= 1) h ^= mixK(k ^ at(blocks));
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function mul64(a: bigint, b: bigint): bigint {
  return (a * b) & MASK64;
}

function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = mul64(k, 0xff51afd7ed558ccdn);
  k ^= k >> 33n;
  k = mul64(k, 0xc4ceb9fe1a85ec53n);
  return k ^ (k >> 33n);
}

function murmurX64(bytes: number[]): [bigint, bigint] {
  const c1 = 0x87c37b91114253d5n;
  const c2 = 0x4cf5ad432745937fn;
  const le64 = (start: number, count: number): bigint => {
    let v = 0n;
    for (let i = count - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[start + i] ?? 0);
    return v;
  };
  const mixK1 = (k: bigint): bigint => mul64(rotl64(mul64(k, c1), 31n), c2);
  const mixK2 = (k: bigint): bigint => mul64(rotl64(mul64(k, c2), 33n), c1);
  let h1 = 0n;
  let h2 = 0n;
  const tail = bytes.length % 16;
  const blocks = bytes.length - tail;
  for (let i = 0; i < blocks; i += 16) {
    h1 ^= mixK1(le64(i, 8));
    h1 = (mul64((rotl64(h1, 27n) + h2) & MASK64, 5n) + 0x52dce729n) & MASK64;
    h2 ^= mixK2(le64(i + 8, 8));
    h2 = (mul64((rotl64(h2, 31n) + h1) & MASK64, 5n) + 0x38495ab5n) & MASK64;
  }
  if (tail > 8) h2 ^= mixK2(le64(blocks + 8, tail - 8));
  if (tail > 0) h1 ^= mixK1(le64(blocks, Math.min(tail, 8)));
  const len = BigInt(bytes.length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  return [h1, h2];
}
