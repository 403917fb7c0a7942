/**
 * Shared pieces of the fakes' own tests: a key-auth client on a fresh fake account with one
 * container, and draining a change feed iterator until it answers 304.
 */
import { type ChangeFeedPullModelIterator, type Container, CosmosClient, type CosmosClientOptions, ErrorResponse } from "@azure/cosmos";
import { FakeCosmos, type FakeCosmosOptions } from "./server.js";

/** A fake account, a key-auth client and one container `db/c` on it. */
export interface Rig {
  fake: FakeCosmos;
  client: CosmosClient;
  container: Container;
  stop: () => Promise<void>;
}

/** Starts a plain-HTTP fake account with container `db/c` partitioned by `paths`. */
export async function rig(
  paths: string[] = ["/pk"],
  opts: { fake?: FakeCosmosOptions; client?: Partial<CosmosClientOptions>; version?: number } = {},
): Promise<Rig> {
  const fake = await FakeCosmos.start(opts.fake ?? {});
  const client = new CosmosClient({ endpoint: fake.endpoint, key: fake.masterKey, ...opts.client });
  const { database } = await client.databases.createIfNotExists({ id: "db" });
  const { container } = await database.containers.createIfNotExists({
    id: "c",
    partitionKey: { paths, ...(opts.version !== undefined ? { version: opts.version } : {}) },
  });
  return {
    fake, client, container,
    stop: async () => {
      client.dispose();
      await fake.stop();
    },
  };
}

/** One page of a change feed read. */
export interface Page<T> {
  statusCode: number;
  items: T[];
  continuationToken: string;
}

/** Reads pages until the iterator answers 304 (at most `maxPages`), returning every page. */
export async function drain<T>(it: ChangeFeedPullModelIterator<T>, maxPages = 100): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  for (let i = 0; i < maxPages; i++) {
    const r = await it.readNext();
    pages.push({ statusCode: r.statusCode, items: r.result, continuationToken: r.continuationToken });
    if (r.statusCode === 304) return pages;
  }
  throw new Error(`change feed did not reach 304 within ${maxPages} pages`);
}

/** All items of the pages, in order. */
export function itemsOf<T>(pages: Page<T>[]): T[] {
  return pages.flatMap((p) => p.items);
}

/** The ErrorResponse a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<ErrorResponse> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ErrorResponse) return err;
    throw err;
  }
  throw new Error("expected the SDK to throw an ErrorResponse");
}
