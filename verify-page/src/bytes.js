/**
 * Bytes, hex and base64 as the Python SDK reads them.
 *
 * Two base64 readers exist because the SDK has two: the strict ones (one spelling per value, as
 * `ipnotary.sdk.signing.b64decode` and the C2SP note parser require) and the lenient one
 * `base64.b64decode` applies to time-stamp tokens (which ignores unused bits and refuses bad
 * padding).
 *
 * @module bytes
 */

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STD_INDEX = indexOf(STD);
const URL_INDEX = indexOf(URL);

/** @param {string} alphabet */
function indexOf(alphabet) {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}

export class DecodeError extends Error {}

/** @param {Uint8Array} bytes @returns {string} lowercase hex */
export function toHex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** @param {string} hex an even number of hex digits (validated by the caller's pattern) */
export function fromHex(hex) {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/**
 * @param {Uint8Array} bytes
 * @param {string} alphabet
 * @param {boolean} pad
 */
function encode(bytes, alphabet, pad) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? '=' : '');
  }
  return out;
}

/**
 * Decode base64 characters (no padding) of `alphabet`; throws on a foreign character.
 * @param {string} text
 * @param {Int16Array} table
 */
function decodeChars(text, table) {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? table[c] : -1;
    if (v < 0) throw new DecodeError(`not a base64 character: ${JSON.stringify(text[i])}`);
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/** @param {Uint8Array} bytes */
export const b64encode = (bytes) => encode(bytes, STD, true);
/** @param {Uint8Array} bytes */
export const b64urlEncode = (bytes) => encode(bytes, URL, false);

/**
 * Standard padded base64 in its one canonical spelling (the C2SP note parser's rule).
 * @param {string} text
 */
export function b64decodeStrict(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new DecodeError('not standard base64');
  }
  const raw = decodeChars(text.replace(/=+$/, ''), STD_INDEX);
  if (b64encode(raw) !== text) throw new DecodeError('not canonical base64');
  return raw;
}

/**
 * Unpadded base64url whose unused bits are zero (`ipnotary.sdk.signing.b64decode`).
 * @param {string} text
 */
export function b64urlDecodeStrict(text) {
  if (typeof text !== 'string' || text.length > 4096) throw new DecodeError('expected a short base64url string');
  if (text.length % 4 === 1) throw new DecodeError('invalid base64url length');
  const raw = decodeChars(text, URL_INDEX);
  if (b64urlEncode(raw) !== text) {
    throw new DecodeError('base64url must be the one encoding of its bytes (unused bits zero)');
  }
  return raw;
}

/**
 * Python's `base64.b64decode(text)` for text matching `^[A-Za-z0-9+/]+={0,2}$`: unused bits are
 * ignored; a length that padding cannot complete is an error ("Incorrect padding").
 * @param {string} text
 * @returns {Uint8Array}
 */
export function b64decodeLenient(text) {
  const body = text.replace(/=+$/, '');
  const padding = text.length - body.length;
  const rest = body.length % 4;
  if (rest === 1) throw new DecodeError('base64: one character more than a multiple of 4');
  if (rest !== 0 && rest + padding < 4) throw new DecodeError('base64: incorrect padding');
  return decodeChars(body, STD_INDEX);
}

/** @param {string} text */
export const utf8 = (text) => new TextEncoder().encode(text);

/** @param {...Uint8Array} parts */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Bytes of anything a caller may hand the verifier.
 * @param {Uint8Array | ArrayBuffer | string} value
 */
export function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return utf8(value);
  throw new TypeError('expected bytes or a string');
}
