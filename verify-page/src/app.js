/**
 * The page: three inputs (the file, the certificate, the trust policy), a chain node, a drop zone,
 * the hashing progress, and the report, in Chinese or English. Start reading at `start`.
 *
 * `?certificate=URL&policy=URL` fetches those first (the PDF certificate's QR code points here
 * with the certificate's public URL), then verifies here like any dropped file.
 *
 * @module app
 */

import { verify } from './api.js';
import { h, humanSize } from './dom.js';
import { browserLanguage, message, t } from './i18n.js';

const LANG_KEY = 'ipnotary.verify.lang';
const MAX_FETCH_BYTES = 32 * 1024 * 1024;

/** @type {{lang: import('./i18n.js').Lang, file: File | null, certificate: Blob | null, policy: Blob | null, last: any, running: AbortController | null}} */
const state = { lang: 'en', file: null, certificate: null, policy: null, last: null, running: null };

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

function storedLanguage() {
  try {
    const v = localStorage.getItem(LANG_KEY);
    return v === 'zh' || v === 'en' ? v : null;
  } catch {
    return null; // storage can be refused (file://, private modes): follow the browser
  }
}

/** @param {import('./i18n.js').Lang} lang */
function setLanguage(lang) {
  state.lang = lang;
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // not remembered: the choice still applies to this visit
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `${t(lang, 'page.title')} · ${t(lang === 'zh' ? 'en' : 'zh', 'page.title')}`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(lang, el.getAttribute('data-i18n'));
  for (const b of document.querySelectorAll('button[data-lang]')) b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === lang));
  showChosen();
  if (state.last) render(state.last);
}

function showChosen() {
  for (const name of ['file', 'certificate', 'policy']) {
    const blob = state[name];
    $(`${name}-chosen`).textContent = blob
      ? t(state.lang, 'input.chosen', { name: /** @type {File} */ (blob).name || name, size: humanSize(blob.size) })
      : t(state.lang, 'input.none');
  }
}

