/**
 * The verifier's trust policy (`ipnotary.sdk.policy.TrustPolicy`, JSON): the log and its keys,
 * the issuer keys with their validity windows, the witnesses and their quorum, the TSA roots and
 * the chains trusted for time. The person verifying brings it; nothing here comes from a server.
 *
 * @module policy
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { b64urlDecodeStrict, DecodeError, toHex } from './bytes.js';
import { Address, B64, Hex0x32, Origin, Timestamp } from './certificate.js';
import { NoteFormatError, parseCosignerVkey, parseVkey, SIGNATURE_TYPE_ED25519 } from './note.js';
import { JSONFormatError, parseJSON } from './pyjson.js';
import { bool, int, list, literal, model, nullable, SchemaError, str, validate } from './schema.js';
import { parseCertificatePem } from './timestamp.js';
import { parseTimestampField, TimeError } from './times.js';

export const POLICY_MEDIA_TYPE = 'application/vnd.ipnotary.trust-policy+json;version=1';
// The SDK's TimeRule: which trusted sources decide the proven time.
export const TIME_RULES = ['earliest', 'tsa_quorum', 'witnesses_and_tsa'];
const MAX_POLICY_BYTES = 512 * 1024;

export class PolicyError extends Error {}

/**
 * An Ed25519 issuer key as base64url; refuses a value that is not 32 canonically encoded bytes.
 * @param {string} text
 */
export function issuerPublicKey(text) {
  let raw;
  try {
    raw = b64urlDecodeStrict(text);
  } catch (e) {
    if (e instanceof DecodeError) throw new PolicyError(e.message);
    throw e;
  }
  if (raw.length !== 32) throw new PolicyError('an Ed25519 public key is 32 bytes');
  return raw;
}

const VKey = str({ min: 10, max: 400 });
const Name = str({ min: 1, max: 200 });

/** @param {() => void} check turn a parse error of a key into pydantic's "Value error" */
function valueError(path, check) {
  try {
    return check();
  } catch (e) {
    if (e instanceof NoteFormatError || e instanceof PolicyError || e instanceof DecodeError || e instanceof TimeError) {
      throw new SchemaError(path, `Value error, ${e.message}`);
    }
    throw e;
  }
}

const LogPolicy = model(
  { origin: [Origin, true], keys: [list(VKey, { min: 1, max: 8 }), true] },
  (log, path) => {
    log.verifiers = log.keys.map((vkey) =>
      valueError(path, () => {
        const key = parseVkey(vkey, SIGNATURE_TYPE_ED25519);
        if (key.name !== log.origin) {
          throw new PolicyError(`log key ${JSON.stringify(key.name)} is not named as the origin ${JSON.stringify(log.origin)}`);
        }
        return key;
      }),
    );
  },
);

const IssuerKey = model(
  {
    public_key: [B64, true],
    name: [str({ max: 200 }), false],
    not_before: [nullable(Timestamp), false],
    not_after: [nullable(Timestamp), false],
  },
  (key, path) => {
    const raw = valueError(path, () => issuerPublicKey(key.public_key));
    key.key_id = toHex(sha256(raw));
    key.window = valueError(path, () => {
      const nb = key.not_before ? parseTimestampField(key.not_before) : null;
      const na = key.not_after ? parseTimestampField(key.not_after) : null;
      if (nb !== null && na !== null && na < nb) throw new PolicyError('not_after is before not_before');
      return { notBefore: nb, notAfter: na };
    });
  },
);

// Notary offices' keys, trusted for notarial attestations (`ipnotary.sdk.attestations`), which
// this page does not verify: read, with the rules of their model, and not used.
const NotaryKey = model(
  {
    office: [Name, true],
    public_key: [B64, true],
    name: [str({ max: 200 }), false],
    not_before: [nullable(Timestamp), false],
    not_after: [nullable(Timestamp), false],
  },
  (key, path) => {
    valueError(path, () => issuerPublicKey(key.public_key));
    valueError(path, () => {
      const nb = key.not_before ? parseTimestampField(key.not_before) : null;
      const na = key.not_after ? parseTimestampField(key.not_after) : null;
      if (nb !== null && na !== null && na < nb) throw new PolicyError('not_after is before not_before');
    });
  },
);

