/**
 * The fields every sink's spec has, because the sink kernel reads them (its name, its
 * input, its batches). Each connector's schema places them among its own fields, so the
 * generated configuration reference lists them with every sink type.
 */
import { z } from "zod";
import { duration, tokenName } from "../base/index.js";

/** zod fields shared by every sink schema (see SinkSettings). */
export const sinkFields = {
  name: tokenName("sink name").describe("Sink name, unique within the stream"),
  from: tokenName("from").optional().describe("Transformer whose output this sink consumes; default: the raw change events"),
  batchMaxRows: z.number().int().min(1).max(100_000).default(2000).describe("Largest batch applied in one transaction"),
  batchMaxWait: duration("100ms").describe("Longest a partial batch waits before it is applied"),
};
