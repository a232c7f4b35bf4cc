/**
 * The verifier: the steps of `ipnotary.sdk.verify.verify_certificate`, in its order, with its
 * rules, recomputed here from the certificate, the person's own trust policy, the file's
 * fingerprint and (optionally) any node of the chain. Nothing is asked of the service.
 *
 *  1. `format`          the document parses as a certificate (version 2, or version 1) within limits
 *  2. `content`         (given a file) size, SHA-256, SM3 and CIDs equal the record's
 *  3. `leaf_hash`       the record's canonical JSON hashes to the certificate's leaf
 *  4. `checkpoint`      (v2) a C2SP signed note of this log at this size; under a policy: the
 *                       policy's log, signed by a policy log key
 *  5. `inclusion_proof` the proof leads from the leaf to the checkpoint's root (v1: the batch root)
 *  6. `signature`       the issuer's Ed25519 signature covers the whole document
 *  7. `issuer`          (policy) a key the policy lists, valid when the document was issued
 *  8. `witnesses`       (policy) at least `quorum` of the policy's witnesses cosigned
 *  9. `timestamps`      (policy with TSAs) RFC 3161 tokens over the checkpoint from trusted TSAs
 * 10. `anchor_fields`   the anchor is self-consistent and names the policy's registry
 * 11. `chain_id`, `genesis`, `anchor`, `transaction`, `block`, `confirmations` (given a node)
 * 12. `time`            the proven time, from the sources the policy trusts, agrees with the
 *                       record's `received_at` and the certificate's `issued_at`
 *
 * Every message is a key and its parameters (`i18n.js` words them in Chinese and English).
 *
 * @module verify
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { b64decodeLenient, b64urlDecodeStrict, DecodeError, fromHex, toHex, utf8 } from './bytes.js';
import { certificateFrom, FormatError, parseCertificate, unsignedBody } from './certificate.js';
import { ChainReadError } from './chain.js';
import { CanonicalizationError, canonicalJSON } from './jcs.js';
import { leafHash, ProofError, rootFromInclusionProof } from './merkle.js';
import { cosignatureTime, ed25519Valid, logSignatureValid, matches, NoteFormatError, parseCheckpoint, parseNote, SIGNATURE_TYPE_COSIGNATURE_MLDSA44 } from './note.js';
import { chainOf, issuerOf } from './policy.js';
import { fromPlain, isObject } from './pyjson.js';
import { formatTime, fromIsoformat, fromTimestamp, parseTimestampField, seconds, TimeError } from './times.js';
import { TimestampCheckError, verifyToken } from './timestamp.js';

/** The steps, in the order they run. */
export const STEPS = [
  'format',
  'content',
  'leaf_hash',
  'checkpoint',
  'inclusion_proof',
  'signature',
  'issuer',
  'witnesses',
  'timestamps',
  'anchor_fields',
  'chain_id',
  'genesis',
  'anchor',
  'transaction',
  'block',
  'confirmations',
  'time',
];

// Failures that mean the person's policy does not vouch for the certificate (another
// deployment's log or issuer, a key outside its window, a quorum not reached, no independent
// time where required): the document may be intact, and the verdict is "not trusted" at that
// step, as the SDK's NotTrustedError says. Every other failure means something does not match.
const NOT_TRUSTED = new Set([
  'checkpoint.no_log_in_policy',
  'checkpoint.other_log',
  'checkpoint.unsigned',
  'issuer.unknown',
  'issuer.window',
  'witnesses.v1',
  'witnesses.quorum',
  'anchor_fields.registry',
  'time.operator_only',
  'time.tsa_quorum',
  'time.rule_needs_witnesses',
]);

/** A failed step, with the key and parameters of its message. */
export class StepFailure extends Error {
  /** @param {string} step @param {string} key @param {Record<string, unknown>} [params] */
  constructor(step, key, params = {}) {
    super(`${step}: ${key}`);
    this.step = step;
    this.key = key;
    this.params = params;
  }
}