/** Sort dropped files: a PDF or a certificate JSON, a policy JSON, anything else is the file. */
async function take(files) {
  for (const f of files) {
    let kind = 'file';
    if (/\.pdf$/i.test(f.name) || f.type === 'application/pdf') kind = 'certificate';
    else if (/\.json$/i.test(f.name) && f.size < 1024 * 1024) {
      const text = await f.text();
      if (/"media_type"\s*:\s*"application\/vnd\.ipnotary\.certificate\+json/.test(text)) kind = 'certificate';
      else if (/"media_type"\s*:\s*"application\/vnd\.ipnotary\.trust-policy\+json/.test(text) || /"issuers"\s*:/.test(text)) kind = 'policy';
    }
    state[kind] = f;
  }
  showChosen();
}

/** @param {string} url */
async function fetchBlob(url) {
  const response = await fetch(url, { credentials: 'omit', redirect: 'follow', referrerPolicy: 'no-referrer' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const blob = await response.blob();
  if (blob.size > MAX_FETCH_BYTES) throw new Error(`${blob.size} bytes is over the limit of ${MAX_FETCH_BYTES}`);
  return new File([blob], decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || 'download'), { type: blob.type });
}

function progress(text, fraction = null) {
  const box = $('progress');
  box.hidden = text === null;
  if (text === null) return;
  $('progress-label').textContent = text;
  const bar = /** @type {HTMLProgressElement} */ ($('progress-bar'));
  if (fraction === null) bar.removeAttribute('value');
  else bar.value = fraction;
  $('progress-text').textContent =
    fraction === null || !state.file ? '' : t(state.lang, 'progress.value', { percent: Math.floor(fraction * 100), size: humanSize(state.file.size) });
}

async function run() {
  if (!state.certificate) {
    render({ verdict: 'error', failed_step: null, message: { key: 'error.no_certificate' }, steps: [], report: [], notes: [], result: null, document: null, inputs: {} });
    return;
  }
  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) {
    render({ verdict: 'error', failed_step: null, message: { key: 'error.secure_context' }, steps: [], report: [], notes: [], result: null, document: null, inputs: {} });
    return;
  }
  state.running?.abort();
  const controller = new AbortController();
  state.running = controller;
  $('verify').setAttribute('aria-busy', 'true');
  try {
    if (state.file) progress(t(state.lang, 'progress.label'), 0);
    else progress(t(state.lang, 'progress.verifying'));
    const rpcUrl = /** @type {HTMLInputElement} */ ($('rpc')).value.trim() || null;
    const outcome = await verify({
      certificate: state.certificate,
      policy: state.policy,
      file: state.file,
      rpcUrl,
      signal: controller.signal,
      onProgress: (fraction) => progress(t(state.lang, 'progress.label'), fraction),
    });
    outcome.names = {
      certificate: /** @type {File} */ (state.certificate).name ?? '',
      policy: /** @type {File | null} */ (state.policy)?.name ?? '',
      file: state.file?.name ?? '',
    };
    render(outcome);
  } catch (e) {
    if (e?.name !== 'AbortError') {
      render({ verdict: 'error', failed_step: null, message: { key: 'error.input', params: { detail: String(e?.message ?? e) } }, steps: [], report: [], notes: [], result: null, document: null, inputs: {} });
    }
  } finally {
    progress(null);
    $('verify').removeAttribute('aria-busy');
    if (state.running === controller) state.running = null;
  }
}

/** @param {string} key @param {unknown} value */
const row = (key, value) => (value === undefined || value === null || value === '' ? null : [h('dt', {}, t(state.lang, key)), h('dd', {}, h('span', { class: 'value' }, String(value)))]);

/** @param {any} outcome */
function render(outcome) {
  state.last = outcome;
  const L = state.lang;
  const report = $('report');
  const verdict = outcome.verdict;
  const failedStep = outcome.failed_step ? t(L, `step.${outcome.failed_step}`) : '';
  // "Not trusted" at a step (the policy vouches for nothing there) reads apart from the
  // "not trusted" of a certificate checked without any policy.
  const verdictKey = verdict === 'not_trusted' && outcome.failed_step ? 'verdict.untrusted' : `verdict.${verdict}`;
  const heading = h(
    'h2',
    { id: 'verdict', tabindex: '-1', class: `verdict verdict-${verdict}` },
    h('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, { valid: '✓', not_trusted: '?', invalid: '✗', error: '!' }[verdict]),
    ' ',
    outcome.failed_step || verdict === 'valid' || verdict === 'not_trusted' ? t(L, verdictKey, { step: failedStep }) : message(L, outcome.message),
  );
  const doc = outcome.document;
  const record = doc?.record ?? outcome.result?.record ?? null;
  const res = outcome.result;
  const children = [
    h('p', { class: 'generated' }, t(L, 'report.generated', { time: new Date().toISOString() })),
    heading,
    h('p', { class: 'explain' }, outcome.failed_step || verdict === 'valid' || verdict === 'not_trusted' ? t(L, `${verdictKey}.explain`) : ''),
    outcome.failed_step ? h('p', { class: 'reason', role: 'alert' }, message(L, outcome.message)) : null,
  ];
  if (res) {
    children.push(
      h(
        'section',
        { class: 'proven', 'aria-labelledby': 'h-time' },
        h('h3', { id: 'h-time' }, t(L, 'report.time')),
        h('p', { class: 'proven-time' }, h('span', {}, t(L, 'field.proven_time')), ' ', h('strong', {}, res.proven_time)),
        h('p', {}, t(L, 'field.time_source'), ' ', h('strong', {}, t(L, `source.${res.time_source}`))),
        h('p', { class: 'time-rule' }, t(L, 'field.time_rule'), ' ', h('strong', {}, t(L, `rule.${res.time_rule}`, res.time_rule_params))),
        res.time_evidence.length
          ? h('ul', { class: 'evidence' }, ...res.time_evidence.map((e) => h('li', {}, h('span', { class: 'value' }, e.time), ' — ', t(L, `source.${e.source}`), ': ', message(L, e.detail))))
          : null,
      ),
    );
  }
  if (record || doc) {
    const metadata = record?.metadata ?? {};
    const position = doc?.log ?? doc?.proof;
    children.push(
      h(
        'section',
        { 'aria-labelledby': 'h-record' },
        h('h3', { id: 'h-record' }, t(L, 'report.record')),
        verdict === 'valid' ? null : h('p', { class: 'unverified' }, t(L, 'report.unverified')),
        h(
          'dl',
          { class: 'fields' },
          row('field.record_id', record?.id),
          row('field.kind', record?.kind),
          row('field.title', metadata.title ?? record?.title),
          row('field.holder', record?.holder?.name ?? record?.owner?.name),
          row('field.received_at', record?.received_at),
          row('field.issued_at', doc?.issued_at),
          row('field.version', doc?.media_type?.split('version=')[1]),
          row('field.log', doc?.log?.origin),
          row('field.position', position ? t(L, 'field.position.value', { index: position.leaf_index, size: position.tree_size }) : null),
          row('field.leaf_hash', doc?.leaf_hash),
          row('field.issuer', doc?.issuer?.key_id),
        ),
      ),
    );
    children.push(digestsTable(record?.content ?? null, outcome.digests ?? null));
    if (doc?.anchor) {
      children.push(
        h(
          'section',
          { 'aria-labelledby': 'h-anchor' },
          h('h3', { id: 'h-anchor' }, t(L, 'report.anchor')),
          h(
            'dl',
            { class: 'fields' },
            row('field.chain', doc.anchor.chain_id),
            row('field.contract', doc.anchor.contract),
            // The block's time is the operator's statement unless a trusted chain checked on a
            // node vouched for it: never shown as if proven next to the proven time.
            row(
              'field.block',
              res?.time_evidence.some((e) => e.source === 'chain')
                ? `${doc.anchor.block_number} (${doc.anchor.block_time})`
                : `${doc.anchor.block_number} (${doc.anchor.block_time}; ${t(L, 'field.block.unproven')})`,
            ),
            row('field.tx', doc.anchor.tx_hash),
          ),
        ),
      );
    }
  }
  if (outcome.report.length) {
    children.push(
      h(
        'section',
        { 'aria-labelledby': 'h-steps' },
        h('h3', { id: 'h-steps' }, t(L, 'report.steps')),
        h(
          'ol',
          { class: 'steps' },
          ...outcome.report.map((r) =>
            h(
              'li',
              { class: `step step-${r.status}`, 'data-step': r.step, 'data-status': r.status },
              h('span', { class: 'step-name' }, t(L, `step.${r.step}`), ' ', h('code', {}, r.step)),
              ' ',
              h('span', { class: 'badge' }, t(L, `status.${r.status}`)),
              h('span', { class: 'step-message' }, message(L, r.message)),
            ),
          ),
        ),
      ),
    );
  }
  if (outcome.notes.length) {
    children.push(
      h('section', { 'aria-labelledby': 'h-notes' }, h('h3', { id: 'h-notes' }, t(L, 'report.notes')), h('ul', { class: 'notes' }, ...outcome.notes.map((n) => h('li', {}, message(L, n))))),
    );
  }
  const inputs = outcome.inputs ?? {};
  const names = outcome.names ?? {};
  if (inputs.certificate_sha256 || inputs.policy_sha256) {
    children.push(
      h(
        'section',
        { class: 'inputs', 'aria-labelledby': 'h-inputs' },
        h('h3', { id: 'h-inputs' }, t(L, 'input.legend')),
        h(
          'dl',
          { class: 'fields' },
          inputs.pdf_sha256 ? [h('dt', {}, `${t(L, 'input.certificate')} (PDF)`), h('dd', {}, h('span', { class: 'value' }, `${names.certificate ?? ''} SHA-256 ${inputs.pdf_sha256}`))] : null,
          inputs.certificate_sha256 ? [h('dt', {}, t(L, 'input.certificate')), h('dd', {}, h('span', { class: 'value' }, `${inputs.pdf_sha256 ? 'certificate.json' : names.certificate ?? ''} SHA-256 ${inputs.certificate_sha256}`))] : null,
          inputs.policy_sha256 ? [h('dt', {}, t(L, 'input.policy')), h('dd', {}, h('span', { class: 'value' }, `${names.policy ?? ''} SHA-256 ${inputs.policy_sha256}`))] : null,
          names.file ? [h('dt', {}, t(L, 'input.file')), h('dd', {}, h('span', { class: 'value' }, names.file))] : null,
        ),
      ),
    );
  }
  children.push(h('p', { class: 'no-print' }, h('button', { type: 'button', id: 'print', onclick: () => window.print() }, t(L, 'action.print'))));
  report.replaceChildren(h('h2', { class: 'report-title' }, t(L, 'report.heading')), ...children.filter(Boolean));
  report.hidden = false;
  report.dataset.verdict = verdict;
  // Counts the reports shown, so a program driving the page can wait for the next one.
  report.dataset.run = String(Number(report.dataset.run ?? 0) + 1);
  heading.focus();
}

/** The record's digests next to the file's. */
function digestsTable(content, digests) {
  const L = state.lang;
  const names = ['size', 'sha256', 'sm3', 'cid', 'cid_v1'];
  const label = { size: t(L, 'field.size'), sha256: 'SHA-256', sm3: 'SM3', cid: 'CIDv0', cid_v1: 'CIDv1' };
  const rows = names
    .filter((n) => (content && content[n] !== undefined && content[n] !== null) || (digests && digests[n] !== undefined))
    .map((n) => {
      const want = content?.[n];
      const got = digests?.[n];
      const same = got !== undefined && want !== undefined && String(want) === String(got);
      const status = got === undefined ? t(L, 'field.digest.notcompared') : same ? `✓ ${t(L, 'field.digest.compared')}` : `✗ ${t(L, 'status.failed')}`;
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, label[n]),
        h('td', { class: 'value', 'data-label': t(L, 'field.digest.record') }, want === undefined ? '—' : String(want)),
        h('td', { class: 'value', 'data-label': t(L, 'field.digest.file') }, got === undefined ? '—' : String(got)),
        h('td', { class: 'digest-status' }, status),
      );
    });
  if (!rows.length) return null;
  return h(
    'section',
    { 'aria-labelledby': 'h-digests' },
    h('h3', { id: 'h-digests' }, t(L, 'report.digests')),
    h(
      'table',
      { class: 'digests' },
      h('thead', {}, h('tr', {}, h('td', {}), h('th', { scope: 'col' }, t(L, 'field.digest.record')), h('th', { scope: 'col' }, t(L, 'field.digest.file')), h('th', { scope: 'col' }, ''))),
      h('tbody', {}, ...rows),
    ),
  );
}

/** Wire the page up. */
export async function start() {
  for (const b of document.querySelectorAll('button[data-lang]')) {
    b.addEventListener('click', () => setLanguage(/** @type {any} */ (b.getAttribute('data-lang'))));
  }
  for (const name of ['file', 'certificate', 'policy']) {
    const input = /** @type {HTMLInputElement} */ ($(name));
    input.addEventListener('change', () => {
      state[name] = input.files?.[0] ?? null;
      showChosen();
    });
  }
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    take([...(e.dataTransfer?.files ?? [])]);
  });
  $('inputs').addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  $('clear').addEventListener('click', () => {
    state.running?.abort();
    Object.assign(state, { file: null, certificate: null, policy: null, last: null });
    /** @type {HTMLFormElement} */ ($('inputs')).reset();
    $('report').hidden = true;
    $('report').replaceChildren();
    showChosen();
  });
  setLanguage(storedLanguage() ?? browserLanguage());

  try {
    await fromQuery();
  } finally {
    document.body.dataset.ready = 'true';
  }
}

/** `?certificate=URL&policy=URL`: fetch them, then verify as if they had been dropped. */
async function fromQuery() {
  const params = new URLSearchParams(location.search);
  const urls = { certificate: params.get('certificate'), policy: params.get('policy') };
  if (urls.certificate || urls.policy) {
    for (const [name, url] of Object.entries(urls)) {
      if (!url) continue;
      progress(t(state.lang, 'progress.fetching', { url }));
      try {
        state[name] = await fetchBlob(url);
      } catch (e) {
        progress(null);
        render({ verdict: 'error', failed_step: null, message: { key: 'error.fetch', params: { url, detail: String(e?.message ?? e) } }, steps: [], report: [], notes: [], result: null, document: null, inputs: {} });
        return;
      }
    }
    showChosen();
    await run();
  }
}
