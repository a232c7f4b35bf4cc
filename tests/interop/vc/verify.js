// An independent verifier of W3C Verifiable Credentials, offline: Digital Bazaar's @digitalbazaar/vc
// with the data-integrity proof class and the eddsa-jcs-2022 cryptosuite made for verification
// (createVerifyCryptosuite), did:key resolved by @digitalbazaar/did-method-key, and the revocation
// status by @digitalbazaar/vc-bitstring-status-list. None of our code is involved.
//
//   node verify.js REQUEST.json
//
// REQUEST: {"credential": {...}, "contexts": {URL: context}, "documents": {URL: document},
//           "now": ISO time (optional), "expand": true (optional)}
// `contexts` and `documents` are all the loader serves besides the W3C credentials contexts and
// did:key documents: everything else is refused, so nothing is fetched from the network.
// Prints {"verified", "error", "status", "expanded", "loaded"} as JSON; exits 0 whenever it could
// answer (a credential that does not verify is an answer), 2 on a bad request.
import {readFile} from 'node:fs/promises';

import {named as credentialsContexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as didKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import jsonld from 'jsonld';

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from
});

function makeLoader({contexts = {}, documents = {}}, loaded) {
  const served = new Map();
  for(const {id, context} of credentialsContexts.values()) {
    served.set(id, context);
  }
  for(const [url, document] of Object.entries({...contexts, ...documents})) {
    served.set(url, document);
  }
  return async url => {
    loaded.push(url);
    if(served.has(url)) {
      return {contextUrl: null, documentUrl: url, document: served.get(url)};
    }
    if(url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    throw new Error(`${url} is not served offline`);
  };
}

function describe(error) {
  if(!error) {
    return null;
  }
  const errors = Array.isArray(error) ? error : (error.errors || [error]);
  return errors.map(e => e.message || String(e)).join('; ');
}

async function main() {
  const request = JSON.parse(await readFile(process.argv[2], 'utf8'));
  const loaded = [];
  const documentLoader = makeLoader(request, loaded);
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const now = request.now ? new Date(request.now) : undefined;
  const result = await vc.verifyCredential({
    credential: request.credential,
    suite,
    documentLoader,
    now,
    checkStatus: async ({credential}) => checkStatus({
      credential, documentLoader, suite,
      verifyBitstringStatusListCredential: true,
      verifyMatchingIssuers: true
    })
  });
  const answer = {
    verified: result.verified,
    error: describe(result.error),
    status: null,
    expanded: null,
    loaded
  };
  if(result.statusResult) {
    const [first = {}] = result.statusResult.results || [];
    answer.status = {
      verified: result.statusResult.verified,
      revoked: first.status === true,
      error: describe(result.statusResult.error)
    };
  }
  if(request.expand) {
    // Safe mode fails on any term our context leaves undefined (it would be silently dropped).
    try {
      const expanded = await jsonld.expand(request.credential, {documentLoader, safe: true});
      answer.expanded = {ok: true, nodes: expanded.length};
    } catch(e) {
      answer.expanded = {ok: false, error: e.message};
    }
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}

main().catch(e => {
  process.stderr.write(`verify.js: ${e.stack || e}\n`);
  process.exit(2);
});
