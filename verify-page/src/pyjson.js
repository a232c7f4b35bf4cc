/**
 * Untrusted JSON read exactly as the Python SDK reads it (`ipnotary.sdk.canonical.parse_json`,
 * which is `json.loads` with a size limit, a nesting limit and no duplicate keys).
 *
 * `JSON.parse` would not do: it keeps the last of two equal keys, rounds integers beyond 2^53,
 * cannot tell `1` from `1.0`, and refuses `NaN`, which Python accepts. Whether a document is
 * a certificate at all (step `format`) must not depend on which verifier reads it, so values come
 * out typed as Python would see them:
 *
 * - objects: prototype-less objects (a key `__proto__` is an ordinary key);
 * - integers: `bigint`; other numbers (with a fraction or exponent, `NaN`, `Infinity`): `number`;
 * - strings, booleans, `null` as themselves. A string that holds a lone surrogate in Python's
 *   reading (including two that JavaScript would pair up) is listed in `loneSurrogates`.
 *
 * @module pyjson
 */

export const MAX_JSON_DEPTH = 32;
// CPython refuses to convert integers with more digits than this (sys.get_int_max_str_digits()).
const MAX_INT_DIGITS = 4300;

export class JSONFormatError extends Error {}

/**
 * @typedef {null | boolean | bigint | number | string | JSONValue[] | {[key: string]: JSONValue}} JSONValue
 * @typedef {{value: JSONValue, loneSurrogates: Set<string>}} Parsed
 */

/**
 * Decode bytes as `json.loads` does: its encoding detection, a UTF-8 BOM dropped, and UTF-8 with
 * `surrogatepass` (encoded surrogates are read as lone surrogates, not refused).
 * @param {Uint8Array} b
 * @returns {{text: string, raw: Set<number>}} the text, and the positions of the surrogates that
 *   came from such bytes (Python keeps each one lone, where JavaScript may pair two up)
 */
