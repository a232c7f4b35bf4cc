/**
 * RFC 3161 time-stamp tokens, verified with `pkijs` + `asn1js` against the policy's TSA roots.
 *
 * The checks and their order are those of `ipnotary.sdk.timestamp.verify_token` (which leaves
 * the CMS signature and the chain to OpenSSL through rfc3161-client):
 *
 * 1. `format`       the token is strict DER: a CMS SignedData with one SignerInfo over a
 *                   version 1 TSTInfo, its signer's certificate embedded
 * 2. `imprint`      the messageImprint is SHA-256 of the checkpoint's note text
 * 3. `certificate_chain`  the signer chains to a policy root through the token's certificates,
 *                   every certificate valid at the token's genTime (OpenSSL's rules: trusted
 *                   issuers first, CA flags, key usage, key identifiers, no unknown critical
 *                   extension)
 * 4. `signature`    the signed attributes' messageDigest is the TSTInfo's digest, and the
 *                   signer's key signed those attributes
 * 5. `tsa_certificate`  the signer's extended key usage is timeStamping alone, critical, its
 *                   key usage (if any) digitalSignature and/or nonRepudiation; the TSTInfo's
 *                   `tsa` name, if present, is the signer's
 * 6. `signing_certificate`  the signed ESS signingCertificate(V2) attribute names the signer's
 *                   certificate by hash (and by issuer and serial, if it says them)
 *
 * Revocation is not checked, as the Python verifier does not check it.
 *
 * @module timestamp
 */

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { equalBytes, toHex } from './bytes.js';

export const MAX_TOKEN_BYTES = 64 * 1024;
const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  timeStamping: '1.3.6.1.5.5.7.3.8',
};
// Extensions OpenSSL understands: any other one marked critical makes a certificate unusable.
const SUPPORTED_EXTENSIONS = new Set([
  '2.16.840.1.113730.1.1', // netscape cert type
  OID.keyUsage,
  OID.subjectAltName,
  OID.basicConstraints,
  '2.5.29.32', // certificate policies
  OID.extKeyUsage,
  '2.5.29.36', // policy constraints
  '1.3.6.1.5.5.7.1.14', // proxy certificate info
  '2.5.29.30', // name constraints
  '2.5.29.33', // policy mappings
  '2.5.29.54', // inhibit any policy
  '1.3.6.1.5.5.7.1.7', // IP address blocks
  '1.3.6.1.5.5.7.1.8', // AS identifiers
]);
// OpenSSL's extended key usage flags: the signer must have the time-stamping one and no other.
const EKU_FLAGS = new Map([
  ['1.3.6.1.5.5.7.3.1', 'ssl_server'],
  ['1.3.6.1.5.5.7.3.2', 'ssl_client'],
  ['1.3.6.1.5.5.7.3.4', 'smime'],
  ['1.3.6.1.5.5.7.3.3', 'code_sign'],
  ['2.16.840.1.113730.4.1', 'sgc'],
  ['1.3.6.1.4.1.311.10.3.3', 'sgc'],
  ['1.3.6.1.5.5.7.3.9', 'ocsp_sign'],
  [OID.timeStamping, 'timestamp'],
  ['1.3.6.1.5.5.7.3.10', 'dvcs'],
  ['2.5.29.37.0', 'any'],
]);
const ESS_HASHES = new Map([
  ['1.3.14.3.2.26', sha1],
  [OID.sha256, sha256],
  ['2.16.840.1.101.3.4.2.2', sha384],
  ['2.16.840.1.101.3.4.2.3', sha512],
]);
const WEBCRYPTO_HASH = new Map([
  ['1.3.14.3.2.26', 'SHA-1'],
  [OID.sha256, 'SHA-256'],
  ['2.16.840.1.101.3.4.2.2', 'SHA-384'],
  ['2.16.840.1.101.3.4.2.3', 'SHA-512'],
]);
// Key usage bits (RFC 5280 section 4.2.1.3), as numbered in the BIT STRING.
const KU = { digitalSignature: 0, nonRepudiation: 1, keyCertSign: 5 };