/** The verifier could not check (an unreadable chain node): no verdict on the certificate. */
export class CannotCheck extends Error {
  /** @param {string} step @param {string} detail */
  constructor(step, detail) {
    super(detail);
    this.step = step;
  }
}

/**
 * @typedef {{key: string, params?: Record<string, unknown>}} Message
 * @typedef {{step: string, status: 'passed' | 'failed' | 'untrusted' | 'error' | 'skipped' | 'not_run', message: Message}} StepReport
 * @typedef {{size: number, sha256: string, sm3?: string | null, cid?: string | null, cid_v1?: string | null}} ContentDigests
 */

/** Python's `==` between a record's JSON value and a fingerprint value (`1 == 1.0 == True`). */
function pyEqual(want, got) {
  if (typeof got === 'number' || typeof got === 'bigint') {
    const g = BigInt(got);
    if (typeof want === 'bigint') return want === g;
    if (typeof want === 'boolean') return BigInt(want ? 1 : 0) === g;
    if (typeof want === 'number') return Number.isFinite(want) && Number.isInteger(want) && BigInt(want) === g;
    return false;
  }
  return want === got;
}

/** @param {unknown} v */
const shown = (v) => (typeof v === 'bigint' ? String(v) : typeof v === 'string' ? v : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)));

/**
 * Compare a file's fingerprint with the record's; returns the digests compared.
 * @param {any} record @param {ContentDigests} digests
 */
export function checkContent(record, digests) {
  const content = record.content;
  if (!isObject(content)) throw new StepFailure('content', 'content.no_fingerprint');
  const compared = [];
  for (const name of ['size', 'sha256', 'sm3', 'cid', 'cid_v1']) {
    const want = content[name];
    const got = digests[name];
    if (want === undefined || want === null || got === undefined || got === null) continue;
    if (!pyEqual(want, got)) {
      throw new StepFailure('content', 'content.mismatch', { name, got: shown(got), want: shown(want) });
    }
    compared.push(name);
  }
  return compared;
}

/** The record's digests the submitter only declared (`record.content.declared`). @param {any} record */
export function declaredDigests(record) {
  const content = record.content;
  if (!isObject(content)) return new Set();
  if (Array.isArray(content.declared)) return new Set(content.declared.filter((d) => typeof d === 'string'));
  const none = (v) => v === undefined || v === null;
  if (none(content.cid) && none(content.cid_v1)) return new Set(['sha256', 'size', 'sm3'].filter((k) => !none(content[k])));
  return new Set();
}

/** @param {any} record @param {string[]} compared @returns {Message[]} */
function declaredNotes(record, compared) {
  const declared = declaredDigests(record);
  const matched = compared.filter((d) => declared.has(d));
  const unchecked = [...declared].filter((d) => !compared.includes(d)).sort();
  const notes = [];
  if (matched.length) notes.push({ key: 'note.declared_matched', params: { names: matched.join(', ') } });
  if (unchecked.length) notes.push({ key: 'note.declared_unchecked', params: { names: unchecked.join(', ') } });
  return notes;
}

/** @param {unknown} input */
function readCertificate(input) {
  if (input instanceof Uint8Array || typeof input === 'string') return parseCertificate(input);
  if (input instanceof ArrayBuffer) return parseCertificate(new Uint8Array(input));
  return certificateFrom(fromPlain(input), new Set());
}

/**
 * @param {object} options
 * @param {Uint8Array | string | object} options.certificate
 * @param {import('./policy.js').Policy | null} options.policy
 * @param {ContentDigests | null} [options.content] the file's fingerprint
 * @param {import('./chain.js').RpcChainView | null} [options.chain]
 * @param {bigint} options.now microseconds since the epoch
 */