// A witness's vkey may hold an ML-DSA-44 key (1312 bytes), as the SDK's WitnessVKey allows.
const Witness = model({ name: [Name, true], key: [str({ min: 10, max: 2400 }), true] });

const WitnessPolicy = model(
  { quorum: [int({ ge: 0n, le: 32n }), false], members: [list(Witness, { max: 32 }), false] },
  (w, path) => {
    w.quorum = w.quorum ?? 0n;
    w.members = w.members ?? [];
    if (w.quorum > BigInt(w.members.length)) {
      throw new SchemaError(path, `Value error, a quorum of ${w.quorum} needs at least that many witnesses, ${w.members.length} listed`);
    }
    for (const m of w.members) m.verifier = valueError(path, () => parseCosignerVkey(m.key));
    // By public key, as the SDK: the key id derives from the name, which an Ed25519 cosignature
    // does not sign, so one key under two names would count one witness twice.
    const seen = new Map();
    for (const m of w.members) {
      const key = toHex(m.verifier.publicKey);
      if (seen.has(key)) {
        throw new SchemaError(path, `Value error, witnesses ${JSON.stringify(seen.get(key))} and ${JSON.stringify(m.name)} have the same public key: one key is one witness, and counts once`);
      }
      seen.set(key, m.name);
    }
  },
);

const TimestampAuthority = model(
  { name: [Name, true], certificates: [list(str({ min: 50, max: 16384 }), { min: 1, max: 8 }), true] },
  (tsa, path) => {
    tsa.roots = tsa.certificates.map((pem) =>
      valueError(path, () => {
        try {
          return parseCertificatePem(pem);
        } catch (e) {
          throw new PolicyError(`timestamp authority ${JSON.stringify(tsa.name)}: not a PEM certificate: ${e.message}`);
        }
      }),
    );
  },
);

// The certificates whose PAdES signatures on PDF certificates the person trusts. The page reads
// the certificate a PDF carries and verifies that; the PDF's own signature is for PDF readers and
// for `ipnotary.sdk.pdf`, so these are read (and must be certificates) but not used here.
const DocumentSigner = model(
  { name: [Name, true], certificate: [str({ min: 50, max: 16384 }), true] },
  (signer, path) => {
    valueError(path, () => {
      try {
        parseCertificatePem(signer.certificate);
      } catch (e) {
        throw new PolicyError(`document signer ${JSON.stringify(signer.name)}: not a PEM certificate: ${e.message}`);
      }
    });
  },
);

const TrustedChain = model({
  chain_id: [int({ ge: 1n, le: 2n ** 53n - 1n }), true],
  genesis_hash: [Hex0x32, true],
  registry: [Address, true],
  min_confirmations: [int({ ge: 1n, le: 100000n }), false],
});

/** @type {import('./schema.js').Validator} */
const timeRule = (value, path) => {
  if (!TIME_RULES.includes(value)) throw new SchemaError(path, `Input should be ${TIME_RULES.map((r) => `'${r}'`).join(', ')}`);
  return value;
};

