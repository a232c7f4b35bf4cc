/**
 * Hardhat 2 configuration for the notary contracts.
 *
 * The machines this project builds on have no access to binaries.soliditylang.org, so Hardhat must never
 * download a compiler. The `solc` npm package (pinned in package-lock.json) ships the WebAssembly build of
 * the compiler as `soljson.js`; the subtask override below hands that file to Hardhat instead.
 */
require("@nomicfoundation/hardhat-toolbox");

const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  if (solcVersion !== SOLC_VERSION) {
    // Falling through to runSuper would start a download, which fails offline with an obscure error.
    throw new Error(
      `solc ${solcVersion} requested but only the npm package solc@${SOLC_VERSION} is available offline; ` +
        "change solidity.version in hardhat.config.js or the solc version in package.json",
    );
  }
  // Loaded lazily: evaluating soljson.js takes a second and is only needed when something is compiled.
  // solc reports e.g. "0.8.30+commit.73712a01.Emscripten.clang"; Hardhat's long versions stop at the commit.
  const longVersion = require("solc").version().replace(/\.Emscripten\.clang$/, "");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
    },
  },
  networks: {
    hardhat: {
      chainId: 31337,
    },
  },
  paths: {
    sources: "./contracts",
    tests: "./contracts/test",
    cache: "./cache",
    artifacts: "./artifacts",
  },
  mocha: {
    // Compiling with solcjs can take a while on a cold cache; the tests themselves are fast.
    timeout: 120000,
  },
};