export async function verifyCertificate(options) {
  /** @type {StepReport[]} */
  const report = [];
  /** @type {string[]} */
  const passed = [];
  /** @type {Message[]} */
  const notes = [];
  const seen = { document: null };
  const finish = (verdict, step, message) => {
    const status = { invalid: 'failed', not_trusted: 'untrusted' }[verdict] ?? 'error';
    report.push({ step, status, message });
    for (const later of STEPS.slice(STEPS.indexOf(step) + 1)) report.push({ step: later, status: 'not_run', message: { key: 'step.not_run' } });
    return { verdict, failed_step: step, message, steps: passed, report, notes, result: null, document: seen.document };
  };
  try {
    return { ...(await run(options, report, passed, notes, seen)), document: seen.document };
  } catch (e) {
    if (e instanceof StepFailure) {
      return finish(NOT_TRUSTED.has(e.key) ? 'not_trusted' : 'invalid', e.step, { key: e.key, params: e.params });
    }
    if (e instanceof CannotCheck) return finish('error', e.step, { key: 'error.chain', params: { step: e.step, detail: e.message } });
    throw e;
  }
}

/**
 * @param {Parameters<typeof verifyCertificate>[0]} options
 * @param {StepReport[]} report @param {string[]} passed @param {Message[]} notes
 * @param {{document: any}} seen receives the document once it parsed (shown even when a later step fails)
 */
