// How the NATS connection options are derived: credentials taken out of URLs (the client would ignore them), TLS from tls:// or nats.tls.
import { describe, expect, it } from "vitest";
import { clientAuth } from "./connect.js";

describe("clientAuth", () => {
  it("logs in with the user and password of a URL and dials the URL without them", () => {
    expect(clientAuth({ servers: ["nats://app:p%40ss@n1:4222", "nats://n2:4222"] })).toEqual({ servers: ["nats://n1:4222", "nats://n2:4222"], user: "app", pass: "p@ss" });
  });

  it("takes a URL's lone user-info as a token", () => {
    expect(clientAuth({ servers: ["nats://s3cr3t-token@n1:4222"] })).toEqual({ servers: ["nats://n1:4222"], token: "s3cr3t-token" });
  });

  it("lets the config's own user/pass/token win over a URL's", () => {
    expect(clientAuth({ servers: ["nats://a:b@n1:4222"], user: "cfg", pass: "cfgpw" })).toMatchObject({ user: "cfg", pass: "cfgpw" });
    expect(clientAuth({ servers: ["nats://a:b@n1:4222"], token: "t" })).toEqual({ servers: ["nats://n1:4222"], token: "t" });
  });

  it("turns TLS on for a tls:// URL or nats.tls, with the files of nats.tls", () => {
    expect(clientAuth({ servers: ["tls://n1:4443"] })).toEqual({ servers: ["tls://n1:4443"], tls: {} });
    expect(clientAuth({ servers: ["nats://n1:4222"], tls: { ca: "/ca.pem", cert: "/c.pem", key: "/k.pem" } }).tls).toEqual({ caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem" });
    expect(clientAuth({ servers: ["nats://n1:4222"] }).tls).toBeUndefined();
  });

  it("passes the creds and nkey files on", () => {
    expect(clientAuth({ servers: ["n1:4222"], creds: "/u.creds", nkey: "/seed.nk" })).toEqual({ servers: ["n1:4222"], creds: "/u.creds", nkey: "/seed.nk" });
  });
});