/** One of the checks above failed; `check` names it. */
export class TimestampCheckError extends Error {
  /** @param {string} check @param {string} message */
  constructor(check, message) {
    super(message);
    this.check = check;
  }
}

const fail = (check, message) => new TimestampCheckError(check, message);

// -- strict DER -----------------------------------------------------------------------------------

/**
 * Refuse anything that is BER but not DER (rfc3161-client parses tokens as strict DER): definite
 * minimal lengths, minimal tags and integers, booleans 00/FF, primitive strings, no trailing data.
 * @param {Uint8Array} b @param {number} [start] @param {number} [end]
 */
export function checkDer(b, start = 0, end = b.length, depth = 0) {
  if (depth > 64) throw new Error('nested too deeply');
  let i = start;
  while (i < end) {
    const first = b[i++];
    let tag = first & 0x1f;
    if (tag === 0x1f) {
      if (b[i] === 0x80) throw new Error('a tag with a leading zero');
      tag = 0;
      let more = true;
      while (more) {
        if (i >= end) throw new Error('a truncated tag');
        more = (b[i] & 0x80) !== 0;
        tag = tag * 128 + (b[i++] & 0x7f);
      }
      if (tag < 31) throw new Error('a long-form tag below 31');
    }
    if (i >= end) throw new Error('a truncated length');
    let length = b[i++];
    if (length === 0x80) throw new Error('an indefinite length');
    if (length > 0x80) {
      const n = length & 0x7f;
      if (n > 4 || i + n > end) throw new Error('a length that cannot be');
      if (b[i] === 0) throw new Error('a length with a leading zero');
      length = 0;
      for (let k = 0; k < n; k++) length = length * 256 + b[i++];
      if (length < 0x80) throw new Error('a long-form length below 128');
    }
    if (i + length > end) throw new Error('a value running past its container');
    const constructed = (first & 0x20) !== 0;
    const universal = (first & 0xc0) === 0;
    if (constructed) {
      if (universal && tag !== 16 && tag !== 17 && tag !== 8 && tag !== 11 && tag !== 29) {
        throw new Error(`a constructed universal type ${tag}`);
      }
      checkDer(b, i, i + length, depth + 1);
    } else if (universal) {
      const v = b.subarray(i, i + length);
      if (tag === 16 || tag === 17) throw new Error('a primitive SEQUENCE or SET');
      if (tag === 1 && (length !== 1 || (v[0] !== 0 && v[0] !== 0xff))) throw new Error('a BOOLEAN that is not 00 or FF');
      if ((tag === 2 || tag === 10) && (length === 0 || (length > 1 && ((v[0] === 0 && v[1] < 0x80) || (v[0] === 0xff && v[1] >= 0x80))))) {
        throw new Error('an INTEGER that is not minimal');
      }
      if (tag === 3 && (length === 0 || v[0] > 7 || (length === 1 && v[0] !== 0))) throw new Error('a malformed BIT STRING');
      if (tag === 5 && length !== 0) throw new Error('a NULL with content');
      if (tag === 6 && (length === 0 || (v[length - 1] & 0x80) !== 0)) throw new Error('a malformed OBJECT IDENTIFIER');
    }
    i += length;
  }
  if (i !== end) throw new Error('trailing data');
}

// Algorithms whose parameters are fixed (absent or NULL) in the strict parser rfc3161-client
// reads tokens with: anything else there makes the token unreadable.
const NULL_PARAMETERS = new Set([
  '1.3.14.3.2.26',
  '2.16.840.1.101.3.4.2.4',
  OID.sha256,
  '2.16.840.1.101.3.4.2.2',
  '2.16.840.1.101.3.4.2.3',
  '1.2.840.10045.4.3.1',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.5',
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  '1.2.840.113549.1.1.14',
]);