async function run({ certificate, policy, content = null, chain = null, now }, report, passed, notes, seen) {
  /** @type {{source: string, time: bigint, detail: Message}[]} */
  const evidence = [];
  const skew = seconds(policy ? policy.max_clock_skew_seconds : 300n);
  const pass = (step, key, params = {}) => {
    passed.push(step);
    report.push({ step, status: 'passed', message: { key, params } });
  };
  const skip = (step, key, params = {}) => report.push({ step, status: 'skipped', message: { key, params } });
  // witnessTime: the quorum's k-th earliest cosignature; tsaTimes: a policy TSA's index to its
  // earliest genTime (each TSA counts once towards a tsa_quorum).
  const state = { witnesses: [], result: null, witnessTime: null, tsaTimes: new Map(), operatorAttested: false };

  let cert;
  try {
    cert = readCertificate(certificate);
  } catch (e) {
    if (e instanceof FormatError) throw new StepFailure('format', 'format.bad', { detail: e.message });
    throw e;
  }
  const doc = cert.document;
  seen.document = toPlain(doc);
  pass('format', 'format.ok', { version: cert.version });

  let digestsChecked = [];
  if (content) {
    digestsChecked = checkContent(doc.record, content);
    pass('content', 'content.ok', { names: digestsChecked.join(', ') || '—' });
    notes.push(...declaredNotes(doc.record, digestsChecked));
  } else {
    skip('content', 'skip.no_file');
  }

  let leaf;
  try {
    const bytes = canonicalJSON(doc.record, cert.lone);
    if (bytes.length > 64 * 1024) {
      throw new StepFailure('leaf_hash', 'leaf_hash.unrepresentable', { detail: `record is ${bytes.length} bytes canonical; the limit is 65536` });
    }
    leaf = leafHash(bytes);
  } catch (e) {
    if (e instanceof CanonicalizationError) throw new StepFailure('leaf_hash', 'leaf_hash.unrepresentable', { detail: e.message });
    throw e;
  }
  if (toHex(leaf) !== doc.leaf_hash) throw new StepFailure('leaf_hash', 'leaf_hash.mismatch');
  pass('leaf_hash', 'leaf_hash.ok', { leaf: doc.leaf_hash });

  let note = null;
  let checkpoint = null;
  let leafIndex;
  let treeSize;
  let root;
  let path;
  if (cert.version === 2) {
    ({ note, checkpoint } = checkCheckpoint(doc, policy));
    const before = policy ? policy.operator_attested_log_size : null;
    state.operatorAttested = before !== null && before !== undefined && checkpoint.size <= before;
    pass('checkpoint', 'checkpoint.ok', { origin: checkpoint.origin, size: String(checkpoint.size) });
    leafIndex = doc.log.leaf_index;
    treeSize = doc.log.tree_size;
    root = checkpoint.root;
    path = doc.log.inclusion_proof;
  } else {
    skip('checkpoint', 'skip.v1');
    leafIndex = doc.proof.leaf_index;
    treeSize = doc.proof.tree_size;
    root = fromHex(doc.proof.root);
    path = doc.proof.audit_path;
  }
  let computed;
  try {
    computed = rootFromInclusionProof(leaf, leafIndex, treeSize, path.map(fromHex));
  } catch (e) {
    if (e instanceof ProofError) throw new StepFailure('inclusion_proof', 'inclusion_proof.invalid', { detail: e.message });
    throw e;
  }
  if (toHex(computed) !== toHex(root)) throw new StepFailure('inclusion_proof', 'inclusion_proof.mismatch');
  pass('inclusion_proof', 'inclusion_proof.ok', { index: String(leafIndex), size: String(treeSize) });

  const issuerKeyId = checkSignature(cert);
  pass('signature', 'signature.ok', { keyId: issuerKeyId });

  // A time by now: the model refused, at `format`, one the calendar does not have.
  const issuedAt = parseTimestampField(doc.issued_at);

  if (policy) {
    const key = issuerOf(policy, issuerKeyId);
    if (!key) throw new StepFailure('issuer', 'issuer.unknown', { keyId: issuerKeyId });
    const { notBefore, notAfter } = key.window;
    if (!((notBefore === null || notBefore <= issuedAt) && (notAfter === null || issuedAt <= notAfter))) {
      throw new StepFailure('issuer', 'issuer.window', {
        keyId: issuerKeyId,
        from: key.not_before ?? '',
        to: key.not_after ?? '',
        issuedAt: formatTime(issuedAt),
      });
    }
    pass('issuer', 'issuer.ok', { name: key.name || issuerKeyId });
    checkWitnesses(cert, policy, note, now, skew, evidence, state, pass, skip, notes);
    if (policy.timestamp_authorities.length) {
      if (cert.version === 2) {
        await checkTimestamps(doc, policy, note, now, skew, evidence, notes, state);
        pass('timestamps', 'timestamps.ok', { counted: evidence.filter((e) => e.source === 'timestamp_authority').length, total: doc.timestamps.length });
      } else {
        skip('timestamps', 'skip.v1');
      }
    } else {
      skip('timestamps', 'skip.no_tsas');
    }
  } else {
    skip('issuer', 'skip.no_policy');
    skip('witnesses', 'skip.no_policy');
    skip('timestamps', 'skip.no_policy');
  }

  const anchor = doc.anchor;
  // Both within the years 1 to 9999: the model refused, at `format`, anything else.
  if (parseTimestampField(anchor.block_time) !== fromTimestamp(anchor.block_timestamp)) {
    throw new StepFailure('anchor_fields', 'anchor_fields.block_time', { blockTime: anchor.block_time, blockTimestamp: String(anchor.block_timestamp) });
  }
  const trusted = policy ? chainOf(policy, anchor.chain_id) : null;
  if (trusted && trusted.registry.toLowerCase() !== anchor.contract.toLowerCase()) {
    throw new StepFailure('anchor_fields', 'anchor_fields.registry', { contract: anchor.contract, chainId: String(anchor.chain_id), trusted: trusted.registry });
  }
  pass('anchor_fields', 'anchor_fields.ok', { chainId: String(anchor.chain_id), block: String(anchor.block_number) });

  let confirmations = null;
  if (chain) {
    confirmations = await verifyOnChain(chain, anchor, trusted, root, treeSize, pass, skip);
    if (trusted) {
      evidence.push({
        source: 'chain',
        time: fromTimestamp(anchor.block_timestamp),
        detail: { key: 'evidence.chain', params: { block: String(anchor.block_number), chainId: String(anchor.chain_id) } },
      });
    }
  } else {
    for (const step of ['chain_id', 'genesis', 'anchor', 'transaction', 'block', 'confirmations']) skip(step, 'skip.no_rpc');
  }

  const { proven, source } = checkTime(doc, policy, evidence, issuedAt, skew, notes, state);
  pass('time', 'time.ok', { time: formatTime(proven), source });
  if (cert.version === 2 && typeof doc.notice === 'string' && doc.notice) notes.push({ key: 'note.issuer_says', params: { notice: doc.notice } });

  return {
    verdict: policy ? 'valid' : 'not_trusted',
    steps: passed,
    report,
    notes,
    result: {
      certificate_version: cert.version,
      record_id: String(doc.record.id ?? ''),
      kind: String(doc.record.kind ?? ''),
      record: toPlain(doc.record),
      leaf_hash: doc.leaf_hash,
      root: toHex(root),
      log_origin: checkpoint ? checkpoint.origin : null,
      tree_size: String(treeSize),
      leaf_index: String(leafIndex),
      proven_time: formatTime(proven),
      time_source: source,
      time_rule: policy ? policy.time_rule : 'earliest',
      time_rule_params: policy ? { k: String(policy.tsa_quorum), n: String(policy.timestamp_authorities.length) } : {},
      time_evidence: evidence.map((e) => ({ source: e.source, time: formatTime(e.time), detail: e.detail })),
      witnesses: state.witnesses,
      chain_id: String(anchor.chain_id),
      contract: anchor.contract,
      batch_id: String(anchor.batch_id),
      block_number: String(anchor.block_number),
      anchored_at: formatTime(fromTimestamp(anchor.block_timestamp)),
      issued_at: doc.issued_at,
      issuer_key_id: issuerKeyId,
      issuer_trusted: policy !== null,
      content_checked: content !== null,
      chain_checked: chain !== null,
      confirmations: confirmations === null ? null : String(confirmations),
      digests_checked: digestsChecked,
    },
  };
}

