/**
 * Fingerprint a file in Web Workers, with progress. The worker's code is part of this bundle and
 * starts from a Blob URL: Chromium refuses `new Worker('file://...')`, and the page must work
 * saved to disk.
 *
 * With two cores or more, SM3 (the slowest hash) runs in a worker of its own beside SHA-256 and
 * the CIDs; each reads the file in slices, so the file is never held in memory.
 *
 * @module fingerprint
 */

import WORKER_SOURCE from 'virtual:fingerprint-worker';

let workerUrl = null;
const url = () => (workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' })));

/**
 * @param {Blob} file
 * @param {string[]} tasks
 * @param {(done: number) => void} progress
 * @param {AbortSignal} [signal]
 * @returns {Promise<Record<string, string | number>>}
 */
function runWorker(file, tasks, progress, signal) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url());
    const stop = () => {
      worker.terminate();
      reject(new DOMException('the fingerprint was cancelled', 'AbortError'));
    };
    signal?.addEventListener('abort', stop, { once: true });
    worker.onmessage = ({ data }) => {
      if (data.type === 'progress') progress(data.done);
      else {
        signal?.removeEventListener('abort', stop);
        worker.terminate();
        if (data.type === 'done') resolve(data.digests);
        else reject(new Error(data.message));
      }
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || 'the fingerprint worker failed'));
    };
    worker.postMessage({ file, tasks });
  });
}

/**
 * Size, SHA-256, SM3, CIDv0 and CIDv1 of `file`.
 * @param {Blob} file
 * @param {{onProgress?: (fraction: number) => void, signal?: AbortSignal}} [options]
 * @returns {Promise<{size: number, sha256: string, sm3: string, cid: string, cid_v1: string}>}
 */
export async function fingerprintFile(file, { onProgress, signal } = {}) {
  const split = (navigator.hardwareConcurrency ?? 1) >= 2;
  const groups = split ? [['sm3'], ['sha256', 'cid']] : [['sha256', 'sm3', 'cid']];
  const done = groups.map(() => 0);
  const report = () => onProgress?.(file.size ? Math.min(...done) / file.size : 1);
  const parts = await Promise.all(
    groups.map((tasks, i) =>
      runWorker(
        file,
        tasks,
        (n) => {
          done[i] = n;
          report();
        },
        signal,
      ),
    ),
  );
  report();
  return /** @type {any} */ (Object.assign({}, ...parts));
}