/** @param {pkijs.AlgorithmIdentifier} algorithm @param {string} where */
function checkParameters(algorithm, where) {
  if (!NULL_PARAMETERS.has(algorithm.algorithmId) || algorithm.algorithmParams === undefined) return;
  if (!(algorithm.algorithmParams instanceof asn1js.Null)) {
    throw new Error(`the parameters of ${where} (${algorithm.algorithmId}) are neither absent nor NULL`);
  }
}

// -- parsing ---------------------------------------------------------------------------------------

/** @param {Uint8Array} bytes */
function ber(bytes) {
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1) throw new Error(parsed.result.error || 'not BER');
  return parsed.result;
}

/** @param {asn1js.AsnType} block */
const raw = (block) => new Uint8Array(block.valueBeforeDecodeView);

/**
 * A certificate from PEM (the policy's roots) or DER.
 * @param {string} pem
 * @returns {pkijs.Certificate}
 */
export function parseCertificatePem(pem) {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no PEM certificate');
  const text = m[1].replace(/\s+/g, '');
  const bin = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return parseCertificateDer(bin);
}

/** @param {Uint8Array} der */
export function parseCertificateDer(der) {
  checkDer(der);
  const cert = new pkijs.Certificate({ schema: ber(der) });
  cert.der = der;
  return cert;
}

/** @param {string} text GeneralizedTime as DER writes it */
function generalizedTime(text) {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(?:\.([0-9]{1,6}))?Z$/.exec(text);
  if (!m || (m[7] && m[7].endsWith('0'))) throw new Error(`genTime ${JSON.stringify(text)} is not a DER GeneralizedTime`);
  const [, y, mo, d, h, mi, s, f] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(ms);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59) {
    throw new Error(`genTime ${text} is not a date`);
  }
  return BigInt(ms) * 1000n + BigInt(Number((f ?? '').padEnd(6, '0')));
}

/**
 * Everything `_read` establishes about a token, without trusting it.
 * @param {Uint8Array} token
 */
function readToken(token) {
  if (!token.length) throw fail('format', 'time-stamp token is empty');
  if (token.length > MAX_TOKEN_BYTES) throw fail('format', `time-stamp token is ${token.length} bytes, over the limit of ${MAX_TOKEN_BYTES}`);
  try {
    checkDer(token);
  } catch (e) {
    throw fail('format', `time-stamp token is not valid DER: ${e.message}`);
  }
  try {
    const contentInfo = new pkijs.ContentInfo({ schema: ber(token) });
    if (contentInfo.contentType !== OID.signedData) throw fail('format', 'time-stamp token is not signed data');
    const signedBlock = contentInfo.content;
    const signed = new pkijs.SignedData({ schema: signedBlock });
    const encap = signed.encapContentInfo;
    if (encap.eContentType !== OID.tstInfo) throw fail('format', 'time-stamp token does not sign a TSTInfo');
    if (!encap.eContent) throw fail('format', 'time-stamp token has no TSTInfo (detached content)');
    const tstDer = new Uint8Array(encap.eContent.valueBlock.valueHexView);
    checkDer(tstDer);
    const tst = new pkijs.TSTInfo({ schema: ber(tstDer) });
    if (tst.version !== 1) throw fail('format', `time-stamp token: TSTInfo version ${tst.version}, not 1`);
    if (signed.signerInfos.length !== 1) throw fail('format', `time-stamp token has ${signed.signerInfos.length} signatures, not exactly one`);
    const signerInfo = signed.signerInfos[0];
    // The certificates as embedded (their exact bytes: the ESS hash is over them).
    const parts = signedBlock.valueBlock.value;
    const certSet = parts.find((p) => p.idBlock.tagClass === 3 && p.idBlock.tagNumber === 0);
    const certificates = [];
    for (const element of certSet ? certSet.valueBlock.value : []) {
      if (element.idBlock.tagClass !== 1 || element.idBlock.tagNumber !== 16) {
        throw fail('format', 'time-stamp token carries a certificate of an unknown type');
      }
      certificates.push(parseCertificateDer(raw(element)));
    }
    for (const a of signed.digestAlgorithms) checkParameters(a, 'a digest algorithm');
    checkParameters(signerInfo.digestAlgorithm, "the signer's digest algorithm");
    checkParameters(signerInfo.signatureAlgorithm, "the signer's signature algorithm");
    checkParameters(tst.messageImprint.hashAlgorithm, 'the imprint');
    for (const c of certificates) checkParameters(c.signatureAlgorithm, "a certificate's signature");
    const signer = findSigner(certificates, signerInfo);
    const tstBlock = ber(tstDer);
    const genTimeBlock = tstBlock.valueBlock.value.find((v) => v.idBlock.tagClass === 1 && v.idBlock.tagNumber === 24);
    const genTime = generalizedTime(String.fromCharCode(...new Uint8Array(genTimeBlock.valueBlock.valueHexView)));
    const signerInfoBlock = parts[parts.length - 1].valueBlock.value[0];
    const signedAttrsBlock = signerInfoBlock.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0);
    return { signed, signerInfo, tst, tstDer, certificates, signer, genTime, signedAttrsBlock };
  } catch (e) {
    if (e instanceof TimestampCheckError) throw e;
    throw fail('format', `time-stamp token is malformed: ${e.message}`);
  }
}