const TrustPolicy = model(
  {
    media_type: [literal(POLICY_MEDIA_TYPE), false],
    name: [str({ max: 200 }), false],
    log: [nullable(LogPolicy), false],
    issuers: [list(IssuerKey, { min: 1, max: 32 }), true],
    witnesses: [WitnessPolicy, false],
    timestamp_authorities: [list(TimestampAuthority, { max: 16 }), false],
    chains: [list(TrustedChain, { max: 16 }), false],
    document_signers: [list(DocumentSigner, { max: 16 }), false],
    notaries: [list(NotaryKey, { max: 64 }), false],
    require_independent_time: [bool(), false],
    max_clock_skew_seconds: [int({ ge: 0n, le: 86400n }), false],
    notice: [nullable(str({ max: 1000 })), false],
    time_rule: [timeRule, false],
    tsa_quorum: [int({ ge: 1n, le: 16n }), false],
    // The log's first N entries were certified before the deployment had witnesses or TSAs: a
    // certificate on a checkpoint of at most N entries rests on the operator alone (the SDK's rule).
    operator_attested_log_size: [nullable(int({ ge: 1n, le: 2n ** 63n - 1n })), false],
  },
  (p, path) => {
    p.witnesses = p.witnesses ?? { quorum: 0n, members: [] };
    if (p.witnesses.quorum && !p.log) throw new SchemaError(path, 'Value error, a witness quorum needs the log it witnesses');
    p.operator_attested_log_size = p.operator_attested_log_size ?? null;
    if (p.operator_attested_log_size !== null && !p.log) throw new SchemaError(path, 'Value error, operator_attested_log_size needs the log it counts entries of');
    p.time_rule = p.time_rule ?? 'earliest';
    p.tsa_quorum = p.tsa_quorum ?? 1n;
    const tsas = (p.timestamp_authorities ?? []).length;
    if (p.time_rule !== 'earliest' && p.tsa_quorum > BigInt(tsas)) {
      throw new SchemaError(path, `Value error, time rule ${p.time_rule} needs time-stamps from ${p.tsa_quorum} TSA(s), and the policy lists ${tsas}`);
    }
    if (p.time_rule === 'witnesses_and_tsa' && !p.witnesses.quorum) {
      throw new SchemaError(path, 'Value error, time rule witnesses_and_tsa needs a witness quorum');
    }
    // A TSA counts once towards tsa_quorum: one root under two names would be two.
    const roots = (p.timestamp_authorities ?? []).flatMap((a) => a.roots.map((r) => toHex(r.der)));
    if (new Set(roots).size !== roots.length) throw new SchemaError(path, 'Value error, a TSA root certificate is listed twice; each TSA counts once');
  },
);

/**
 * @typedef {object} Policy
 * @property {string} name
 * @property {{origin: string, keys: string[], verifiers: ReturnType<typeof parseVkey>[]} | null} log
 * @property {{public_key: string, name?: string, key_id: string, window: {notBefore: bigint | null, notAfter: bigint | null}}[]} issuers
 * @property {{quorum: bigint, members: {name: string, key: string, verifier: ReturnType<typeof parseVkey>}[]}} witnesses
 * @property {{name: string, roots: import('pkijs').Certificate[]}[]} timestamp_authorities
 * @property {{chain_id: bigint, genesis_hash: string, registry: string, min_confirmations: bigint}[]} chains
 * @property {boolean} require_independent_time
 * @property {bigint} max_clock_skew_seconds
 * @property {string | null} notice
 * @property {'earliest' | 'tsa_quorum' | 'witnesses_and_tsa'} time_rule
 * @property {bigint} tsa_quorum
 * @property {bigint | null} operator_attested_log_size
 */

/**
 * Read a trust policy (JSON bytes or text); `PolicyError` says what is wrong with it.
 * @param {Uint8Array | string} data
 * @returns {Policy}
 */
export function parsePolicy(data) {
  let parsed;
  try {
    parsed = parseJSON(data, { maxBytes: MAX_POLICY_BYTES, what: 'trust policy' });
  } catch (e) {
    if (e instanceof JSONFormatError) throw new PolicyError(e.message);
    throw e;
  }
  let p;
  try {
    p = validate(TrustPolicy, parsed.value, { lone: parsed.loneSurrogates, strict: false });
  } catch (e) {
    if (e instanceof SchemaError) throw new PolicyError(`trust policy is malformed: ${e.message}`);
    throw e;
  }
  return {
    name: p.name ?? '',
    log: p.log ?? null,
    issuers: p.issuers,
    witnesses: p.witnesses,
    timestamp_authorities: p.timestamp_authorities ?? [],
    chains: (p.chains ?? []).map((c) => ({ ...c, min_confirmations: c.min_confirmations ?? 1n })),
    require_independent_time: p.require_independent_time ?? true,
    max_clock_skew_seconds: p.max_clock_skew_seconds ?? 300n,
    notice: p.notice ?? null,
    time_rule: p.time_rule,
    tsa_quorum: p.tsa_quorum,
    operator_attested_log_size: p.operator_attested_log_size,
  };
}

/** @param {Policy} policy @param {string} keyIdHex */
export const issuerOf = (policy, keyIdHex) => policy.issuers.find((k) => k.key_id === keyIdHex) ?? null;

/** @param {Policy} policy @param {bigint} chainId */
export const chainOf = (policy, chainId) => policy.chains.find((c) => c.chain_id === chainId) ?? null;
