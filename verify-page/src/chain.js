/**
 * Reading anchors from any Ethereum JSON-RPC node, as `ipnotary.sdk.chain_view` does: the
 * registry at the certificate's address must run our compiled code (the checkpoint registry, or
 * the version 1 batch registry of old certificates), so a look-alike contract that "confirms"
 * any root cannot pass; the anchor is read from the registry itself and from the transaction's
 * receipt. A node that cannot be read raises `ChainReadError`: that says nothing about the
 * certificate, and the page says it could not check rather than that the certificate is invalid.
 *
 * @module chain
 */

import { keccak_256 } from '@noble/hashes/sha3.js';
import { fromHex, toHex, utf8 } from './bytes.js';
import { REGISTRY_CODE } from './registry-code.js';

export class ChainReadError extends Error {}

const selector = (signature) => toHex(keccak_256(utf8(signature)).slice(0, 4));
const topic = (signature) => '0x' + toHex(keccak_256(utf8(signature)));
const FIND_ROOT = selector('findRoot(bytes32)');
const UNKNOWN_ROOT = selector('EvidenceRegistryUnknownRoot(bytes32)');
const EVENTS = {
  2: topic('CheckpointAnchored(uint64,bytes32,uint64,uint64,address)'),
  1: topic('BatchAnchored(uint64,bytes32,uint64,uint64,address)'),
};

/**
 * @typedef {{batchId: bigint, treeSize: bigint, timestamp: bigint, blockNumber: bigint, root: Uint8Array}} AnchorView
 */

/** @param {string} hex a 0x quantity */
const quantity = (hex) => {
  if (typeof hex !== 'string' || !/^0x[0-9a-fA-F]+$/.test(hex)) throw new ChainReadError(`the node answered ${JSON.stringify(hex)} where a number belongs`);
  return BigInt(hex);
};
const toQuantity = (n) => '0x' + n.toString(16);
/** @param {string} data @param {number} word */
const word = (data, word) => BigInt('0x' + (data.slice(2 + word * 64, 2 + (word + 1) * 64) || '0'));

/** Anchors through one node. */
export class RpcChainView {
  /** @param {string} url @param {{fetch?: typeof fetch, timeoutMs?: number}} [options] */
  constructor(url, { fetch: fetchFn = globalThis.fetch.bind(globalThis), timeoutMs = 10000 } = {}) {
    this.url = url;
    this.fetch = fetchFn;
    this.timeoutMs = timeoutMs;
    this.id = 0;
    /** @type {Map<string, 1 | 2>} */
    this.versions = new Map();
  }

  /** @param {string} method @param {unknown[]} params */
  async rpc(method, params) {
    let response;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }),
        credentials: 'omit',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new ChainReadError(`cannot reach the node: ${e.message}`);
    }
    if (!response.ok) throw new ChainReadError(`the node answered HTTP ${response.status} to ${method}`);
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ChainReadError(`the node's answer to ${method} is not JSON`);
    }
    if (body.error) {
      const error = new ChainReadError(`the node refused ${method}: ${body.error.message ?? 'error'}`);
      error.data = typeof body.error.data === 'string' ? body.error.data : body.error.data?.data;
      throw error;
    }
    return body.result;
  }

  async chainId() {
    return quantity(await this.rpc('eth_chainId', []));
  }

  /** @param {bigint | 'latest'} number */
  async block(number) {
    const block = await this.rpc('eth_getBlockByNumber', [number === 'latest' ? 'latest' : toQuantity(number), false]);
    if (!block) return null;
    return { number: quantity(block.number), hash: String(block.hash).toLowerCase(), timestamp: quantity(block.timestamp) };
  }

  async genesisHash() {
    const block = await this.block(0n);
    if (!block) throw new ChainReadError('the node has no block 0');
    return block.hash;
  }

  /** The registry's version, from its code: ours or nothing. @param {string} contract */
  async registry(contract) {
    const key = contract.toLowerCase();
    if (!this.versions.has(key)) {
      const code = String(await this.rpc('eth_getCode', [contract, 'latest'])).toLowerCase();
      if (code === '0x' || code === '0x0') throw new ChainReadError(`no contract code at ${contract} on this chain`);
      const version = code === REGISTRY_CODE[2] ? 2 : code === REGISTRY_CODE[1] ? 1 : 0;
      if (!version) throw new ChainReadError(`the code at ${contract} is not the EvidenceRegistry this verifier knows`);
      this.versions.set(key, version);
    }
    return this.versions.get(key);
  }

  /** @param {string} contract @param {Uint8Array} root @returns {Promise<AnchorView | null>} */
  async findAnchor(contract, root) {
    await this.registry(contract);
    let result;
    try {
      result = await this.rpc('eth_call', [{ to: contract, data: '0x' + FIND_ROOT + toHex(root) }, 'latest']);
    } catch (e) {
      if (e instanceof ChainReadError && typeof e.data === 'string' && e.data.toLowerCase().startsWith('0x' + UNKNOWN_ROOT)) return null;
      throw e;
    }
    if (typeof result !== 'string' || result.length < 2 + 5 * 64) throw new ChainReadError('the registry answered findRoot with too little data');
    return {
      batchId: word(result, 0),
      root: fromHex(result.slice(2 + 64, 2 + 128)),
      treeSize: word(result, 2),
      timestamp: word(result, 3),
      blockNumber: word(result, 4),
    };
  }

  /** @param {string} contract @param {string} txHash @returns {Promise<AnchorView | null>} */
  async anchorInTransaction(contract, txHash) {
    const version = await this.registry(contract);
    const receipt = await this.rpc('eth_getTransactionReceipt', [txHash.toLowerCase()]);
    if (!receipt) return null;
    const anchored = (receipt.logs ?? []).filter(
      (log) => String(log.address).toLowerCase() === contract.toLowerCase() && String(log.topics?.[0]).toLowerCase() === EVENTS[version],
    );
    if (!anchored.length) return null;
    if (anchored.length > 1) throw new ChainReadError(`transaction ${txHash} anchored ${anchored.length} roots in the registry`);
    const log = anchored[0];
    const block = await this.block(quantity(receipt.blockNumber));
    if (!block) throw new ChainReadError(`block ${quantity(receipt.blockNumber)} of the transaction is not on the chain`);
    if (block.hash !== String(receipt.blockHash).toLowerCase()) {
      throw new ChainReadError(`the block of transaction ${txHash} was replaced: wait for it to be mined again`);
    }
    return {
      batchId: quantity(log.topics[1]),
      root: fromHex(String(log.topics[2]).slice(2)),
      treeSize: word(log.data, 0),
      timestamp: block.timestamp,
      blockNumber: block.number,
    };
  }

  /** @param {bigint} number @returns {Promise<[string, bigint] | null>} */
  async blockHashAndTime(number) {
    const block = await this.block(number);
    return block ? [block.hash, block.timestamp] : null;
  }

  async headBlockNumber() {
    return quantity(await this.rpc('eth_blockNumber', []));
  }
}
