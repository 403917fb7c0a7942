/**
 * Ownership leases in the leases KV bucket (brief: "Ownership protocol").
 * acquire = create (only if absent; its revision is the epoch / fencing token),
 * renew = CAS update on the last revision, release = CAS delete. A renew refused by the
 * compare-and-set (someone else wrote the key, or it aged out) is LEASE_LOST: the caller
 * must stop at once. Any other renew failure (timeout, reconnect) is NATS_UNAVAILABLE and
 * retryable: the lease may still be ours, and the caller keeps its own deadline (ADR 0004,
 * 0014). A refused CAS after such a failure is checked first: if our own timed-out renew
 * landed, the lease is still ours. Release does the same check, so a renew in flight when
 * an actor stopped does not leave its lease to age out.
 */
import type { KV } from "@nats-io/kv";
import { TributaryError } from "../base/index.js";
import { getJson, toJson } from "./control-plane.js";
import { errorText, isWrongLastSequence } from "./nats-errors.js";

/** What a lease key holds (readable with `nats kv get`). */
export interface LeaseValue {
  node: string;
  epoch: number | null;
  acquired: string;
  renewed?: string;
}

/** A held lease. */
export interface Lease {
  key: string;
  epoch: number;
  /** last revision written by us; the next CAS must name it */
  revision: number;
  /** performance.now() taken before the request that last confirmed the lease */
  confirmedAt: number;
  /** wall-clock time of acquisition (shown in the KV value) */
  acquired: string;
}

/** A renew that failed without a verdict on the lease (timeout, disconnect): retryable. */
function unavailable(lease: Lease, err: unknown): TributaryError {
  return new TributaryError("NATS_UNAVAILABLE", `lease ${lease.key} (epoch ${lease.epoch}) not renewed: ${errorText(err)}; retrying until its deadline`, { cause: err });
}

/** Lease operations on one bucket for one node. */
export class LeaseStore {
  constructor(
    private readonly kv: KV,
    readonly node: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Creates the lease if absent. LEASE_HELD (retryable) when someone holds it. */
  async acquire(key: string): Promise<Lease> {
    const t0 = this.now();
    const acquired = new Date().toISOString();
    let epoch: number;
    try {
      epoch = await this.kv.create(key, toJson({ node: this.node, epoch: null, acquired } satisfies LeaseValue));
    } catch (err) {
      if (!isWrongLastSequence(err)) throw new TributaryError("NATS_UNAVAILABLE", `cannot acquire lease ${key}: ${errorText(err)}`, { cause: err });
      const holder = await getJson<LeaseValue>(this.kv, key).catch(() => undefined);
      throw new TributaryError("LEASE_HELD", `lease ${key} is held by ${holder?.value.node ?? "another node"} (epoch ${holder?.value.epoch ?? "?"})`, { cause: err });
    }
    // Record the epoch in the value so `nats kv get` shows it; this is the first renew.
    return this.renew({ key, epoch, revision: epoch, confirmedAt: t0, acquired });
  }

  /**
   * CAS-renews. Throws LEASE_LOST when the compare-and-set is refused (the revision moved or
   * the key is gone); NATS_UNAVAILABLE (retryable) when the request failed otherwise.
   */
  async renew(lease: Lease): Promise<Lease> {
    const t0 = this.now();
    const value: LeaseValue = { node: this.node, epoch: lease.epoch, acquired: lease.acquired, renewed: new Date().toISOString() };
    try {
      const revision = await this.kv.update(lease.key, toJson(value), lease.revision);
      return { ...lease, revision, confirmedAt: t0 };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw unavailable(lease, err);
      // A renew that timed out may still have been applied (NATS answered after we gave up):
      // the key then holds our node and epoch at a later revision. It is still our lease;
      // continue the chain from that revision (one more CAS, which confirms it anew).
      let cur: { value: LeaseValue; revision: number } | undefined;
      try {
        cur = await getJson<LeaseValue>(this.kv, lease.key);
      } catch (e) {
        throw unavailable(lease, e);
      }
      if (cur && cur.value.node === this.node && cur.value.epoch === lease.epoch && cur.revision > lease.revision) {
        return this.renew({ ...lease, revision: cur.revision });
      }
      throw new TributaryError("LEASE_LOST", `lease ${lease.key} (epoch ${lease.epoch}) lost: ${cur ? `${cur.value.node} (epoch ${cur.value.epoch}) wrote it` : "the key is gone"} (${errorText(err)})`, { cause: err });
    }
  }

  /** CAS-deletes the lease (watchers see the delete at once). Errors are reported, not thrown: the lease is gone or will age out. */
  async release(lease: Lease): Promise<boolean> {
    try {
      await this.kv.delete(lease.key, { previousSeq: lease.revision });
      return true;
    } catch (err) {
      if (!isWrongLastSequence(err)) return false;
      // A renew in flight when the actor stopped can land after the revision we name here:
      // the key then holds our node and epoch at a later revision. Still ours: delete at
      // that revision, or a graceful stop would leave the lease to age out.
      try {
        const cur = await getJson<LeaseValue>(this.kv, lease.key);
        if (!cur || cur.value.node !== this.node || cur.value.epoch !== lease.epoch || cur.revision <= lease.revision) return false;
        await this.kv.delete(lease.key, { previousSeq: cur.revision });
        return true;
      } catch {
        return false;
      }
    }
  }
}