/** @param {pkijs.Certificate[]} certificates @param {pkijs.SignerInfo} signerInfo */
function findSigner(certificates, signerInfo) {
  const sid = signerInfo.sid;
  for (const cert of certificates) {
    if (sid instanceof pkijs.IssuerAndSerialNumber) {
      if (sid.serialNumber.isEqual(cert.serialNumber) && sid.issuer.isEqual(cert.issuer)) return cert;
    } else {
      const ski = extension(cert, OID.subjectKeyIdentifier);
      const wanted = new Uint8Array(sid.valueBlock.valueHexView ?? sid.valueBlock.value?.[0]?.valueBlock?.valueHexView ?? []);
      if (ski && equalBytes(new Uint8Array(ber(ski.extnValue.valueBlock.valueHexView).valueBlock.valueHexView), wanted)) return cert;
    }
  }
  return null;
}

/** @param {pkijs.Certificate} cert @param {string} oid */
function extension(cert, oid) {
  return (cert.extensions ?? []).find((e) => e.extnID === oid) ?? null;
}

/** @param {pkijs.Certificate} cert @returns {Set<number> | null} */
function keyUsage(cert) {
  const ext = extension(cert, OID.keyUsage);
  if (!ext) return null;
  const bits = ber(new Uint8Array(ext.extnValue.valueBlock.valueHexView));
  const view = new Uint8Array(bits.valueBlock.valueHexView);
  const set = new Set();
  for (let i = 0; i < view.length * 8; i++) if (view[i >> 3] & (0x80 >> (i & 7))) set.add(i);
  return set;
}

/** @param {pkijs.Certificate} cert */
function basicConstraints(cert) {
  const ext = extension(cert, OID.basicConstraints);
  if (!ext) return null;
  const seq = ber(new Uint8Array(ext.extnValue.valueBlock.valueHexView));
  const values = seq.valueBlock.value;
  const ca = values.length > 0 && values[0] instanceof asn1js.Boolean ? values[0].valueBlock.value : false;
  const pathLen = values.find((v) => v instanceof asn1js.Integer);
  return { ca, pathLen: pathLen ? pathLen.valueBlock.valueDec : null };
}

/** @param {pkijs.Certificate} cert */
function subjectKeyId(cert) {
  const ext = extension(cert, OID.subjectKeyIdentifier);
  return ext ? new Uint8Array(ber(new Uint8Array(ext.extnValue.valueBlock.valueHexView)).valueBlock.valueHexView) : null;
}

/** @param {pkijs.Certificate} cert */
function authorityKeyId(cert) {
  const ext = extension(cert, OID.authorityKeyIdentifier);
  if (!ext) return null;
  const seq = ber(new Uint8Array(ext.extnValue.valueBlock.valueHexView));
  const keyId = seq.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 0);
  return keyId ? new Uint8Array(keyId.valueBlock.valueHexView) : null;
}

