/**
 * The file's fingerprint, in a Web Worker: SHA-256 and SM3 (`hash-wasm`, incremental) and the
 * two IPFS CIDs exactly as Kubo's `ipfs add` makes them (`ipfs-unixfs-importer`), from the file
 * read in slices, so memory stays the same whatever the file's size.
 *
 * Kubo's importer settings are written out here because the library's defaults (and its
 * `unixfs-v1-2025` profile) are not Kubo's: 262144-byte chunks, balanced DAGs of at most 174
 * links, dag-pb leaves of type `file` for CIDv0 and raw leaves for CIDv1, a one-chunk file being
 * its leaf. `client_sdk/src/ipnotary/sdk/_unixfs.py` documents the same layout, and
 * `tests/assets/cid/vectors.json` holds what Kubo printed.
 *
 * Messages in: `{file: Blob, tasks: ('sha256' | 'sm3' | 'cid')[], sliceSize?: number}`.
 * Messages out: `{type: 'progress', done, total}`, then `{type: 'done', digests}` or
 * `{type: 'error', message}`.
 *
 * @module fingerprint-worker
 */

import { createSHA256, createSM3 } from 'hash-wasm';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';

const KUBO_CHUNK_SIZE = 262144;
const KUBO_MAX_LINKS = 174;
const SLICE = 4 * 1024 * 1024;

/** A one-slot async queue: `push` resolves once the importer has taken the slice. */
class Feed {
  constructor() {
    /** @type {((v: IteratorResult<Uint8Array>) => void) | null} */
    this.waiting = null;
    /** @type {{value: Uint8Array | null, taken: () => void} | null} */
    this.slot = null;
    this.ended = false;
  }

  /** @param {Uint8Array} value */
  push(value) {
    return new Promise((taken) => {
      this.slot = { value, taken };
      this.#deliver();
    });
  }

  end() {
    this.ended = true;
    this.#deliver();
  }

  #deliver() {
    if (!this.waiting) return;
    const resolve = this.waiting;
    if (this.slot) {
      const { value, taken } = this.slot;
      this.slot = null;
      this.waiting = null;
      resolve({ value, done: false });
      taken();
    } else if (this.ended) {
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator]() {
    return {
      next: () =>
        new Promise((resolve) => {
          this.waiting = resolve;
          this.#deliver();
        }),
    };
  }
}

// Blocks are hashed to make CIDs and never kept.
const discard = { put: async (cid) => cid };

/** @param {Feed} feed @param {0 | 1} version */
async function rootCid(feed, version) {
  let root = null;
  for await (const entry of importer([{ content: feed }], discard, {
    cidVersion: version,
    rawLeaves: version === 1,
    leafType: 'file',
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: KUBO_MAX_LINKS }),
    blockWriteConcurrency: 4,
  })) {
    root = entry.cid.toString();
  }
  return root;
}

/**
 * The file in slices. Where only hashes read them (`reuse`), one buffer is filled again and
 * again (a BYOB reader), so hashing a large file makes no garbage; the importers keep slices
 * until their blocks are hashed, so they get a fresh one each time.
 * @param {Blob} file @param {number} sliceSize @param {boolean} reuse
 * @returns {AsyncGenerator<Uint8Array>}
 */
async function* slices(file, sliceSize, reuse) {
  let reader = null;
  if (reuse) {
    try {
      reader = file.stream().getReader({ mode: 'byob' });
    } catch {
      reader = null; // not a byte stream here: fresh slices
    }
  }
  if (reader) {
    let buffer = new ArrayBuffer(sliceSize);
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done) return;
      yield value;
      buffer = value.buffer;
    }
  }
  for (let at = 0; at < file.size; at += sliceSize) {
    yield new Uint8Array(await file.slice(at, Math.min(file.size, at + sliceSize)).arrayBuffer());
  }
}

/**
 * @param {Blob} file
 * @param {string[]} tasks
 * @param {number} sliceSize
 * @param {(done: number) => void} progress
 */
export async function fingerprint(file, tasks, sliceSize, progress) {
  const sha = tasks.includes('sha256') ? await createSHA256() : null;
  const sm3 = tasks.includes('sm3') ? await createSM3() : null;
  sha?.init();
  sm3?.init();
  const feeds = tasks.includes('cid') ? [new Feed(), new Feed()] : [];
  const roots = feeds.map((feed, version) => rootCid(feed, /** @type {0 | 1} */ (version)));
  let done = 0;
  for await (const slice of slices(file, sliceSize, feeds.length === 0)) {
    sha?.update(slice);
    sm3?.update(slice);
    await Promise.all(feeds.map((f) => f.push(slice)));
    done += slice.length;
    progress(done);
  }
  for (const f of feeds) f.end();
  const [cid, cidV1] = await Promise.all(roots);
  /** @type {Record<string, string | number>} */
  const digests = { size: file.size };
  if (sha) digests.sha256 = sha.digest('hex');
  if (sm3) digests.sm3 = sm3.digest('hex');
  if (feeds.length) {
    digests.cid = cid;
    digests.cid_v1 = cidV1;
  }
  return digests;
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  self.onmessage = async ({ data }) => {
    const { file, tasks, sliceSize = SLICE } = data;
    let last = 0;
    try {
      const digests = await fingerprint(file, tasks, sliceSize, (done) => {
        const now = performance.now();
        if (now - last > 100 || done === file.size) {
          last = now;
          self.postMessage({ type: 'progress', done, total: file.size });
        }
      });
      self.postMessage({ type: 'done', digests });
    } catch (e) {
      self.postMessage({ type: 'error', message: String(e?.message ?? e) });
    }
  };
}
