/**
 * The certificate format (versions 1 and 2), with the rules of `ipnotary.sdk.certificate`: the
 * same limits, patterns and strictness, so a document either parses into something the verifier
 * understands or fails at step `format` here exactly when it does there. `docs/certificate.md`
 * describes every field.
 *
 * @module certificate
 */

import { parseJSON, JSONFormatError, isObject } from './pyjson.js';
import { anyObject, int, list, literal, model, nullable, SchemaError, str, validate } from './schema.js';
import { b64decodeLenient, DecodeError } from './bytes.js';
import { MAX_SECONDS, parseTimestampField, TimeError } from './times.js';

export const CERTIFICATE_MEDIA_TYPE = 'application/vnd.ipnotary.certificate+json;version=2';
export const CERTIFICATE_V1_MEDIA_TYPE = 'application/vnd.ipnotary.certificate+json;version=1';
export const MAX_CERTIFICATE_BYTES = 256 * 1024;
export const MAX_RECORD_BYTES = 64 * 1024;
const MAX_AUDIT_PATH = 64;
const MAX_CHECKPOINT_CHARS = 16 * 1024;
const MAX_TIMESTAMP_TOKENS = 8;
const MAX_TOKEN_B64_CHARS = 24 * 1024;
const JCS_INT = 2n ** 53n - 1n;

export class FormatError extends Error {}

export const Hex32 = str({ pattern: /^[0-9a-f]{64}$/ });
export const Hex0x32 = str({ pattern: /^0x[0-9a-f]{64}$/ });
export const Address = str({ pattern: /^0x[0-9a-fA-F]{40}$/ });
export const B64 = str({ pattern: /^[A-Za-z0-9_-]+$/, max: 256 });
// ASCII digits, as the SDK's pattern spells them ([0-9], not pydantic's Unicode \d).
const TimestampPattern = str({ pattern: /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$/ });
export const Origin = str({ min: 1, max: 200, pattern: /^[^\p{White_Space}+]+$/u });
const Uint63 = int({ ge: 0n, le: JCS_INT });
// Unix seconds up to the last second of the year 9999, the SDK's `UnixSeconds`.
const UnixSeconds = int({ ge: 0n, le: MAX_SECONDS });

/** A time-stamp token's validator: base64 as `base64.b64decode` reads it (padding and all). */
const TokenText = (value, path, ctx) => {
  const text = str({ pattern: /^[A-Za-z0-9+/]+={0,2}$/, max: MAX_TOKEN_B64_CHARS })(value, path, ctx);
  try {
    b64decodeLenient(text);
  } catch (e) {
    if (e instanceof DecodeError) throw new SchemaError(path, `Value error, not decodable base64: ${e.message}`);
    throw e;
  }
  return text;
};

/**
 * A time field, as the SDK's `Timestamp` reads it: its pattern, and a time `parse_time` can read
 * (the pattern admits month 13, 30 February, hour 24, year 0, which fail at `format`).
 */
export const Timestamp = (value, path, ctx) => {
  const text = TimestampPattern(value, path, ctx);
  try {
    parseTimestampField(text);
  } catch (e) {
    if (e instanceof TimeError) throw new SchemaError(path, `Value error, ${e.message}`);
    throw e;
  }
  return text;
};

const Anchor = model({
  chain_id: [int({ ge: 1n, le: JCS_INT }), true],
  contract: [Address, true],
  batch_id: [int({ ge: 1n, le: JCS_INT }), true],
  tx_hash: [Hex0x32, true],
  block_number: [Uint63, true],
  block_hash: [Hex0x32, true],
  block_timestamp: [UnixSeconds, true],
  block_time: [Timestamp, true],
});

const Issuer = model({
  key_id: [Hex32, true],
  public_key: [B64, true],
  name: [str({ max: 200 }), false],
});

const Signature = model({ alg: [literal('Ed25519'), true], value: [B64, true] });

const common = {
  record: [anyObject(), true],
  leaf_hash: [Hex32, true],
  anchor: [Anchor, true],
  issued_at: [Timestamp, true],
  issuer: [Issuer, true],
  signature: [Signature, true],
};

const CertificateV1 = model({
  ...common,
  media_type: [literal(CERTIFICATE_V1_MEDIA_TYPE), true],
  proof: [
    model({
      hash_alg: [literal('sha256'), true],
      leaf_index: [Uint63, true],
      tree_size: [int({ ge: 1n, le: 2n ** 32n }), true],
      audit_path: [list(Hex32, { max: MAX_AUDIT_PATH }), true],
      root: [Hex32, true],
    }),
    true,
  ],
});

const CertificateV2 = model({
  ...common,
  media_type: [literal(CERTIFICATE_MEDIA_TYPE), true],
  log: [
    model({
      origin: [Origin, true],
      leaf_index: [Uint63, true],
      tree_size: [int({ ge: 1n, le: JCS_INT }), true],
      inclusion_proof: [list(Hex32, { max: MAX_AUDIT_PATH }), true],
      checkpoint: [str({ min: 1, max: MAX_CHECKPOINT_CHARS }), true],
    }),
    true,
  ],
  timestamps: [
    list(model({ token: [TokenText, true] }), {
      max: MAX_TIMESTAMP_TOKENS,
    }),
    true,
  ],
  notice: [nullable(str({ max: 500 })), false],
});

/**
 * @typedef {object} Certificate
 * @property {1 | 2} version
 * @property {any} document the document as read (the signature covers it without `signature`)
 * @property {Set<string>} lone strings holding lone surrogates (see `pyjson`)
 */

/**
 * A certificate of a version this verifier knows; `FormatError` for anything else.
 * @param {Uint8Array | string} data
 * @returns {Certificate}
 */
export function parseCertificate(data) {
  let parsed;
  try {
    parsed = parseJSON(data, { maxBytes: MAX_CERTIFICATE_BYTES, what: 'certificate' });
  } catch (e) {
    if (e instanceof JSONFormatError) throw new FormatError(e.message);
    throw e;
  }
  return certificateFrom(parsed.value, parsed.loneSurrogates);
}

/**
 * @param {any} raw a document read by `pyjson`
 * @param {Set<string>} lone
 * @returns {Certificate}
 */
export function certificateFrom(raw, lone) {
  if (!isObject(raw)) throw new FormatError('a certificate is a JSON object');
  const mediaType = raw.media_type;
  const version = mediaType === CERTIFICATE_MEDIA_TYPE ? 2 : mediaType === CERTIFICATE_V1_MEDIA_TYPE ? 1 : 0;
  if (!version) {
    const shown = typeof mediaType === 'string' ? mediaType.slice(0, 80) : String(mediaType);
    throw new FormatError(`not a certificate of a version this verifier knows (media_type ${JSON.stringify(shown)})`);
  }
  try {
    const document = validate(version === 2 ? CertificateV2 : CertificateV1, raw, { lone, strict: true });
    return { version, document, lone };
  } catch (e) {
    if (e instanceof SchemaError) throw new FormatError(`certificate is malformed: ${e.message}`);
    throw e;
  }
}

/** The JSON the issuer's signature covers: the document without `signature`. @param {Certificate} cert */
export function unsignedBody(cert) {
  const out = Object.create(null);
  for (const [k, v] of Object.entries(cert.document)) if (k !== 'signature') out[k] = v;
  return out;
}
