/**
 * C2SP signed notes (`c2sp.org/signed-note`), tlog checkpoints (`c2sp.org/tlog-checkpoint`) and
 * witness cosignatures (`c2sp.org/tlog-cosignature`: Ed25519 `cosignature/v1`, type 0x04, and
 * ML-DSA-44, type 0x06), read with the same rules as `ipnotary.sdk.note`: what the Python parser
 * refuses, this one refuses.
 *
 * Ed25519 is `@noble/curves` in its strict RFC 8032 mode (no ZIP-215 leniency), as OpenSSL
 * behind the Python verifier is strict. ML-DSA-44 is `@noble/post-quantum` (FIPS 204, pure, empty
 * context), as `cryptography`'s is behind the SDK.
 *
 * @module note
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64decodeStrict, b64encode, concat, DecodeError, utf8 } from './bytes.js';

export const MAX_NOTE_BYTES = 64 * 1024;
export const MAX_SIGNATURES = 100;
export const SIGNATURE_TYPE_ED25519 = 0x01;
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;
export const SIGNATURE_TYPE_COSIGNATURE_MLDSA44 = 0x06;
// The key material each signature type holds, and tlog-cosignature's ML-DSA-44 message label.
const PUBLIC_KEY_SIZE = { [SIGNATURE_TYPE_ED25519]: 32, [SIGNATURE_TYPE_COSIGNATURE_V1]: 32, [SIGNATURE_TYPE_COSIGNATURE_MLDSA44]: 1312 };
const MLDSA44_SIGNATURE_SIZE = 2420;
const SUBTREE_V1_LABEL = utf8('subtree/v1\n\0');
const MAX_INT63 = (1n << 63n) - 1n;
const SIGNATURE_PREFIX = '\u2014 ';
const CONTROL = /[\x00-\x09\x0b-\x1f]/;
// Go's unicode.IsSpace, which the spec's "Unicode spaces" means: category Z and these controls.
const UNICODE_SPACE = /[\t\n\v\f\r\x85\p{Z}]/u;

export class NoteFormatError extends Error {}

/** @param {string} text */
const utf8Length = (text) => utf8(text).length;

/** @param {string} name */
function checkKeyName(name) {
  if (typeof name !== 'string' || !name) throw new NoteFormatError('a key name must be a non-empty string');
  if (name.includes('+') || UNICODE_SPACE.test(name)) throw new NoteFormatError(`key name ${JSON.stringify(name)} contains a space or '+'`);
  if (!name.isWellFormed()) throw new NoteFormatError('key name is not valid UTF-8');
  if (CONTROL.test(name)) throw new NoteFormatError(`key name ${JSON.stringify(name)} contains a control character`);
}

/** @param {string} text @param {string} what */
function b64(text, what) {
  try {
    return b64decodeStrict(text);
  } catch (e) {
    if (e instanceof DecodeError) throw new NoteFormatError(`${what} is not canonical standard base64`);
    throw e;
  }
}

/**
 * `SHA-256(name || 0x0A || type || public key)[:4]` as an unsigned 32-bit integer.
 * @param {string} name @param {number} type @param {Uint8Array} publicKey
 */
