/**
 * RFC 9162 Merkle hashing: leaves `SHA-256(0x00 || data)`, nodes `SHA-256(0x01 || l || r)`, and
 * the root from an inclusion proof (section 2.1.3.2), as `ipnotary.sdk.merkle` computes them.
 *
 * @module merkle
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { concat } from './bytes.js';

// A log checkpoint is verified up to this many leaves (the SDK's MAX_TREE_SIZE).
export const MAX_TREE_SIZE = 1n << 32n;

export class ProofError extends Error {}

/** @param {Uint8Array} data */
export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));

/** @param {Uint8Array} left @param {Uint8Array} right */
export const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

/**
 * @param {Uint8Array} leaf
 * @param {bigint} index
 * @param {bigint} treeSize
 * @param {Uint8Array[]} path leaf-side sibling first
 * @returns {Uint8Array} the root the proof leads to
 */
export function rootFromInclusionProof(leaf, index, treeSize, path) {
  if (!(index >= 0n && index < treeSize)) {
    throw new ProofError(`leaf index ${index} is outside a tree of size ${treeSize}`);
  }
  if (treeSize > MAX_TREE_SIZE) throw new ProofError(`tree size ${treeSize} is over the limit of ${MAX_TREE_SIZE}`);
  let fn = index;
  let sn = treeSize - 1n;
  let r = leaf;
  for (const p of path) {
    if (p.length !== 32) throw new ProofError('every audit path entry must be a 32-byte hash');
    if (sn === 0n) throw new ProofError('audit path is longer than the tree is deep');
    if (fn & 1n || fn === sn) {
      r = nodeHash(p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('audit path is shorter than the tree is deep');
  return r;
}
