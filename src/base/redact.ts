/**
 * The one place that hides secrets in connection strings before they reach a message or a
 * log line (the brief: never print passwords). Works on text, not on a parsed URL, so it
 * also handles what WHATWG URL refuses: multi-host MongoDB URLs, `mongodb+srv://`, and
 * `Key=value;` connection strings such as Cosmos DB's.
 */

/** Query or connection-string parameters whose values are secrets (case-insensitive). */
const SECRET_PARAMS = /(^|[?&;])((?:password|passwd|pwd|pass|secret|token|access_?token|api_?key|account_?key|sig|signature|sslpassword|authsecret)=)[^&;#]*/gi;

/** `scheme://user:password@` (the password may contain anything but `@` and `/`). */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;

/**
 * The connection string with every secret replaced by `***`: the password of the
 * user-info part of any `scheme://user:password@host…` URL (postgres://, mysql://,
 * mongodb://, nats://, https://…) and the values of secret parameters (`?password=`,
 * `&token=`, `;AccountKey=`…). User names, hosts, ports and databases stay readable.
 */
export function redactUrl(url: string): string {
  return url
    .replace(USERINFO, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(":");
      return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(SECRET_PARAMS, "$1$2***");
}

/** `scheme://user:password@` anywhere in a text (a message that quotes a URL). */
const USERINFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'`]*)@/gi;

/**
 * A free text (an error message, a driver's message quoting a URL) with the password of
 * every `scheme://user:password@` in it and every secret parameter replaced by `***`.
 */
export function redactText(text: string): string {
  return text
    .replace(USERINFO_IN_TEXT, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(":");
      return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(/(^|[?&;\s])((?:password|passwd|pwd|pass|secret|token|access_?token|api_?key|account_?key|sig|signature|sslpassword|authsecret)=)[^&;#\s"']*/gi, "$1$2***");
}