/** @param {any} doc @param {import('./policy.js').Policy | null} policy */
function checkCheckpoint(doc, policy) {
  let note;
  let checkpoint;
  try {
    note = parseNote(doc.log.checkpoint);
    checkpoint = parseCheckpoint(note.text);
  } catch (e) {
    if (e instanceof NoteFormatError) throw new StepFailure('checkpoint', 'checkpoint.not_note', { detail: e.message });
    throw e;
  }
  if (checkpoint.origin !== doc.log.origin || checkpoint.size !== doc.log.tree_size) {
    throw new StepFailure('checkpoint', 'checkpoint.other', {
      origin: checkpoint.origin,
      size: String(checkpoint.size),
      certOrigin: doc.log.origin,
      certSize: String(doc.log.tree_size),
    });
  }
  if (policy) {
    if (!policy.log) throw new StepFailure('checkpoint', 'checkpoint.no_log_in_policy');
    if (checkpoint.origin !== policy.log.origin) {
      throw new StepFailure('checkpoint', 'checkpoint.other_log', { origin: checkpoint.origin, trusted: policy.log.origin });
    }
    let signed = false;
    for (const key of policy.log.verifiers) {
      for (const sig of note.signatures) {
        if (!matches(key, sig)) continue;
        if (!logSignatureValid(key, note.text, sig)) throw new StepFailure('checkpoint', 'checkpoint.bad_log_signature', { key: key.name });
        signed = true;
      }
    }
    if (!signed) throw new StepFailure('checkpoint', 'checkpoint.unsigned');
  }
  return { note, checkpoint };
}

