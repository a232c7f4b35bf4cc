// Build the verification page into the service's package data, or check that the committed
// files are what the sources and the lock file build (`node build.mjs --check`).
//
// Output (notary/src/ipnotary/service/web/verify/): index.html, verify.js (one classic script:
// module scripts do not load from file://) and verify.css. The two workers (the fingerprint's and
// PDF.js's) are bundled first and embedded in verify.js as text, which the page starts from Blob
// URLs, so the page works saved to disk as well as served.
import { build } from 'esbuild';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, 'notary', 'src', 'ipnotary', 'service', 'web', 'verify');
const artifacts = join(root, 'chain', 'src', 'ipnotary', 'chain', 'artifacts');
const require = createRequire(import.meta.url);
const check = process.argv.includes('--check');

const common = {
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022', 'chrome120', 'firefox121', 'safari17'],
  legalComments: 'eof',
  charset: 'utf8',
  write: false,
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
  define: { 'process.env.NODE_ENV': '"production"' },
};

async function bundle(entry) {
  const result = await build({ ...common, entryPoints: [entry] });
  return result.outputFiles[0].text;
}

// The registry code the chain steps accept: the current EvidenceRegistry and the frozen version 1.
async function registryCode() {
  const read = async (path) => JSON.parse(await readFile(join(artifacts, path), 'utf8')).deployedBytecode.toLowerCase();
  return `export const REGISTRY_CODE = ${JSON.stringify({ 2: await read('EvidenceRegistry.json'), 1: await read('legacy/EvidenceRegistry-v1.json') })};\n`;
}

const fingerprintWorker = await bundle(join(here, 'src', 'fingerprint-worker.js'));
const pdfWorker = await bundle(require.resolve('pdfjs-dist/build/pdf.worker.min.mjs'));
const code = await registryCode();

const virtual = {
  name: 'virtual',
  setup(b) {
    b.onResolve({ filter: /^virtual:/ }, (args) => ({ path: args.path, namespace: 'virtual' }));
    b.onResolve({ filter: /\/registry-code\.js$/ }, () => ({ path: 'registry-code', namespace: 'virtual' }));
    b.onLoad({ filter: /.*/, namespace: 'virtual' }, (args) => {
      if (args.path === 'virtual:fingerprint-worker') return { contents: `export default ${JSON.stringify(fingerprintWorker)};`, loader: 'js' };
      if (args.path === 'virtual:pdf-worker') return { contents: `export default ${JSON.stringify(pdfWorker)};`, loader: 'js' };
      if (args.path === 'registry-code') return { contents: code, loader: 'js' };
      return null;
    });
  },
};

const main = await build({ ...common, entryPoints: [join(here, 'src', 'main.js')], plugins: [virtual] });
const files = {
  'index.html': await readFile(join(here, 'src', 'index.html'), 'utf8'),
  'verify.js': main.outputFiles[0].text,
  'verify.css': await readFile(join(here, 'src', 'verify.css'), 'utf8'),
};

if (check) {
  const stale = [];
  for (const [name, text] of Object.entries(files)) {
    let committed = null;
    try {
      committed = await readFile(join(out, name), 'utf8');
    } catch {
      // missing counts as stale
    }
    if (committed !== text) stale.push(name);
  }
  if (stale.length) {
    console.error(`stale: ${stale.join(', ')} in ${out}; run \`npm run build\` in verify-page/ and commit them`);
    process.exit(1);
  }
  console.log(`up to date: ${Object.keys(files).join(', ')}`);
} else {
  await mkdir(out, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(out, name), text);
  for (const [name, text] of Object.entries(files)) console.log(`${name}: ${Buffer.byteLength(text)} bytes`);
}