function decode(b) {
  const starts = (...p) => p.every((x, i) => b[i] === x);
  if (starts(0x00, 0x00, 0xfe, 0xff) || starts(0xff, 0xfe, 0x00, 0x00) || starts(0xfe, 0xff) || starts(0xff, 0xfe)) {
    throw new JSONFormatError('is not UTF-8 (a UTF-16 or UTF-32 byte order mark)');
  }
  let i = 0;
  if (starts(0xef, 0xbb, 0xbf)) i = 3;
  else if (b.length >= 4 ? b[0] === 0 || b[1] === 0 : b.length === 2 && (b[0] === 0 || b[1] === 0)) {
    // Python would decode this as UTF-16 or UTF-32; no certificate survives that.
    throw new JSONFormatError('is not UTF-8 (it reads as UTF-16 or UTF-32)');
  }
  const raw = new Set();
  const units = new Uint16Array(b.length);
  let n = 0;
  const bad = (at) => new JSONFormatError(`is not valid UTF-8 (byte ${at})`);
  while (i < b.length) {
    const c = b[i];
    let cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      if (i + 1 >= b.length || (b[i + 1] & 0xc0) !== 0x80) throw bad(i);
      cp = ((c & 0x1f) << 6) | (b[i + 1] & 0x3f);
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      const c1 = b[i + 1];
      const lo = c === 0xe0 ? 0xa0 : 0x80;
      if (i + 2 >= b.length || c1 < lo || c1 > 0xbf || (b[i + 2] & 0xc0) !== 0x80) throw bad(i);
      cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (b[i + 2] & 0x3f);
      if (cp >= 0xd800 && cp <= 0xdfff) raw.add(n); // surrogatepass
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const c1 = b[i + 1];
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      if (i + 3 >= b.length || c1 < lo || c1 > hi || (b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) {
        throw bad(i);
      }
      cp = ((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
      i += 4;
    } else {
      throw bad(i);
    }
    if (cp > 0xffff) {
      cp -= 0x10000;
      units[n++] = 0xd800 + (cp >> 10);
      units[n++] = 0xdc00 + (cp & 0x3ff);
    } else {
      units[n++] = cp;
    }
  }
  let text = '';
  for (let at = 0; at < n; at += 8192) text += String.fromCharCode(...units.subarray(at, Math.min(n, at + 8192)));
  return { text, raw };
}

/**
 * Parse untrusted JSON with the SDK's limits. `data`: bytes (as a file arrives) or text.
 * @param {Uint8Array | string} data
 * @param {{maxBytes: number, what: string}} options
 * @returns {Parsed}
 */
export function parseJSON(data, { maxBytes, what }) {
  const loneSurrogates = new Set();
  let text;
  let raw = new Set();
  if (typeof data === 'string') {
    // Python measures a str in code points.
    let n = 0;
    for (const _ of data) n++;
    if (n > maxBytes) throw new JSONFormatError(`${what} is ${n} characters; the limit is ${maxBytes}`);
    text = data;
  } else {
    if (data.length > maxBytes) throw new JSONFormatError(`${what} is ${data.length} bytes; the limit is ${maxBytes}`);
    try {
      ({ text, raw } = decode(data));
    } catch (e) {
      throw new JSONFormatError(`${what} ${e.message}`);
    }
  }
  const parser = new Parser(text, what, loneSurrogates, raw);
  const value = parser.document();
  return { value, loneSurrogates };
}

const NUMBER = /(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;

class Parser {
  /**
   * @param {string} text
   * @param {string} what
   * @param {Set<string>} lone
   * @param {Set<number>} raw positions of surrogates Python reads as lone ones whatever follows
   */
  constructor(text, what, lone, raw) {
    this.s = text;
    this.i = 0;
    this.what = what;
    this.lone = lone;
    this.raw = raw;
  }

  fail(message) {
    return new JSONFormatError(`${this.what} is not valid JSON: ${message} (character ${this.i})`);
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  document() {
    if (this.s.charCodeAt(0) === 0xfeff) throw this.fail('unexpected UTF-8 BOM');
    this.ws();
    const value = this.value(1);
    this.ws();
    if (this.i !== this.s.length) throw this.fail('extra data');
    return value;
  }

  /** @param {number} depth the nesting level of this value (a scalar in a container counts) */
  value(depth) {
    // Python's _depth: a value inside a container is one level deeper than the container.
    if (depth > MAX_JSON_DEPTH) {
      throw new JSONFormatError(`${this.what} nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    const s = this.s;
    const c = s[this.i];
    if (c === '"') return this.string();
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    for (const [word, v] of [['null', null], ['true', true], ['false', false], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]]) {
      if (s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.number();
  }

  number() {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) throw this.fail('expecting value');
    this.i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const digits = m[1].replace('-', '');
      if (digits.length > MAX_INT_DIGITS) throw this.fail(`an integer of more than ${MAX_INT_DIGITS} digits`);
      return BigInt(m[1]);
    }
    return Number(m[0]);
  }

  string() {
    const s = this.s;
    this.i++; // opening quote
    let out = '';
    let lone = false;
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) throw this.fail('unterminated string');
      const code = s.charCodeAt(this.i);
      if (code === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        break;
      }
      if (code < 0x20) throw this.fail('invalid control character in a string');
      if (code >= 0xd800 && code <= 0xdfff && this.raw.has(this.i)) lone = true;
      if (code !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(start, this.i);
      const e = s[this.i + 1];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
      if (simple !== undefined) {
        out += simple;
        this.i += 2;
      } else if (e === 'u') {
        const unit = this.hex4(this.i + 2);
        this.i += 6;
        if (unit >= 0xd800 && unit <= 0xdbff && s[this.i] === '\\' && s[this.i + 1] === 'u') {
          const low = this.hex4(this.i + 2);
          if (low >= 0xdc00 && low <= 0xdfff) {
            out += String.fromCharCode(unit, low);
            this.i += 6;
            start = this.i;
            continue;
          }
        }
        if (unit >= 0xd800 && unit <= 0xdfff) lone = true;
        out += String.fromCharCode(unit);
      } else {
        throw this.fail('invalid \\escape');
      }
      start = this.i;
    }
    if (lone || !out.isWellFormed()) this.lone.add(out);
    return out;
  }

  hex4(at) {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw this.fail('invalid \\uXXXX escape');
    return parseInt(h, 16);
  }

  object(depth) {
    const s = this.s;
    this.i++;
    /** @type {{[key: string]: JSONValue}} */
    const out = Object.create(null);
    const seen = new Set();
    this.ws();
    if (s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (s[this.i] !== '"') throw this.fail('expecting property name enclosed in double quotes');
      const key = this.string();
      this.ws();
      if (s[this.i] !== ':') throw this.fail("expecting ':' delimiter");
      this.i++;
      this.ws();
      const value = this.value(depth + 1);
      if (seen.has(key)) throw new JSONFormatError(`${this.what} has the key ${JSON.stringify(key)} twice`);
      seen.add(key);
      out[key] = value;
      this.ws();
      if (s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (s[this.i] === '}') {
        this.i++;
        return out;
      }
      throw this.fail("expecting ',' delimiter");
    }
  }

  array(depth) {
    const s = this.s;
    this.i++;
    const out = [];
    this.ws();
    if (s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      if (s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (s[this.i] === ']') {
        this.i++;
        return out;
      }
      throw this.fail("expecting ',' delimiter");
    }
  }
}

/** @param {JSONValue} v */
export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A plain JavaScript value as the Python SDK would have parsed it from its JSON text: integers
 * become bigints. For callers that hand the verifier an already-parsed object.
 * @param {unknown} value
 * @returns {JSONValue}
 */
export function fromPlain(value) {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(fromPlain);
  if (value !== null && typeof value === 'object') {
    const out = Object.create(null);
    for (const [k, v] of Object.entries(value)) out[k] = fromPlain(v);
    return out;
  }
  return /** @type {JSONValue} */ (value);
}
