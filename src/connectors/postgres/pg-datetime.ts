/**
 * Converts PostgreSQL's ISO-style timestamp text (DateStyle=ISO) into ISO-8601 strings
 * without going through `Date`, so microseconds and years beyond JavaScript's range (up to
 * 294276 AD) survive and the fractional digits stay exactly as the server printed them.
 */

const UTC_TIMESTAMP = /^\d{4,}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?\+00$/;
const TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?$/;

/**
 * `timestamp` text `2024-03-01 12:34:56.123456` -> `2024-03-01T12:34:56.123456`. Text of
 * any other shape (`infinity`, `-infinity`, BC dates `0044-03-15 12:00:00 BC`) is returned
 * unchanged: PostgreSQL reads it back as is.
 */
export function timestampToIso(text: string): string {
  const m = TIMESTAMP.exec(text);
  if (m === null || m[8] !== undefined) return text;
  return text.replace(" ", "T");
}

/**
 * `timestamptz` text `2024-03-01 12:34:56.123456+00` -> `2024-03-01T12:34:56.123456Z`,
 * shifting to UTC when the server printed another offset (`+05:30`, `+00:19:32`). Text of any
 * other shape (`infinity`, BC dates), or a shift that would land before year 1, is returned
 * unchanged.
 */
export function timestamptzToIso(text: string): string {
  // the reader's sessions run in UTC: most values end in +00 and only need re-punctuating
  if (UTC_TIMESTAMP.test(text)) {
    const sp = text.indexOf(" ");
    return `${text.slice(0, sp)}T${text.slice(sp + 1, -3)}Z`;
  }
  const m = TIMESTAMP.exec(text);
  if (m === null || m[8] === undefined) return text;
  const [, y, mo, d, h, mi, s, frac = "", sign, oh, om = "0", os = "0"] = m;
  const offset = (Number(oh) * 3600 + Number(om) * 60 + Number(os)) * (sign === "-" ? -1 : 1);
  if (offset === 0) return `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}Z`;

  const local =
    daysFromCivil(Number(y), Number(mo), Number(d)) * 86400 +
    Number(h) * 3600 +
    Number(mi) * 60 +
    Number(s);
  const utc = local - offset;
  const days = Math.floor(utc / 86400);
  const secs = utc - days * 86400;
  const [uy, um, ud] = civilFromDays(days);
  if (uy < 1) return text;
  return (
    `${pad(uy, 4)}-${pad(um, 2)}-${pad(ud, 2)}T` +
    `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor((secs % 3600) / 60), 2)}:${pad(secs % 60, 2)}${frac}Z`
  );
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

// Proleptic Gregorian day arithmetic (H. Hinnant's days_from_civil / civil_from_days);
// day 0 is 1970-01-01.
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