const selfIssued = (cert) => cert.subject.isEqual(cert.issuer);

/** Whether `issuer` may have issued `cert` (OpenSSL's X509_check_issued, without the signature). */
function likelyIssued(issuer, cert) {
  if (!issuer.subject.isEqual(cert.issuer)) return false;
  const akid = authorityKeyId(cert);
  const skid = subjectKeyId(issuer);
  if (akid && skid && !equalBytes(akid, skid)) return false;
  return true;
}

/** @param {pkijs.Certificate} cert @param {bigint} at */
function validAt(cert, at) {
  const ms = Number(at / 1000n);
  return cert.notBefore.value.getTime() <= ms && ms <= cert.notAfter.value.getTime();
}

/** @param {pkijs.Certificate} cert */
function checkExtensions(cert) {
  const seen = new Set();
  for (const ext of cert.extensions ?? []) {
    if (seen.has(ext.extnID)) throw fail('certificate_chain', `a certificate has the extension ${ext.extnID} twice`);
    seen.add(ext.extnID);
    if (ext.critical && !SUPPORTED_EXTENSIONS.has(ext.extnID)) {
      throw fail('certificate_chain', `a certificate has an unhandled critical extension (${ext.extnID})`);
    }
  }
}

/**
 * The chain from `signer` to one of `roots`, checked at `at` the way OpenSSL checks it.
 * @param {pkijs.Certificate} signer @param {pkijs.Certificate[]} untrusted @param {pkijs.Certificate[]} roots @param {bigint} at
 */
async function checkChain(signer, untrusted, roots, at) {
  const chain = [signer];
  let anchored = roots.some((r) => equalBytes(r.der, signer.der));
  while (!anchored) {
    const current = chain[chain.length - 1];
    if (chain.length > 10) throw fail('certificate_chain', 'the certificate chain is too long');
    const trusted = roots.find((r) => likelyIssued(r, current));
    if (trusted) {
      chain.push(trusted);
      anchored = true;
      break;
    }
    if (selfIssued(current)) {
      throw fail('certificate_chain', 'the TSA certificate does not validate against the trusted roots (self-signed certificate in certificate chain)');
    }
    const next = untrusted.find((c) => c !== current && !chain.includes(c) && likelyIssued(c, current));
    if (!next) {
      throw fail('certificate_chain', 'the TSA certificate does not validate against the trusted roots (unable to get local issuer certificate)');
    }
    chain.push(next);
  }
  for (const [i, cert] of chain.entries()) {
    checkExtensions(cert);
    if (!validAt(cert, at)) {
      const early = Number(at / 1000n) < cert.notBefore.value.getTime();
      throw fail('certificate_chain', `a certificate of the TSA's chain ${early ? 'is not yet valid' : 'has expired'} at the token's genTime`);
    }
    if (i > 0) {
      const bc = basicConstraints(cert);
      const ku = keyUsage(cert);
      if (ku && !ku.has(KU.keyCertSign)) throw fail('certificate_chain', 'an issuer of the TSA certificate may not sign certificates (key usage)');
      if (bc ? !bc.ca : !(ku || cert.version === 0)) throw fail('certificate_chain', 'an issuer of the TSA certificate is not a CA (invalid CA certificate)');
      if (bc && bc.pathLen !== null && i - 1 > bc.pathLen) throw fail('certificate_chain', 'the path length constraint was exceeded');
    }
    if (i + 1 < chain.length) {
      let ok = false;
      try {
        ok = await cert.verify(chain[i + 1]);
      } catch {
        ok = false;
      }
      if (!ok) throw fail('certificate_chain', 'a certificate of the TSA chain is not signed by its issuer (certificate signature failure)');
    }
  }
}

