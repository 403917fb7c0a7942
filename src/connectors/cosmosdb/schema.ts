/**
 * The Azure Cosmos DB (NoSQL API) connector's configuration: its source (the change feed,
 * pull model), its sink (bulk upserts and deletes) and their sign-in (an account key or
 * Microsoft Entra ID). The descriptions are the documentation (docs/configuration.md is
 * generated from them); `checkSource` / `checkSink` refuse the combinations of fields a
 * union member's object schema cannot see, each with its field path.
 */
import { z } from "zod";
import { duration } from "../../base/index.js";
import { sinkFields, type SpecIssue } from "../../core/index.js";

const endpoint = z
  .string()
  .regex(/^https?:\/\/[^/\s]+\/?$/, "must be the account endpoint URL, e.g. https://myaccount.documents.azure.com:443/")
  .describe("Account endpoint, e.g. https://myaccount.documents.azure.com:443/ (Entra ID sign-in needs https)");

/** A container or database name as the service accepts it. */
const resourceName = (what: string) =>
  z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\?#]*[^/\\?#\s]$/, `${what} name must not contain / \\ ? # or end with a space`);

/** Microsoft Entra ID sign-in: a client secret, a managed identity, or DefaultAzureCredential. */
const entraSchema = z
  .object({
    tenantId: z.string().min(1).optional().describe("Directory (tenant) id of the app registration; with clientId and clientSecret"),
    clientId: z
      .string()
      .min(1)
      .optional()
      .describe("Application (client) id: of the app registration (with clientSecret), or of a user-assigned managed identity (with managedIdentity)"),
    clientSecret: z.string().min(1).optional().describe("Client secret of the app registration, e.g. ${AZURE_CLIENT_SECRET}; never logged"),
    managedIdentity: z.boolean().optional().describe("Sign in as the machine's managed identity (system-assigned, or user-assigned with clientId)"),
    default: z
      .boolean()
      .optional()
      .describe("Sign in with DefaultAzureCredential (environment, workload identity, managed identity, developer tools); AZURE_TOKEN_CREDENTIALS narrows its chain"),
    authorityHost: z
      .string()
      .regex(/^https:\/\/[^/\s]+\/?$/, "must be an https:// URL, e.g. https://login.microsoftonline.us")
      .optional()
      .describe("Entra ID authority host for sovereign clouds or a private authority. Set, it also turns off MSAL's instance discovery (a call to login.microsoftonline.com). Default: Azure public cloud, or AZURE_AUTHORITY_HOST"),
  })
  .strict()
  .superRefine((e, ctx) => {
    const ways = [e.clientSecret !== undefined, e.managedIdentity === true, e.default === true].filter(Boolean).length;
    if (ways !== 1) {
      ctx.addIssue({ code: "custom", message: "give exactly one way to sign in: clientSecret (with tenantId and clientId), managedIdentity: true, or default: true" });
      return;
    }
    if (e.clientSecret !== undefined) {
      if (e.tenantId === undefined) ctx.addIssue({ code: "custom", path: ["tenantId"], message: "a client secret needs the tenant id of the app registration" });
      if (e.clientId === undefined) ctx.addIssue({ code: "custom", path: ["clientId"], message: "a client secret needs the client id of the app registration" });
    } else if (e.tenantId !== undefined) {
      ctx.addIssue({ code: "custom", path: ["tenantId"], message: "tenantId goes with clientSecret only (managedIdentity and default take the tenant from their environment)" });
    }
    if (e.default === true && e.clientId !== undefined) {
      ctx.addIssue({ code: "custom", path: ["clientId"], message: "with default: true the client id comes from AZURE_CLIENT_ID; leave clientId out" });
    }
  })
  .describe("Microsoft Entra ID sign-in (no keys in config): exactly one of clientSecret (with tenantId and clientId), managedIdentity: true (clientId for a user-assigned identity) or default: true. The identity needs a Cosmos DB data-plane role (docs/operations.md)");

/** How the connector signs in: an account key or Entra ID. */
const authSchema = z
  .object({
    key: z.string().min(1).optional().describe("Account key (primary or secondary), e.g. ${COSMOS_KEY}; never logged"),
    entra: entraSchema.optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if ((a.key === undefined) === (a.entra === undefined)) {
      ctx.addIssue({ code: "custom", message: "give exactly one of key (an account key) or entra (Microsoft Entra ID sign-in)" });
    }
  })
  .describe("Sign-in: exactly one of key or entra");

