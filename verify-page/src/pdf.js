/**
 * The certificate inside a PDF certificate: the JSON document attached as the associated file
 * `certificate.json` (PDF/A-3), read with Mozilla's PDF.js. Its parser runs in a worker started
 * from a Blob URL, like the fingerprint's. Only the attachment is read: the PDF is not rendered,
 * and PDF.js is told to evaluate nothing and to fetch nothing.
 *
 * What the PDF shows is not verified, the JSON it carries is: the page verifies that, as it
 * would a `.json` file.
 *
 * @module pdf
 */

import { getDocument, PDFWorker } from 'pdfjs-dist';
import PDF_WORKER_SOURCE from 'virtual:pdf-worker';

export const ATTACHMENT_NAME = 'certificate.json';
export const MAX_PDF_BYTES = 32 * 1024 * 1024;

export class PdfError extends Error {}

/** @param {Uint8Array} bytes */
export const isPdf = (bytes) => bytes.length >= 5 && String.fromCharCode(...bytes.subarray(0, 5)) === '%PDF-';

let workerUrl = null;

/**
 * The bytes of the certificate a PDF carries.
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}
 */
export async function certificateFromPdf(bytes) {
  if (bytes.length > MAX_PDF_BYTES) throw new PdfError(`the PDF is ${bytes.length} bytes; the limit is ${MAX_PDF_BYTES}`);
  workerUrl ??= URL.createObjectURL(new Blob([PDF_WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new PDFWorker({ port: new Worker(workerUrl) });
  let task = null;
  try {
    task = getDocument({
      data: bytes.slice(),
      worker,
      isEvalSupported: false,
      useWorkerFetch: false,
      disableFontFace: true,
      enableXfa: false,
      stopAtErrors: false,
    });
    const doc = await task.promise;
    // A map of attachment ids to their names; the bytes are fetched for the one chosen.
    const files = [...((await doc.getAttachments()) ?? new Map()).entries()].map(([id, a]) => ({ id, ...a }));
    const named = files.find((f) => f.filename === ATTACHMENT_NAME);
    const json = files.filter((f) => /\.json$/i.test(f.filename ?? ''));
    const chosen = named ?? (json.length === 1 ? json[0] : null);
    if (!chosen) {
      const names = files.map((f) => f.filename).join(', ') || 'none';
      throw new PdfError(`the PDF carries no ${ATTACHMENT_NAME} (its attachments: ${names})`);
    }
    const content = chosen.content ?? (await doc.getAttachmentContent(chosen.id));
    if (!content) throw new PdfError(`the PDF's ${chosen.filename} is empty or unreadable`);
    return new Uint8Array(content);
  } catch (e) {
    if (e instanceof PdfError) throw e;
    throw new PdfError(`the PDF cannot be read: ${e?.message ?? e}`);
  } finally {
    await task?.destroy();
    worker.destroy();
  }
}