/** The signer's key signed the attributes, which carry the TSTInfo's digest. */
async function checkSignature(parsed) {
  const { signerInfo, tstDer, signer, signedAttrsBlock } = parsed;
  const hashName = WEBCRYPTO_HASH.get(signerInfo.digestAlgorithm.algorithmId);
  if (!hashName) throw fail('signature', `the TSA's signature uses an unsupported digest (${signerInfo.digestAlgorithm.algorithmId})`);
  const crypto = pkijs.getCrypto(true);
  let data = tstDer;
  if (signedAttrsBlock) {
    const digest = new Uint8Array(await crypto.digest({ name: hashName }, tstDer));
    const attr = signerInfo.signedAttrs.attributes.find((a) => a.type === OID.messageDigest);
    const value = attr?.values?.[0];
    if (!value || !(value instanceof asn1js.OctetString) || !equalBytes(new Uint8Array(value.valueBlock.valueHexView), digest)) {
      throw fail('signature', "the TSA's signature does not verify: the token was altered (message digest)");
    }
    data = raw(signedAttrsBlock).slice();
    data[0] = 0x31; // signed over as a SET OF, not as the [0] the SignerInfo carries
  }
  let ok = false;
  try {
    ok = await crypto.verifyWithPublicKey(data, signerInfo.signature, signer.subjectPublicKeyInfo, signerInfo.signatureAlgorithm, hashName);
  } catch {
    ok = false;
  }
  if (!ok) throw fail('signature', "the TSA's signature does not verify: the token was altered or not signed by the certificate it names");
}

/** The signer is a time-stamping certificate (OpenSSL's purpose check and rfc3161-client's). */
function checkTsaCertificate(parsed) {
  const { signer, tst } = parsed;
  const eku = extension(signer, OID.extKeyUsage);
  const ku = keyUsage(signer);
  if (ku && ([...ku].some((b) => b !== KU.digitalSignature && b !== KU.nonRepudiation) || !(ku.has(KU.digitalSignature) || ku.has(KU.nonRepudiation)))) {
    throw fail('tsa_certificate', 'the TSA certificate is not for time-stamping: its key usage allows more than signing');
  }
  const flags = new Set();
  if (eku) {
    const purposes = ber(new Uint8Array(eku.extnValue.valueBlock.valueHexView)).valueBlock.value.map((v) => v.valueBlock.toString());
    for (const p of purposes) if (EKU_FLAGS.has(p)) flags.add(EKU_FLAGS.get(p));
  }
  if (!eku || flags.size !== 1 || !flags.has('timestamp') || !eku.critical) {
    throw fail(
      'tsa_certificate',
      'the TSA certificate is not for time-stamping: RFC 3161 needs the extended key usage timeStamping, alone and marked critical',
    );
  }
  if (tst.tsa) {
    const names = [];
    if (tst.tsa.type === 4) names.push(tst.tsa.value);
    const matchesSigner = names.some((n) => n.isEqual(signer.subject)) || sanMatches(signer, tst.tsa);
    if (!matchesSigner) throw fail('tsa_certificate', 'the token names its TSA differently from the signer certificate');
  }
}

/** @param {pkijs.Certificate} signer @param {pkijs.GeneralName} name */
function sanMatches(signer, name) {
  const ext = extension(signer, OID.subjectAltName);
  if (!ext) return false;
  const names = ber(new Uint8Array(ext.extnValue.valueBlock.valueHexView)).valueBlock.value;
  const wanted = raw(name.toSchema());
  return names.some((n) => equalBytes(raw(n), wanted));
}

