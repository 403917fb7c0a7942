// The one redactUrl hides passwords and secret parameters of every connection-string kind.
import { describe, expect, it } from "vitest";
import { redactText, redactUrl } from "./redact.js";

describe("redactUrl", () => {
  it("replaces the password of any scheme's user-info and keeps the rest readable", () => {
    expect(redactUrl("postgres://app:s3cr%40t@db:5432/shop?sslmode=require")).toBe("postgres://app:***@db:5432/shop?sslmode=require");
    expect(redactUrl("mysql://root:pw@127.0.0.1:3306/x")).toBe("mysql://root:***@127.0.0.1:3306/x");
    expect(redactUrl("mongodb+srv://u:p@a.example,b.example/db?authSource=admin")).toBe("mongodb+srv://u:***@a.example,b.example/db?authSource=admin");
    expect(redactUrl("nats://user:pass@nats-1:4222")).toBe("nats://user:***@nats-1:4222");
    expect(redactUrl("mysql://root@127.0.0.1/x")).toBe("mysql://root@127.0.0.1/x");
    expect(redactUrl("nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222");
  });

  it("replaces secret parameters in query strings and Key=value; connection strings", () => {
    expect(redactUrl("postgres://db/shop?password=x&user=app")).toBe("postgres://db/shop?password=***&user=app");
    expect(redactUrl("https://acct.blob.example/c?sv=1&sig=abc%2B")).toBe("https://acct.blob.example/c?sv=1&sig=***");
    expect(redactUrl("AccountEndpoint=https://x.documents.azure.com:443/;AccountKey=abc==;Database=d")).toBe(
      "AccountEndpoint=https://x.documents.azure.com:443/;AccountKey=***;Database=d",
    );
  });
});

describe("redactText", () => {
  it("hides passwords of every URL inside a message, and secret parameters", () => {
    expect(redactText('connect "nats://u:pw@h:4222" failed; also postgres://a:b@c/d?password=zz and token=abc')).toBe('connect "nats://u:***@h:4222" failed; also postgres://a:***@c/d?password=*** and token=***');
  });
});