export function keyId(name, type, publicKey) {
  checkKeyName(name);
  const d = sha256(concat(utf8(name), Uint8Array.of(0x0a, type), publicKey));
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

/**
 * @typedef {{name: string, keyId: number, signature: Uint8Array}} NoteSignature
 * @typedef {{text: string, signatures: NoteSignature[]}} Note
 * @typedef {{origin: string, size: bigint, root: Uint8Array, extensions: string[]}} Checkpoint
 */

/** @param {string} text */
function checkNoteText(text) {
  if (!text.endsWith('\n')) throw new NoteFormatError('a note text must end with a newline');
  if (!text.isWellFormed()) throw new NoteFormatError('a note text is not valid UTF-8');
  if (utf8Length(text) > MAX_NOTE_BYTES) throw new NoteFormatError(`a note text is at most ${MAX_NOTE_BYTES} bytes`);
  if (CONTROL.test(text)) throw new NoteFormatError('a note must not contain ASCII control characters other than newline');
}

/** @param {NoteSignature} s */
const signatureLine = (s) => {
  const raw = new Uint8Array(4 + s.signature.length);
  new DataView(raw.buffer).setUint32(0, s.keyId);
  raw.set(s.signature, 4);
  return `${SIGNATURE_PREFIX}${s.name} ${b64encode(raw)}\n`;
};

/** @param {string} block */
function parseSignatureBlock(block) {
  if (!block.endsWith('\n')) throw new NoteFormatError('the signature lines must each end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteFormatError(`a note carries at most ${MAX_SIGNATURES} signatures`);
  return lines.map((line, i) => {
    const number = i + 1;
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteFormatError(`signature line ${number} does not start with an em dash and a space`);
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0 || space === rest.length - 1) throw new NoteFormatError(`signature line ${number} has no signature after the key name`);
    const name = rest.slice(0, space);
    const raw = b64(rest.slice(space + 1), `signature line ${number}`);
    if (raw.length < 5) throw new NoteFormatError(`signature line ${number} is shorter than a key id and a signature`);
    checkKeyName(name);
    const id = new DataView(raw.buffer, raw.byteOffset).getUint32(0);
    return { name, keyId: id, signature: raw.slice(4) };
  });
}

/**
 * A signed note; signatures are not checked here.
 * @param {string} message
 * @returns {Note}
 */
export function parseNote(message) {
  if (!message.isWellFormed()) throw new NoteFormatError('a signed note is not valid UTF-8');
  if ([...message].length > MAX_NOTE_BYTES || utf8Length(message) > MAX_NOTE_BYTES) {
    throw new NoteFormatError(`a signed note is over ${MAX_NOTE_BYTES} bytes`);
  }
  if (CONTROL.test(message)) throw new NoteFormatError('a signed note contains an ASCII control character other than newline');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new NoteFormatError('a signed note needs a blank line before its signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (!block) throw new NoteFormatError('a signed note has at least one signature');
  checkNoteText(text);
  const signatures = parseSignatureBlock(block);
  const note = { text, signatures };
  if (utf8Length(text + '\n' + signatures.map(signatureLine).join('')) > MAX_NOTE_BYTES) {
    throw new NoteFormatError(`a note is at most ${MAX_NOTE_BYTES} bytes`);
  }
  return note;
}

/** @param {string} text @param {string} what */
function parseDecimal(text, what) {
  if (!/^(?:0|[1-9][0-9]{0,18})$/.test(text)) throw new NoteFormatError(`${what} ${JSON.stringify(text)} is not a decimal without leading zeroes`);
  const value = BigInt(text);
  if (value > MAX_INT63) throw new NoteFormatError(`${what} ${text} is over 2**63-1`);
  return value;
}

/**
 * The text of a checkpoint note: origin, size, base64 root hash, extension lines.
 * @param {string} text
 * @returns {Checkpoint}
 */
export function parseCheckpoint(text) {
  if (utf8Length(text) > MAX_NOTE_BYTES) throw new NoteFormatError(`a checkpoint text is at most ${MAX_NOTE_BYTES} bytes`);
  if (!text.endsWith('\n')) throw new NoteFormatError('a checkpoint text ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteFormatError('a checkpoint has an origin, a size and a root hash line');
  const [origin, size, rootText, ...extensions] = lines;
  if (!origin) throw new NoteFormatError('a checkpoint origin must be a non-empty string');
  if (CONTROL.test(origin)) throw new NoteFormatError('a checkpoint origin is one line without control characters');
  const root = b64(rootText, 'checkpoint root hash');
  if (root.length !== 32) throw new NoteFormatError(`checkpoint root hash is ${root.length} bytes, not 32`);
  const parsedSize = parseDecimal(size, 'checkpoint size');
  for (const ext of extensions) {
    if (!ext || CONTROL.test(ext)) throw new NoteFormatError('a checkpoint extension is one non-empty line');
  }
  checkNoteText(text);
  return { origin, size: parsedSize, root, extensions };
}

/**
 * A verifier key `<name>+<key id hex>+base64(type || public key)`.
 * @param {string} vkey @param {number} type
 * @returns {{name: string, keyId: number, publicKey: Uint8Array, vkey: string}}
 */
export function parseVkey(vkey, type) {
  if (typeof vkey !== 'string' || vkey.length > 4096) throw new NoteFormatError('a verifier key is a short string');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  const hexId = second < 0 ? '' : vkey.slice(first + 1, second);
  if (first < 0 || second < 0 || !/^[0-9a-fA-F]{8}$/.test(hexId)) {
    throw new NoteFormatError(`verifier key ${JSON.stringify(vkey)} is not <name>+<8 hex digits>+<base64 key>`);
  }
  const name = vkey.slice(0, first);
  checkKeyName(name);
  const material = b64(vkey.slice(second + 1), 'the verifier key');
  if (!material.length) throw new NoteFormatError('the verifier key has no key material');
  if (material[0] !== type) {
    throw new NoteFormatError(`verifier key ${JSON.stringify(name)} has signature type 0x${material[0].toString(16).padStart(2, '0')}, not 0x0${type}`);
  }
  const publicKey = material.slice(1);
  if (publicKey.length !== PUBLIC_KEY_SIZE[type]) throw new NoteFormatError(`a verifier key of type 0x0${type} holds ${PUBLIC_KEY_SIZE[type]} key bytes`);
  const expected = keyId(name, type, publicKey);
  if (parseInt(hexId, 16) !== expected) {
    throw new NoteFormatError(`verifier key ${JSON.stringify(name)} has key id ${hexId}, not ${expected.toString(16).padStart(8, '0')}`);
  }
  return { name, keyId: expected, publicKey, vkey, type };
}

/**
 * A witness's vkey, by the signature type it names: Ed25519 `cosignature/v1` (0x04) or ML-DSA-44
 * (0x06), as the SDK's `cosignature_verifier_from_vkey`.
 * @param {string} vkey
 */
export function parseCosignerVkey(vkey) {
  let type = SIGNATURE_TYPE_COSIGNATURE_V1;
  const second = typeof vkey === 'string' ? vkey.indexOf('+', vkey.indexOf('+') + 1) : -1;
  if (second > 0) {
    try {
      if (b64decodeStrict(vkey.slice(second + 1))[0] === SIGNATURE_TYPE_COSIGNATURE_MLDSA44) type = SIGNATURE_TYPE_COSIGNATURE_MLDSA44;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e; // parseVkey says what is wrong with it
    }
  }
  return parseVkey(vkey, type);
}

/**
 * @param {Uint8Array} signature @param {Uint8Array} message @param {Uint8Array} publicKey
 */
export function ed25519Valid(signature, message, publicKey) {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** @param {{name: string, keyId: number}} key @param {NoteSignature} sig */
export const matches = (key, sig) => sig.name === key.name && sig.keyId === key.keyId;

// Every certificate of a batch carries the same checkpoint: each signature is checked once.
const cache = new Map();
/** @param {string} key @param {() => any} compute */
function cached(key, compute) {
  if (!cache.has(key)) {
    if (cache.size > 4096) cache.clear();
    cache.set(key, compute());
  }
  return cache.get(key);
}

/**
 * Whether `sig` is the log key's valid Ed25519 note signature over `text`.
 * @param {{name: string, keyId: number, publicKey: Uint8Array, vkey: string}} key
 * @param {string} text @param {NoteSignature} sig
 */
export function logSignatureValid(key, text, sig) {
  if (!matches(key, sig) || sig.signature.length !== 64) return false;
  return cached(`n|${key.vkey}|${b64encode(sig.signature)}|${text}`, () => ed25519Valid(sig.signature, utf8(text), key.publicKey));
}

/**
 * The POSIX time a witness cosigned `text` at, or null when `sig` is not its valid
 * `cosignature/v1` over it. A future time is returned as it is: the caller's policy decides.
 * @param {{name: string, keyId: number, publicKey: Uint8Array, vkey: string}} key
 * @param {string} text @param {NoteSignature} sig
 * @returns {bigint | null}
 */
export function cosignatureTime(key, text, sig) {
  if (key.type === SIGNATURE_TYPE_COSIGNATURE_MLDSA44) return mldsaCosignatureTime(key, text, sig);
  if (!matches(key, sig) || sig.signature.length !== 72) return null;
  const view = new DataView(sig.signature.buffer, sig.signature.byteOffset);
  const timestamp = view.getBigUint64(0);
  if (timestamp > MAX_INT63) return null;
  return cached(`c|${key.vkey}|${b64encode(sig.signature)}|${text}`, () => {
    try {
      parseCheckpoint(text);
    } catch {
      return null;
    }
    const message = utf8(`cosignature/v1\ntime ${timestamp}\n${text}`);
    return ed25519Valid(sig.signature.slice(8), message, key.publicKey) ? timestamp : null;
  });
}

/** `opaque value<1..2^8-1>`: one length byte, then the bytes; null beyond its bounds. @param {Uint8Array} value */
const lengthPrefixed = (value) => (value.length >= 1 && value.length <= 255 ? concat(Uint8Array.of(value.length), value) : null);

/** @param {bigint} n */
const u64 = (n) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
};

/**
 * An ML-DSA-44 cosignature's time (0: the witness states none), or null: tlog-cosignature's
 * `cosigned_message` (label, cosigner name, timestamp, origin, start 0, end = size, root), as
 * the SDK's `MlDsaCosignatureVerifier.verify`. Extension lines are not signed.
 */
function mldsaCosignatureTime(key, text, sig) {
  if (!matches(key, sig) || sig.signature.length !== 8 + MLDSA44_SIGNATURE_SIZE) return null;
  const timestamp = new DataView(sig.signature.buffer, sig.signature.byteOffset).getBigUint64(0);
  if (timestamp > MAX_INT63) return null;
  return cached(`m|${key.vkey}|${b64encode(sig.signature)}|${text}`, () => {
    let checkpoint;
    try {
      checkpoint = parseCheckpoint(text);
    } catch {
      return null;
    }
    const name = lengthPrefixed(utf8(key.name));
    const origin = lengthPrefixed(utf8(checkpoint.origin));
    if (!name || !origin) return null;
    const message = concat(SUBTREE_V1_LABEL, name, u64(timestamp), origin, u64(0n), u64(checkpoint.size), checkpoint.root);
    try {
      return ml_dsa44.verify(sig.signature.slice(8), message, key.publicKey) ? timestamp : null;
    } catch {
      return null;
    }
  });
}
