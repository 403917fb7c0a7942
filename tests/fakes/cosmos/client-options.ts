/**
 * What a client needs to talk to the fakes without leaving the machine: an https.Agent that
 * trusts the test CA (for CosmosClient `agent`), pipeline policies for @azure/identity
 * credentials (trust the CA per request, refuse any non-loopback host), and the environment a
 * child node process needs instead (`NODE_EXTRA_CA_CERTS` is read only at node start-up).
 */
import https from "node:https";
import type { ClientSecretCredentialOptions } from "@azure/identity";
import type { FakeEntra } from "./entra.js";
import type { TestTls } from "./tls.js";

/** One entry of `additionalPolicies` of an @azure/identity credential. */
export type AdditionalPolicy = NonNullable<ClientSecretCredentialOptions["additionalPolicies"]>[number];
type PipelinePolicy = AdditionalPolicy["policy"];

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** An https.Agent trusting the test CA: pass it as CosmosClient's `agent`. */
export function caAgent(tls: TestTls): https.Agent {
  return new https.Agent({ ca: tls.caPem, keepAlive: true });
}

/** A per-call policy that sends every request of the pipeline through an agent trusting the test CA. */
export function trustTestCaPolicy(tls: TestTls): AdditionalPolicy {
  const agent = new https.Agent({ ca: tls.caPem });
  const policy: PipelinePolicy = {
    name: "tributary-test-ca",
    sendRequest: (request, next) => {
      request.agent = agent;
      return next(request);
    },
  };
  return { position: "perCall", policy };
}

/**
 * A per-call policy that fails any request to a host other than loopback, so a credential
 * that falls through to instance discovery or IMDS (169.254.169.254) errors instead of
 * reaching the network.
 */
export function loopbackOnlyPolicy(): AdditionalPolicy {
  const policy: PipelinePolicy = {
    name: "tributary-loopback-only",
    sendRequest: (request, next) => {
      const host = new URL(request.url).hostname;
      if (!LOOPBACK.has(host)) {
        return Promise.reject(new Error(`test guard: refused a request to ${host} (only loopback is allowed in tests)`));
      }
      return next(request);
    },
  };
  return { position: "perCall", policy };
}

/**
 * Options for ClientSecretCredential / DefaultAzureCredential against FakeEntra:
 * its authority host, no instance discovery (it would call login.microsoftonline.com),
 * trust of the test CA and the loopback guard.
 */
export function credentialOptions(entra: FakeEntra, tls: TestTls): ClientSecretCredentialOptions {
  return {
    authorityHost: entra.authorityHost,
    disableInstanceDiscovery: true,
    additionalPolicies: [loopbackOnlyPolicy(), trustTestCaPolicy(tls)],
  };
}

/**
 * Environment for a CHILD node process that uses DefaultAzureCredential against FakeEntra:
 * the CA through `NODE_EXTRA_CA_CERTS`, the client through EnvironmentCredential's variables,
 * and `AZURE_TOKEN_CREDENTIALS=EnvironmentCredential` so the chain never falls through to
 * ManagedIdentityCredential (IMDS) or the developer CLIs. The child must still construct the
 * credential with `disableInstanceDiscovery: true`: no variable turns instance discovery off.
 */
export function childProcessEnv(
  tls: TestTls,
  entra?: { entra: FakeEntra; tenant: string; clientId: string; secret: string },
): Record<string, string> {
  const env: Record<string, string> = { NODE_EXTRA_CA_CERTS: tls.caFile };
  if (entra) {
    env.AZURE_AUTHORITY_HOST = entra.entra.authorityHost;
    env.AZURE_TENANT_ID = entra.tenant;
    env.AZURE_CLIENT_ID = entra.clientId;
    env.AZURE_CLIENT_SECRET = entra.secret;
    env.AZURE_TOKEN_CREDENTIALS = "EnvironmentCredential";
  }
  return env;
}

/** Runs `fn` with `vars` set in process.env, restoring the previous values afterwards. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(vars).map((k) => [k, process.env[k]] as const));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
