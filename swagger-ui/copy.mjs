// Copy Swagger UI's assets from swagger-ui-dist (the version package-lock.json pins) into the
// service's package data, or check that the committed copies are those bytes
// (`node copy.mjs --check`). The service serves them itself at /docs/assets/, so /docs needs no
// outside host (it was a blank page offline, loading them from a CDN).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const from = join(here, 'node_modules', 'swagger-ui-dist');
const out = join(here, '..', 'notary', 'src', 'ipnotary', 'service', 'web', 'swagger-ui');
const FILES = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'LICENSE', 'NOTICE'];
const check = process.argv.includes('--check');

let stale = 0;
await mkdir(out, { recursive: true });
for (const name of FILES) {
  const want = await readFile(join(from, name));
  if (check) {
    const have = await readFile(join(out, name)).catch(() => null);
    if (have === null || !have.equals(want)) {
      console.error(`stale: ${name} (run: cd swagger-ui && npm run copy)`);
      stale += 1;
    }
  } else {
    await writeFile(join(out, name), want);
  }
}
const version = JSON.parse(await readFile(join(from, 'package.json'), 'utf8')).version;
console.log(`${check ? 'checked' : 'copied'} swagger-ui-dist ${version}: ${FILES.length} files`);
process.exit(stale ? 1 : 0);
