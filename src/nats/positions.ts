/**
 * Positions in the positions KV bucket, written only by compare-and-set with the writer's
 * lease epoch (brief steps 2 and 4): `fence` claims the key for a new epoch so a stale
 * owner's next checkpoint fails; `checkpoint` advances it and fails with FENCED when
 * anyone else wrote in between.
 */
import type { KV } from "@nats-io/kv";
import { TributaryError, backoff, sleep } from "../base/index.js";
import { getJson, toJson } from "./control-plane.js";
import { errorText, isWrongLastSequence } from "./nats-errors.js";

/** What a position key holds (readable with `nats kv get`). */
export interface PositionValue<P = unknown> {
  position: P | null;
  epoch: number;
  node: string;
  updated: string;
}

/** A fenced position key: the revision our next CAS must name. */
export interface FencedPosition<P> {
  key: string;
  epoch: number;
  revision: number;
  position: P | null;
}

/** Fenced reads and compare-and-set writes of positions for one node. */
export class PositionStore {
  constructor(private readonly kv: KV, readonly node: string) {}

  /** Reads without claiming (admin/status only — never decides ownership). */
  async read<P>(key: string): Promise<PositionValue<P> | undefined> {
    return (await getJson<PositionValue<P>>(this.kv, key))?.value;
  }

  /** Claims the key for `epoch`, keeping its position. FENCED if a higher epoch already wrote it. */
  async fence<P>(key: string, epoch: number): Promise<FencedPosition<P>> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await getJson<PositionValue<P>>(this.kv, key).catch((err: unknown) => {
        throw new TributaryError("NATS_UNAVAILABLE", `cannot read position ${key}: ${errorText(err)}`, { cause: err });
      });
      if (cur && cur.value.epoch > epoch) {
        throw new TributaryError("FENCED", `position ${key} already written by epoch ${cur.value.epoch} (node ${cur.value.node}); ours is ${epoch}`);
      }
      const value: PositionValue<P> = { position: cur?.value.position ?? null, epoch, node: this.node, updated: new Date().toISOString() };
      try {
        const revision = cur ? await this.kv.update(key, toJson(value), cur.revision) : await this.kv.create(key, toJson(value));
        return { key, epoch, revision, position: value.position };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw new TributaryError("NATS_UNAVAILABLE", `cannot fence position ${key}: ${errorText(err)}`, { cause: err });
        // someone wrote in between (a stale owner's last checkpoint): read again, a little later
        await sleep(backoff(attempt + 1, 20, 500));
      }
    }
    throw new TributaryError("FENCED", `could not fence position ${key} for epoch ${epoch}: it keeps changing under us`);
  }

  /** CAS-writes a new position. FENCED when the key moved (ownership lost). */
  async checkpoint<P>(f: FencedPosition<P>, position: P): Promise<FencedPosition<P>> {
    const value: PositionValue<P> = { position, epoch: f.epoch, node: this.node, updated: new Date().toISOString() };
    try {
      const revision = await this.kv.update(f.key, toJson(value), f.revision);
      return { ...f, revision, position };
    } catch (err) {
      if (isWrongLastSequence(err)) {
        throw new TributaryError("FENCED", `checkpoint of ${f.key} refused for epoch ${f.epoch}: another owner wrote it (${errorText(err)})`, { cause: err });
      }
      throw new TributaryError("NATS_UNAVAILABLE", `checkpoint of ${f.key} failed: ${errorText(err)}`, { cause: err });
    }
  }
}