/** Azure Cosmos DB source (change feed, pull model). */
export const cosmosSourceSchema = z
  .object({
    type: z.literal("cosmosdb").describe("Source type"),
    endpoint,
    database: resourceName("database").describe("Database holding the containers"),
    containers: z.array(resourceName("container")).min(1).describe("Containers whose change feed is read; events go to cdc.<stream>.<database>.<container>"),
    mode: z
      .enum(["latestVersion", "allVersionsAndDeletes"])
      .default("latestVersion")
      .describe("latestVersion: the latest version of each changed document (no deletes; op is always u); allVersionsAndDeletes: every create, replace and delete with op c/u/d (needs the container's change feed retention policy)"),
    startFrom: z
      .enum(["beginning", "now"])
      .optional()
      .describe("Where a container without a checkpoint starts: beginning (latestVersion only: every current document, then changes) or now. Default: beginning for latestVersion, now for allVersionsAndDeletes"),
    auth: authSchema,
    pageSize: z.number().int().min(1).max(10_000).default(256).describe("Most changes read per change feed request (one batch)"),
    pollInterval: duration("1s").describe("How long a container that answered 'no new changes' (304) waits before it is asked again"),
  })
  .strict()
  .describe("Azure Cosmos DB (NoSQL API) change feed, pull model: one continuation per container, checkpointed once JetStream holds everything before it; partition splits are followed without loss");

/** Azure Cosmos DB sink (bulk upserts and deletes by id and partition key). */
export const cosmosSinkSchema = z
  .object({
    name: sinkFields.name,
    type: z.literal("cosmosdb").describe("Sink type"),
    endpoint,
    database: resourceName("database").describe("Database of the target containers"),
    from: sinkFields.from,
    container: z
      .string()
      .min(1)
      .default("{table}")
      .describe("Target container template with {schema} and {table} placeholders (e.g. {schema}_{table}); the database is always `database`"),
    partitionKey: z
      .string()
      .regex(/^(\/[^/\s]+)+$/, "must be a partition key path like /pk or /address/city")
      .describe("Partition key path of the target containers; each document's value is read from the event at this path"),
    auth: authSchema,
    autoCreate: z.boolean().default(false).describe("Create missing target containers (partitioned by partitionKey) and the offsets container; needs account-key sign-in or control-plane rights"),
    offsetsContainer: resourceName("container")
      .default("tributary_offsets")
      .describe("Container (partition key /id) in `database` holding one offset document per cluster, stream and sink"),
    batchMaxRows: sinkFields.batchMaxRows,
    batchMaxWait: sinkFields.batchMaxWait,
  })
  .strict()
  .describe("Applies events to Cosmos DB containers with bulk upserts and deletes by id and partition key; an offset document written with optimistic concurrency (etag) after each batch makes replays idempotent and refuses a stale owner (docs/adr/0008: what is guaranteed without cross-partition transactions)");

export type CosmosSourceSpec = z.output<typeof cosmosSourceSchema>;
export type CosmosSinkSpec = z.output<typeof cosmosSinkSchema>;
export type CosmosAuth = z.output<typeof authSchema>;

/** Entra ID needs https: the SDK refuses to send a bearer token over http. */
function authIssues(spec: { endpoint: string; auth: CosmosAuth }): SpecIssue[] {
  if (spec.auth.entra && spec.endpoint.startsWith("http://")) {
    return [{ path: ["endpoint"], message: "Entra ID sign-in needs an https:// endpoint (the SDK does not send tokens over http)" }];
  }
  return [];
}

/** Cross-field checks of a source spec (run by the config's validation). */
export function checkSource(spec: CosmosSourceSpec): SpecIssue[] {
  const issues = authIssues(spec);
  if (spec.mode === "allVersionsAndDeletes" && spec.startFrom === "beginning") {
    issues.push({ path: ["startFrom"], message: "allVersionsAndDeletes can start only from now (or a checkpoint): the service keeps no history before it; use startFrom: now or mode: latestVersion" });
  }
  const seen = new Set<string>();
  spec.containers.forEach((c, i) => {
    if (seen.has(c)) issues.push({ path: ["containers", i], message: `container "${c}" is listed twice` });
    seen.add(c);
  });
  return issues;
}

/** Cross-field checks of a sink spec (run by the config's validation). */
export function checkSink(spec: CosmosSinkSpec): SpecIssue[] {
  const issues = authIssues(spec);
  const unknown = spec.container.replace(/\{schema\}|\{table\}/g, "").match(/\{[^}]*\}/);
  if (unknown) issues.push({ path: ["container"], message: `unknown placeholder ${unknown[0]} (known: {schema}, {table})` });
  if (/[/\\?#]/.test(spec.container)) issues.push({ path: ["container"], message: "a container name must not contain / \\ ? #" });
  return issues;
}