/** The signed ESS attribute identifies the signer's certificate (RFC 2634, RFC 5035). */
function checkSigningCertificate(parsed) {
  const { signerInfo, signer } = parsed;
  /** @type {{hash: (b: Uint8Array) => Uint8Array, certHash: Uint8Array, namesSigner: boolean | null}[]} */
  const ess = [];
  try {
    for (const attr of signerInfo.signedAttrs?.attributes ?? []) {
      const v2 = attr.type === OID.signingCertificateV2;
      if (!v2 && attr.type !== OID.signingCertificate) continue;
      for (const value of attr.values) {
        const certs = value.valueBlock.value[0].valueBlock.value;
        if (!certs.length) continue;
        const fields = certs[0].valueBlock.value;
        let k = 0;
        let algorithm = v2 ? OID.sha256 : '1.3.14.3.2.26';
        if (v2 && fields[0] instanceof asn1js.Sequence) {
          algorithm = fields[0].valueBlock.value[0].valueBlock.toString();
          k = 1;
        }
        const certHash = new Uint8Array(fields[k].valueBlock.valueHexView);
        const issuerSerial = fields[k + 1];
        let namesSigner = null;
        if (issuerSerial) {
          const [generalNames, serial] = issuerSerial.valueBlock.value;
          namesSigner =
            serial.isEqual(signer.serialNumber) &&
            generalNames.valueBlock.value.some((g) => {
              const gn = new pkijs.GeneralName({ schema: g });
              return gn.type === 4 && gn.value.isEqual(signer.issuer);
            });
        }
        const hash = ESS_HASHES.get(algorithm);
        if (!hash) throw fail('signing_certificate', `the ESS signingCertificate uses an unsupported hash (${algorithm})`);
        ess.push({ hash, certHash, namesSigner });
      }
    }
  } catch (e) {
    if (e instanceof TimestampCheckError) throw e;
    throw fail('signing_certificate', `the ESS signingCertificate is malformed: ${e.message}`);
  }
  if (!ess.length) throw fail('signing_certificate', 'the signature does not name its certificate (no ESS signingCertificate attribute)');
  for (const { hash, certHash, namesSigner } of ess) {
    if (!equalBytes(hash(signer.der), certHash)) throw fail('signing_certificate', "the signature names another certificate than the signer's");
    if (namesSigner === false) throw fail('signing_certificate', "the ESS signingCertificate names another issuer and serial than the signer's");
  }
}

/** @param {pkijs.RelativeDistinguishedNames} name */
export function describeName(name) {
  const short = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST' };
  return name.typesAndValues
    .map((tv) => `${short[tv.type] ?? tv.type}=${tv.value.valueBlock.value ?? ''}`)
    .reverse()
    .join(',');
}

/**
 * Verify a token over `digest` against `roots`; returns what it proves, or throws
 * `TimestampCheckError` naming the failed check.
 * @param {Uint8Array} token
 * @param {Uint8Array} digest SHA-256 of the checkpoint's note text
 * @param {pkijs.Certificate[]} roots
 * @returns {Promise<{genTime: bigint, tsaName: string, serial: string}>}
 */
export async function verifyToken(token, digest, roots) {
  const parsed = readToken(token);
  const { tst } = parsed;
  if (tst.messageImprint.hashAlgorithm.algorithmId !== OID.sha256) {
    throw fail('imprint', `the token's imprint is not sha256 (${tst.messageImprint.hashAlgorithm.algorithmId})`);
  }
  const imprint = new Uint8Array(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (!equalBytes(imprint, digest)) {
    throw fail('imprint', `the token time-stamps SHA-256 digest ${toHex(imprint)}, but the checkpoint's digest is ${toHex(digest)}`);
  }
  if (!roots.length) throw fail('certificate_chain', 'no trusted TSA root certificates were given');
  if (!parsed.certificates.length) {
    throw fail('tsa_certificate', "the token does not carry its signer's certificate");
  }
  if (!parsed.signer) throw fail('tsa_certificate', "the token does not carry its signer's certificate (signer certificate not found)");
  await checkChain(parsed.signer, parsed.certificates, roots, parsed.genTime);
  await checkSignature(parsed);
  checkTsaCertificate(parsed);
  checkSigningCertificate(parsed);
  return {
    genTime: parsed.genTime,
    tsaName: describeName(parsed.signer.subject),
    serial: toHex(new Uint8Array(tst.serialNumber.valueBlock.valueHexView)),
  };
}
