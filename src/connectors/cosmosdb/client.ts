/**
 * One CosmosClient per connector, signed in as the spec says: the account key, or a
 * Microsoft Entra ID credential built from the config (client secret, managed identity,
 * DefaultAzureCredential) — or a TokenCredential injected by a test. With an authority host
 * (the config's, or AZURE_AUTHORITY_HOST), MSAL's instance discovery is turned off: it
 * would first ask login.microsoftonline.com whether the host is an authority. A request
 * plugin counts every throttled (429) response and the request units spent, per container,
 * while the SDK retries them after the service's delay.
 */
import type { Agent } from "node:http";
import { CosmosClient, type CosmosClientOptions, type PluginConfig } from "@azure/cosmos";
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import type { CosmosMetrics } from "./metrics.js";
import type { CosmosAuth } from "./schema.js";

/** What tests may inject instead of what the config would build. */
export interface CosmosOverrides {
  /** sign in with this credential instead of the one `auth.entra` describes */
  credential?: TokenCredential;
  /** HTTP(S) agent of every request to the account (e.g. one trusting a test CA) */
  agent?: Agent;
}

/** How a client of one connector is built. */
export interface ClientOptions {
  endpoint: string;
  auth: CosmosAuth;
  metrics: CosmosMetrics;
  overrides?: CosmosOverrides;
  /** environment the credentials read (AZURE_AUTHORITY_HOST) @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Which credential `auth.entra` asks for, and with which options (no secret in it: it goes to the constructor only). */
export type CredentialPlan =
  | { kind: "clientSecret"; tenantId: string; clientId: string; authorityHost?: string; disableInstanceDiscovery: boolean }
  | { kind: "managedIdentity"; clientId?: string }
  | { kind: "default"; authorityHost?: string; disableInstanceDiscovery: boolean };

/** The credential `entra` describes (pure: what {@link credentialFor} builds). */
export function credentialPlan(entra: NonNullable<CosmosAuth["entra"]>, env: NodeJS.ProcessEnv = process.env): CredentialPlan {
  const host = entra.authorityHost?.replace(/\/$/, "");
  const hosted = host !== undefined ? { authorityHost: host } : {};
  if (entra.clientSecret !== undefined) {
    return { kind: "clientSecret", tenantId: entra.tenantId ?? "", clientId: entra.clientId ?? "", ...hosted, disableInstanceDiscovery: host !== undefined };
  }
  if (entra.managedIdentity === true) return entra.clientId !== undefined ? { kind: "managedIdentity", clientId: entra.clientId } : { kind: "managedIdentity" };
  // MSAL reads AZURE_AUTHORITY_HOST itself, but nothing turns its instance discovery off but this option
  return { kind: "default", ...hosted, disableInstanceDiscovery: host !== undefined || !!env.AZURE_AUTHORITY_HOST };
}

/** Builds the credential of `entra`. */
export function credentialFor(entra: NonNullable<CosmosAuth["entra"]>, env: NodeJS.ProcessEnv = process.env): TokenCredential {
  const plan = credentialPlan(entra, env);
  switch (plan.kind) {
    case "clientSecret": {
      const { tenantId, clientId, kind: _k, ...opts } = plan;
      return new ClientSecretCredential(tenantId, clientId, entra.clientSecret ?? "", opts);
    }
    case "managedIdentity":
      return plan.clientId !== undefined ? new ManagedIdentityCredential({ clientId: plan.clientId }) : new ManagedIdentityCredential();
    case "default": {
      const { kind: _k, ...opts } = plan;
      return new DefaultAzureCredential(opts);
    }
  }
}

/** The container a request path addresses (`/dbs/d/colls/c/docs` → `c`), "" for account-level requests. */
export function containerOfPath(path: string): string {
  const m = /\/colls\/([^/]+)/.exec(path);
  if (!m) return "";
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}

/** The request plugin counting 429 responses and request units, per container. */
function meteringPlugin(metrics: CosmosMetrics): PluginConfig {
  return {
    on: "request",
    plugin: async (context, _diagnostics, next) => {
      const container = containerOfPath(context.path ?? "");
      try {
        const r = await next(context);
        metrics.charge(container, r.headers?.["x-ms-request-charge"]);
        return r;
      } catch (err) {
        const e = err as { code?: unknown; retryAfterInMs?: unknown; headers?: Record<string, unknown> };
        if (e?.code === 429) metrics.throttled(container, Number(e.retryAfterInMs ?? e.headers?.["x-ms-retry-after-ms"] ?? 0));
        metrics.charge(container, e?.headers?.["x-ms-request-charge"]);
        throw err;
      }
    },
  };
}

/**
 * A client for the account. The SDK retries a throttled request after the service's
 * `x-ms-retry-after-ms` up to 9 times within 60 s (counted by the plugin); the connectors
 * wait out what is left the same way.
 */
export function cosmosClient(o: ClientOptions): CosmosClient {
  const auth = o.auth.key !== undefined
    ? { key: o.auth.key }
    : { aadCredentials: o.overrides?.credential ?? credentialFor(o.auth.entra!, o.env) };
  // `plugins` is the SDK's (hidden) per-request hook: the only place every retried 429 is seen
  const options: CosmosClientOptions & { plugins: PluginConfig[] } = {
    endpoint: o.endpoint,
    ...auth,
    connectionPolicy: { retryOptions: { maxRetryAttemptCount: 9, maxWaitTimeInSeconds: 60 } },
    userAgentSuffix: "tributary",
    plugins: [meteringPlugin(o.metrics)],
    ...(o.overrides?.agent ? { agent: o.overrides.agent } : {}),
  };
  return new CosmosClient(options);
}