/** @param {import('./certificate.js').Certificate} cert @returns {string} the issuer's key id */
function checkSignature(cert) {
  const { issuer, signature } = cert.document;
  let publicKey;
  try {
    publicKey = b64urlDecodeStrict(issuer.public_key);
  } catch (e) {
    if (e instanceof DecodeError) throw new StepFailure('signature', 'signature.unusable_key', { detail: e.message });
    throw e;
  }
  if (publicKey.length !== 32) throw new StepFailure('signature', 'signature.unusable_key', { detail: 'an Ed25519 public key is 32 bytes' });
  const keyId = toHex(sha256(publicKey));
  if (keyId !== issuer.key_id) throw new StepFailure('signature', 'signature.key_id');
  let valid = false;
  try {
    const sig = b64urlDecodeStrict(signature.value);
    valid = sig.length === 64 && ed25519Valid(sig, canonicalJSON(unsignedBody(cert), cert.lone), publicKey);
  } catch (e) {
    if (!(e instanceof DecodeError || e instanceof CanonicalizationError)) throw e;
  }
  if (!valid) throw new StepFailure('signature', 'signature.invalid');
  return keyId;
}

function checkWitnesses(cert, policy, note, now, skew, evidence, state, pass, skip, notes) {
  // A checkpoint from before the deployment's witnesses needs none (the policy's history).
  const quorum = state.operatorAttested ? 0 : Number(policy.witnesses.quorum);
  const members = policy.witnesses.members;
  if (!note) {
    if (quorum) throw new StepFailure('witnesses', 'witnesses.v1', { version: cert.version, quorum });
    skip('witnesses', 'skip.v1');
    return;
  }
  /** @type {[bigint, string][]} */
  const times = [];
  /** @type {string[]} ML-DSA-44 cosignatures of time 0: consistency, but no time */
  const untimed = [];
  const counted = new Set(); // a key counts once, whatever names it is listed under
  for (const witness of members) {
    const publicKey = toHex(witness.verifier.publicKey);
    if (counted.has(publicKey)) continue;
    for (const sig of note.signatures) {
      if (!matches(witness.verifier, sig)) continue;
      const stamp = cosignatureTime(witness.verifier, note.text, sig);
      if (stamp === null) throw new StepFailure('witnesses', 'witnesses.bad_cosignature', { name: witness.name });
      if (stamp === 0n && witness.verifier.type === SIGNATURE_TYPE_COSIGNATURE_MLDSA44) {
        // tlog-cosignature: time 0 states no time; the witness still vouches for consistency.
        untimed.push(witness.name);
        counted.add(publicKey);
        break;
      }
      let moment;
      try {
        moment = fromTimestamp(stamp);
      } catch (e) {
        if (!(e instanceof TimeError)) throw e;
        // Beyond the year 9999: in the future by any clock.
        throw new StepFailure('witnesses', 'witnesses.future', { name: witness.name, time: String(stamp) });
      }
      if (moment > now + skew) throw new StepFailure('witnesses', 'witnesses.future', { name: witness.name, time: formatTime(moment) });
      times.push([moment, witness.name]);
      counted.add(publicKey);
      break;
    }
  }
  state.witnesses = [...times.map(([, name]) => name), ...untimed].sort(pyCompare);
  if (state.witnesses.length < quorum) {
    throw new StepFailure('witnesses', 'witnesses.quorum', {
      count: state.witnesses.length,
      have: state.witnesses.join(', ') || '—',
      quorum,
      members: members.length,
    });
  }
  if (quorum && times.length < quorum) {
    notes.push({ key: 'note.witnesses_untimed', params: { count: untimed.length, names: untimed.join(', ') } });
  } else if (quorum) {
    // The k-th earliest: with at most k-1 dishonest witnesses, an honest one had cosigned by then.
    times.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : pyCompare(a[1], b[1])));
    state.witnessTime = times[quorum - 1][0];
    evidence.push({
      source: 'witnesses',
      time: times[quorum - 1][0],
      detail: { key: 'evidence.witnesses', params: { quorum, members: members.length, names: times.slice(0, quorum).map((t) => t[1]).join(', ') } },
    });
  }
  pass('witnesses', 'witnesses.ok', { count: times.length, quorum, names: state.witnesses.join(', ') || '—' });
}

