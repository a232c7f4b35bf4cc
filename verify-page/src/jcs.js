/**
 * RFC 8785 (JCS) canonical JSON of a value read by `pyjson`: the bytes that are hashed into the
 * log's leaves and signed by the issuer. The serialisation is the `canonicalize` package's; what
 * JCS cannot represent is refused first, as `ipnotary.sdk.canonical.canonical_json` refuses it
 * (integers beyond 2^53 - 1, NaN and infinities, lone surrogates).
 *
 * @module jcs
 */

import canonicalize from 'canonicalize';
import { utf8 } from './bytes.js';

const INT_LIMIT = 2n ** 53n - 1n;

export class CanonicalizationError extends Error {}

/**
 * @param {import('./pyjson.js').JSONValue} value
 * @param {Set<string>} lone strings that hold lone surrogates in Python's reading
 * @returns {unknown}
 */
function plain(value, lone) {
  switch (typeof value) {
    case 'bigint':
      if (value > INT_LIMIT || value < -INT_LIMIT) {
        throw new CanonicalizationError(`${value} exceeds safe integer domain for JSON floats`);
      }
      return Number(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError(`${value} is not allowed in canonical JSON`);
      return value;
    case 'string':
      if (!value.isWellFormed() || lone.has(value)) throw new CanonicalizationError('input contains non-UTF-8 codepoints');
      return value;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) return value.map((v) => plain(v, lone));
      {
        const out = Object.create(null);
        for (const key of Object.keys(value)) {
          if (!key.isWellFormed() || lone.has(key)) throw new CanonicalizationError('input contains non-UTF-8 codepoints');
          Object.defineProperty(out, key, { value: plain(value[key], lone), enumerable: true });
        }
        return out;
      }
    default:
      return value;
  }
}

/**
 * @param {import('./pyjson.js').JSONValue} value
 * @param {Set<string>} [lone]
 * @returns {Uint8Array}
 */
export function canonicalJSON(value, lone = new Set()) {
  const text = canonicalize(plain(value, lone));
  if (text === undefined) throw new CanonicalizationError('value cannot be written as canonical JSON');
  return utf8(text);
}
