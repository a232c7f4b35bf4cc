/**
 * Times as the Python verifier compares them: microseconds since the Unix epoch, UTC, as
 * `bigint` (a `Date` keeps only milliseconds, and a record's `received_at` has microseconds), in
 * Python's `datetime` range (years 1 to 9999).
 *
 * @module times
 */

export class TimeError extends Error {}

const US = 1_000_000n;
// datetime.min and datetime.max, as Unix seconds.
const MIN_SECONDS = -62135596800n;
export const MAX_SECONDS = 253402300799n;

/** @param {number} y */
const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** @param {number} y @param {number} m */
const daysIn = (y, m) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
function daysFromCivil(y, m, d) {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** @param {bigint} days */
function civilFromDays(days) {
  const z = Number(days) + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/**
 * @param {{y: number, mo: number, d: number, h: number, mi: number, s: number, us: number}} f
 * @returns {bigint}
 */
function fromFields({ y, mo, d, h, mi, s, us }) {
  if (y < 1 || y > 9999) throw new TimeError(`year ${y} is out of range`);
  if (mo < 1 || mo > 12) throw new TimeError('month must be in 1..12');
  if (d < 1 || d > daysIn(y, mo)) throw new TimeError('day is out of range for month');
  if (h > 23) throw new TimeError('hour must be in 0..23');
  if (mi > 59) throw new TimeError('minute must be in 0..59');
  if (s > 59) throw new TimeError('second must be in 0..59');
  const seconds = BigInt(daysFromCivil(y, mo, d)) * 86400n + BigInt(h * 3600 + mi * 60 + s);
  return seconds * US + BigInt(us);
}

/** @param {string} f fraction digits, any number: Python keeps the first six */
const fraction = (f) => Number((f + '000000').slice(0, 6));

/**
 * A `Timestamp` field (`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$`, whose `\d` also
 * matches digits of other scripts, as pydantic's Rust regex does) read as `parse_time` reads it.
 * @param {string} text
 */
export function parseTimestampField(text) {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z$/.exec(text);
  if (!m) throw new TimeError(`Invalid isoformat string: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, f] = m;
  return fromFields({ y: +y, mo: +mo, d: +d, h: +h, mi: +mi, s: +s, us: f ? fraction(f) : 0 });
}

/**
 * `datetime.fromisoformat(text).astimezone(UTC)` for the ISO 8601 forms our documents and
 * their producers write: a date (`YYYY-MM-DD` or `YYYYMMDD`), optionally a time after one
 * separator character (`HH[:MM[:SS[.f]]]` or `HHMMSS[.f]`) and an offset (`Z`, `±HH:MM[:SS[.f]]`
 * or `±HHMM`). A time without an offset is taken as UTC, the zone the service writes in. Python
 * accepts a few more spellings (ISO week dates, a fraction without digits); those are refused.
 * @param {string} text
 */
export function fromIsoformat(text) {
  const m =
    /^([0-9]{4})-?([0-9]{2})-?([0-9]{2})(?:[^]([0-9]{2})(?::?([0-9]{2})(?::?([0-9]{2})(?:[.,]([0-9]+))?)?)?(Z|[+-][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:\.[0-9]+)?)?)?)?)?$/.exec(
      text,
    );
  if (!m || /^[0-9]{4}-[0-9]{4}|^[0-9]{6}-/.test(text)) {
    throw new TimeError(`Invalid isoformat string: ${JSON.stringify(text)}`);
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', f, tz] = m;
  let value = fromFields({ y: +y, mo: +mo, d: +d, h: +h, mi: +mi, s: +s, us: f ? fraction(f) : 0 });
  if (tz && tz !== 'Z') {
    const t = /^([+-])([0-9]{2}):?([0-9]{2})?:?([0-9]{2})?(?:\.([0-9]+))?$/.exec(tz);
    if (!t) throw new TimeError(`Invalid isoformat string: ${JSON.stringify(text)}`);
    const [, sign, oh, om = '0', os = '0', of] = t;
    const offset = (BigInt(+oh * 3600 + +om * 60 + +os) * US + BigInt(of ? fraction(of) : 0)) * (sign === '-' ? -1n : 1n);
    if (offset >= 86400n * US || offset <= -86400n * US) throw new TimeError('offset must be strictly between -24 and 24 hours');
    value -= offset;
  }
  return value;
}

/**
 * `datetime.fromtimestamp(seconds, UTC)`, refused outside Python's range as Python refuses it.
 * @param {bigint} seconds
 */
export function fromTimestamp(seconds) {
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new TimeError(`timestamp ${seconds} is outside the years 1 to 9999`);
  }
  return seconds * US;
}

/** @param {number} ms milliseconds since the epoch */
export const fromMillis = (ms) => BigInt(Math.round(ms)) * 1000n;

/** @param {bigint} seconds */
export const seconds = (seconds) => seconds * US;

/**
 * RFC 3339 in UTC with microseconds and `Z`, the SDK's `format_timestamp`.
 * @param {bigint} us
 */
export function formatTime(us) {
  let secs = us / US;
  let rest = us % US;
  if (rest < 0n) {
    rest += US;
    secs -= 1n;
  }
  let days = secs / 86400n;
  let sod = secs % 86400n;
  if (sod < 0n) {
    sod += 86400n;
    days -= 1n;
  }
  const { y, m, d } = civilFromDays(days);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const s = Number(sod);
  return `${p(y, 4)}-${p(m)}-${p(d)}T${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}.${p(Number(rest), 6)}Z`;
}

/** @param {bigint} us @returns {Date} */
export const toDate = (us) => new Date(Number(us / 1000n));