/** Python orders strings by code point; JavaScript by UTF-16 unit. */
function pyCompare(a, b) {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

async function checkTimestamps(doc, policy, note, now, skew, evidence, notes, state) {
  const digest = sha256(utf8(note.text));
  for (const [i, field] of doc.timestamps.entries()) {
    const token = b64decodeLenient(field.token); // decodable: the model refused any other at `format`
    let counted = false;
    let lastReason = '';
    for (const [number, authority] of policy.timestamp_authorities.entries()) {
      let info;
      try {
        info = await verifyToken(token, digest, authority.roots);
      } catch (e) {
        if (e instanceof TimestampCheckError) {
          lastReason = `${e.check}: ${e.message}`;
          continue;
        }
        throw e;
      }
      if (info.genTime > now + skew) throw new StepFailure('timestamps', 'timestamps.future', { name: authority.name, time: formatTime(info.genTime) });
      evidence.push({
        source: 'timestamp_authority',
        time: info.genTime,
        detail: { key: 'evidence.tsa', params: { name: authority.name, tsa: info.tsaName || 'TSA' } },
      });
      const earliest = state.tsaTimes.get(number);
      if (earliest === undefined || info.genTime < earliest) state.tsaTimes.set(number, info.genTime);
      counted = true;
      break;
    }
    if (!counted) notes.push({ key: 'note.token_not_counted', params: { index: i + 1, reason: lastReason } });
  }
}

async function verifyOnChain(chain, anchor, trusted, root, treeSize, pass, skip) {
  const needed = trusted ? trusted.min_confirmations : 1n;
  let current = 'chain_id';
  try {
    const actual = await chain.chainId();
    if (actual !== anchor.chain_id) throw new StepFailure('chain_id', 'chain_id.other', { actual: String(actual), expected: String(anchor.chain_id) });
    pass('chain_id', 'chain_id.ok', { chainId: String(actual) });

    if (trusted) {
      current = 'genesis';
      const genesis = (await chain.genesisHash()).toLowerCase();
      if (genesis !== trusted.genesis_hash.toLowerCase()) {
        throw new StepFailure('genesis', 'genesis.other', { chainId: String(actual), genesis, trusted: trusted.genesis_hash });
      }
      pass('genesis', 'genesis.ok', { genesis });
    } else {
      skip('genesis', 'skip.untrusted_chain', { chainId: String(actual) });
    }

    current = 'anchor';
    const found = await chain.findAnchor(anchor.contract, root);
    if (!found) throw new StepFailure('anchor', 'anchor.not_found', { contract: anchor.contract, root: toHex(root) });
    compareAnchor('anchor', found, anchor, treeSize, 'on chain');
    pass('anchor', 'anchor.ok', { batch: String(found.batchId) });

    current = 'transaction';
    const inTx = await chain.anchorInTransaction(anchor.contract, anchor.tx_hash);
    if (!inTx || toHex(inTx.root) !== toHex(root)) {
      throw new StepFailure('transaction', 'transaction.other', { tx: anchor.tx_hash, root: toHex(root), contract: anchor.contract });
    }
    compareAnchor('transaction', inTx, anchor, treeSize, 'in the transaction');
    pass('transaction', 'transaction.ok', { tx: anchor.tx_hash });

    current = 'block';
    const block = await chain.blockHashAndTime(anchor.block_number);
    if (!block || block[0].toLowerCase() !== anchor.block_hash) {
      throw new StepFailure('block', 'block.other', { number: String(anchor.block_number), hash: anchor.block_hash });
    }
    if (block[1] !== anchor.block_timestamp) {
      throw new StepFailure('block', 'block.time', { chain: String(block[1]), claimed: String(anchor.block_timestamp) });
    }
    pass('block', 'block.ok', { number: String(anchor.block_number) });

    current = 'confirmations';
    const confirmations = (await chain.headBlockNumber()) - anchor.block_number + 1n;
    if (confirmations < needed) throw new StepFailure('confirmations', 'confirmations.few', { count: String(confirmations), needed: String(needed) });
    pass('confirmations', 'confirmations.ok', { count: String(confirmations) });
    return confirmations;
  } catch (e) {
    if (e instanceof ChainReadError) throw new CannotCheck(current, e.message);
    throw e;
  }
}

function compareAnchor(step, found, anchor, treeSize, where) {
  const mismatches = [
    ['batch id', found.batchId, anchor.batch_id],
    ['tree size', found.treeSize, treeSize],
    ['block number', found.blockNumber, anchor.block_number],
    ['timestamp', found.timestamp, anchor.block_timestamp],
  ]
    .filter(([, got, want]) => got !== want)
    .map(([name, got, want]) => `${name} is ${got} ${where} but ${want} in the certificate`);
  if (mismatches.length) throw new StepFailure(step, `${step}.mismatch`, { details: mismatches.join('; ') });
}

/** The proven time under a rule that needs TSAs (and, for one, witnesses) to agree: the SDK's `_by_rule`. */
function byRule(policy, state) {
  const k = Number(policy.tsa_quorum);
  const n = policy.timestamp_authorities.length;
  const stamps = [...state.tsaTimes.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (stamps.length < k) throw new StepFailure('time', 'time.tsa_quorum', { rule: policy.time_rule, k, n, count: stamps.length });
  const tsaTime = stamps[k - 1];
  if (policy.time_rule === 'tsa_quorum') return { proven: tsaTime, source: 'timestamp_authority' };
  if (state.witnessTime === null) throw new StepFailure('time', 'time.rule_needs_witnesses', { rule: policy.time_rule });
  // Both vouch that the record existed by the later of the two times.
  if (tsaTime >= state.witnessTime) return { proven: tsaTime, source: 'timestamp_authority' };
  return { proven: state.witnessTime, source: 'witnesses' };
}

function checkTime(doc, policy, evidence, issuedAt, skew, notes, state) {
  let proven;
  let source;
  if (policy && policy.time_rule !== 'earliest' && !state.operatorAttested) {
    ({ proven, source } = byRule(policy, state));
  } else if (evidence.length) {
    let best = evidence[0];
    for (const e of evidence) if (e.time < best.time) best = e;
    proven = best.time;
    source = best.source;
  } else {
    if (policy && policy.require_independent_time && !state.operatorAttested) throw new StepFailure('time', 'time.operator_only');
    proven = fromTimestamp(doc.anchor.block_timestamp);
    source = 'operator';
    notes.push({ key: 'note.operator_time' });
    if (state.operatorAttested) notes.push({ key: 'note.before_witnesses', params: { size: String(doc.log.tree_size), before: String(policy.operator_attested_log_size) } });
  }
  const received = doc.record.received_at;
  if (typeof received === 'string') {
    let receivedAt;
    try {
      receivedAt = fromIsoformat(received);
    } catch (e) {
      if (e instanceof TimeError) throw new StepFailure('time', 'time.received_not_time', { detail: e.message });
      throw e;
    }
    if (receivedAt > proven + skew) {
      throw new StepFailure('time', 'time.received_after', { received: formatTime(receivedAt), proven: formatTime(proven), source });
    }
  }
  if (proven > issuedAt + skew) {
    throw new StepFailure('time', 'time.issued_before', { issuedAt: formatTime(issuedAt), proven: formatTime(proven), source });
  }
  return { proven, source };
}

/** A document read by `pyjson` in plain JSON types (integers beyond 2^53 as strings). */
export function toPlain(value) {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : String(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
