/**
 * MongoDB wire-protocol framing for the fake server: splits the TCP byte stream into messages,
 * decodes OP_QUERY (only used for the first handshake) and OP_MSG (kind-0 body plus kind-1
 * document sequences merged into the body), and encodes OP_REPLY / OP_MSG replies.
 * No compression: the fake never advertises it, so the driver never sends OP_COMPRESSED.
 */
import { BSON } from "mongodb";
import { decodeExact, type Doc } from "./bson-values.js";

/** Opcodes the fake understands. */
export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

/** OP_MSG flag bits. */
export const FLAG_CHECKSUM_PRESENT = 1 << 0;
export const FLAG_MORE_TO_COME = 1 << 1;
export const FLAG_EXHAUST_ALLOWED = 1 << 16;

/** One decoded request. */
export interface WireRequest {
  requestId: number;
  opCode: number;
  /** OP_MSG flag bits (0 for OP_QUERY). */
  flags: number;
  /** The command document with kind-1 sequences merged in and `$db` set. */
  body: Doc;
  /** Database the command runs against (`$db`, or the OP_QUERY namespace prefix). */
  db: string;
}

/** Raised for bytes that are not a message the fake understands; the connection is then closed. */
export class WireError extends Error {}

/** Accumulates socket chunks and yields complete messages (header included). */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds a chunk and returns every message it completed. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      if ((this.chunks[0] as Buffer).length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const size = (this.chunks[0] as Buffer).readInt32LE(0);
      if (size < 16 || size > 64 * 1024 * 1024) throw new WireError(`bad message length ${size}`);
      // Concatenate only once the whole message is here: large inserts arrive in many chunks.
      if (this.buffered < size) break;
      const head = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      frames.push(head.subarray(0, size));
      const rest = head.subarray(size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new WireError("unterminated cstring");
  return [buf.toString("utf8", offset, end), end + 1];
}

function decodeQuery(frame: Buffer, requestId: number): WireRequest {
  let off = 20; // header + flags
  const [fullName, next] = readCString(frame, off);
  off = next + 8; // skip numberToSkip + numberToReturn
  const size = frame.readInt32LE(off);
  let body = decodeExact(frame.subarray(off, off + size));
  // Very old drivers wrap the command in $query; modern ones never do, but it costs nothing.
  if (typeof body.$query === "object" && body.$query !== null) body = body.$query as Doc;
  const db = fullName.endsWith(".$cmd") ? fullName.slice(0, -5) : fullName;
  body.$db = db;
  return { requestId, opCode: OP_QUERY, flags: 0, body, db };
}

function decodeMsg(frame: Buffer, requestId: number): WireRequest {
  const flags = frame.readUInt32LE(16);
  const end = flags & FLAG_CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let off = 20;
  let body: Doc | undefined;
  const sequences: Array<[string, Doc[]]> = [];
  while (off < end) {
    const kind = frame.readUInt8(off);
    off += 1;
    const size = frame.readInt32LE(off);
    if (kind === 0) {
      body = decodeExact(frame.subarray(off, off + size));
      off += size;
    } else if (kind === 1) {
      const sectionEnd = off + size;
      const [identifier, docStart] = readCString(frame, off + 4);
      const docs: Doc[] = [];
      for (let p = docStart; p < sectionEnd; ) {
        const docSize = frame.readInt32LE(p);
        docs.push(decodeExact(frame.subarray(p, p + docSize)));
        p += docSize;
      }
      sequences.push([identifier, docs]);
      off = sectionEnd;
    } else {
      throw new WireError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new WireError("OP_MSG without a kind-0 body");
  for (const [identifier, docs] of sequences) body[identifier] = docs;
  const db = typeof body.$db === "string" ? body.$db : "admin";
  return { requestId, opCode: OP_MSG, flags, body, db };
}

/** Decodes one complete message; throws {@link WireError} for opcodes the fake does not speak. */
export function decodeRequest(frame: Buffer): WireRequest {
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_QUERY) return decodeQuery(frame, requestId);
  if (opCode === OP_MSG) return decodeMsg(frame, requestId);
  throw new WireError(`unsupported opcode ${opCode}`);
}

let nextResponseId = 1;

function header(total: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(total, 0);
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** Encodes the reply to `req`: OP_REPLY for an OP_QUERY handshake, OP_MSG otherwise. */
export function encodeReply(req: WireRequest, doc: Doc, flags = 0): Buffer {
  const bson = BSON.serialize(doc);
  if (req.opCode === OP_QUERY) {
    const meta = Buffer.alloc(20); // responseFlags, cursorID (int64), startingFrom, numberReturned
    meta.writeInt32LE(1, 16);
    return Buffer.concat([header(36 + bson.length, req.requestId, OP_REPLY), meta, bson]);
  }
  const meta = Buffer.alloc(5); // flagBits + section kind 0
  meta.writeUInt32LE(flags, 0);
  return Buffer.concat([header(21 + bson.length, req.requestId, OP_MSG), meta, bson]);
}
