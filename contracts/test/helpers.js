// Shared by the contract tests; mocha also loads this file, which defines no tests.
const { artifacts, ethers } = require("hardhat");

/** ERC-165 id of a compiled interface: the XOR of its function selectors. */
async function interfaceId(name) {
  const { abi } = await artifacts.readArtifact(name);
  let id = 0n;
  new ethers.Interface(abi).forEachFunction((fn) => {
    id ^= BigInt(fn.selector);
  });
  return ethers.toBeHex(id, 4);
}

module.exports = { interfaceId };
