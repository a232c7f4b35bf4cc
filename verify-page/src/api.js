/**
 * The page's verifier as one call, for the page itself and for programs driving it (the tests
 * call it as `window.ipnotary.verify`): inputs as bytes, Blobs or parsed JSON; the answer shaped
 * like the Python SDK's `VerificationResult` / `VerificationError`.
 *
 * @module api
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { asBytes, toHex } from './bytes.js';
import { RpcChainView } from './chain.js';
import { fingerprintFile } from './fingerprint.js';
import { message } from './i18n.js';
import { certificateFromPdf, isPdf, PdfError } from './pdf.js';
import { parsePolicy, PolicyError } from './policy.js';
import { fromIsoformat, fromMillis } from './times.js';
import { verifyCertificate } from './verify.js';

/**
 * @typedef {object} VerifyOptions
 * @property {Uint8Array | ArrayBuffer | Blob | string | object} certificate JSON or a PDF certificate
 * @property {Uint8Array | ArrayBuffer | Blob | string | object | null} [policy] a TrustPolicy
 * @property {Blob | Uint8Array | ArrayBuffer | import('./verify.js').ContentDigests | null} [file]
 * @property {string | null} [rpcUrl] a JSON-RPC URL of a node of the certificate's chain
 * @property {string | number | Date} [now] the verifier's clock (an RFC 3339 time, ms, or a Date)
 * @property {(fraction: number) => void} [onProgress] hashing progress, 0 to 1
 * @property {AbortSignal} [signal]
 */

/** @param {unknown} value */
async function bytesOf(value) {
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (value instanceof Uint8Array || value instanceof ArrayBuffer || ArrayBuffer.isView(value) || typeof value === 'string') return asBytes(/** @type {any} */ (value));
  return null; // an already-parsed object
}

/** @param {VerifyOptions['now']} now */
function clock(now) {
  if (now === undefined || now === null) return fromMillis(Date.now());
  if (now instanceof Date) return fromMillis(now.getTime());
  if (typeof now === 'number') return fromMillis(now);
  return fromIsoformat(now);
}

/** @param {unknown} file */
const isDigests = (file) => file !== null && typeof file === 'object' && !(file instanceof Blob) && !ArrayBuffer.isView(file) && !(file instanceof ArrayBuffer);

/** The answer in plain JSON types, with each message worded in English (`reason`, `text`). */
function shape(outcome, extra) {
  const words = (m) => message('en', m);
  return {
    verdict: outcome.verdict,
    failed_step: outcome.failed_step ?? null,
    reason: outcome.message ? words(outcome.message) : null,
    message: outcome.message ?? null,
    steps: outcome.steps,
    report: outcome.report.map((r) => ({ ...r, text: words(r.message) })),
    notes: outcome.notes.map((n) => ({ ...n, text: words(n) })),
    result: outcome.result,
    document: outcome.document ?? null,
    ...extra,
  };
}

/**
 * Verify a certificate in this browser.
 * @param {VerifyOptions} options
 */
export async function verify({ certificate, policy = null, file = null, rpcUrl = null, now, onProgress, signal }) {
  const inputs = {};
  const failure = (key, params) => ({
    verdict: 'error',
    failed_step: null,
    reason: message('en', { key, params }),
    message: { key, params },
    steps: [],
    report: [],
    notes: [],
    result: null,
    document: null,
    inputs,
  });

  let certBytes = await bytesOf(certificate);
  if (certBytes && isPdf(certBytes)) {
    inputs.pdf_sha256 = toHex(sha256(certBytes));
    try {
      certBytes = await certificateFromPdf(certBytes);
    } catch (e) {
      if (e instanceof PdfError) return failure('error.input', { detail: e.message });
      throw e;
    }
  }
  if (certBytes) inputs.certificate_sha256 = toHex(sha256(certBytes));

  let trust = null;
  if (policy !== null && policy !== undefined) {
    const policyBytes = (await bytesOf(policy)) ?? asBytes(JSON.stringify(policy));
    inputs.policy_sha256 = toHex(sha256(policyBytes));
    try {
      trust = parsePolicy(policyBytes);
    } catch (e) {
      if (e instanceof PolicyError) return failure('error.policy', { detail: e.message });
      throw e;
    }
  }

  let content = null;
  if (file !== null && file !== undefined) {
    if (isDigests(file)) {
      content = /** @type {any} */ (file);
    } else {
      const blob = file instanceof Blob ? file : new Blob([/** @type {any} */ (file)]);
      try {
        content = await fingerprintFile(blob, { onProgress, signal });
      } catch (e) {
        if (e?.name === 'AbortError') throw e;
        return failure('error.hashing', { detail: String(e?.message ?? e) });
      }
    }
  }

  const outcome = await verifyCertificate({
    certificate: certBytes ?? certificate,
    policy: trust,
    content,
    chain: rpcUrl ? new RpcChainView(rpcUrl) : null,
    now: clock(now),
  });
  return shape(outcome, { digests: content, inputs });
}
