#!/usr/bin/env node
/**
 * Writes the committed contract artifacts in chain/src/ipnotary/chain/artifacts/ from a Hardhat compile.
 *
 * The Python chain layer deploys and calls the contracts from these files, so it needs neither Node nor a
 * compiler. Each file holds one deployable contract: its ABI, creation and runtime bytecode, the compiler
 * settings and the SHA-256 of every project source (under contracts/) it was compiled from. The Python
 * test suite compares those hashes with the sources on disk to catch a .sol edited without re-exporting.
 *
 *   node scripts/export-artifacts.js           compile and (re)write chain/src/ipnotary/chain/artifacts/*.json
 *   node scripts/export-artifacts.js --check   compile from scratch and fail if any committed file differs
 *
 * Only the files directly in chain/src/ipnotary/chain/artifacts/ are written, checked or removed: chain/src/ipnotary/chain/artifacts/legacy/ holds
 * frozen artifacts of earlier contract versions (see its README), which are never rebuilt.
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const OUT_DIR = path.join(ROOT, "chain", "src", "ipnotary", "chain", "artifacts");
// Source names as Hardhat reports them: project files are relative to the root, libraries to node_modules.
const PROJECT_PREFIX = "contracts/";
const EXCLUDED_PREFIXES = ["contracts/test/", "contracts/interfaces/"];

/** JSON with object keys sorted at every level, 2-space indent and a trailing newline. */
function canonicalJson(value) {
  const sortKeys = (v) => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortKeys(v[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sha256Hex(text) {
  return crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

function isDeployableSource(sourceName) {
  return sourceName.startsWith(PROJECT_PREFIX) && !EXCLUDED_PREFIXES.some((p) => sourceName.startsWith(p));
}

/** Builds the artifact of one contract from its Hardhat build info. */
function buildArtifact(sourceName, contractName, buildInfo) {
  const output = buildInfo.output.contracts[sourceName][contractName];
  // The metadata lists exactly the sources this contract was compiled from, unlike the build info's input,
  // which may hold every file of a merged compilation job.
  const metadata = JSON.parse(output.metadata);
  const sources = {};
  for (const name of Object.keys(metadata.sources)) {
    if (name.startsWith(PROJECT_PREFIX)) {
      sources[name] = sha256Hex(buildInfo.input.sources[name].content);
    }
  }
  return {
    contractName,
    sourceName,
    abi: output.abi,
    bytecode: `0x${output.evm.bytecode.object}`,
    deployedBytecode: `0x${output.evm.deployedBytecode.object}`,
    compiler: {
      version: metadata.compiler.version,
      optimizer: metadata.settings.optimizer,
      evmVersion: metadata.settings.evmVersion,
    },
    sources,
  };
}

/** Compiles the project and returns {fileName: renderedJson} for every deployable contract. */
async function renderArtifacts({ force }) {
  process.chdir(ROOT);
  const hre = require("hardhat");
  await hre.run("compile", { force, quiet: true });

  const rendered = {};
  for (const fqn of await hre.artifacts.getAllFullyQualifiedNames()) {
    const [sourceName, contractName] = fqn.split(":");
    if (!isDeployableSource(sourceName)) continue;
    const buildInfo = await hre.artifacts.getBuildInfo(fqn);
    const artifact = buildArtifact(sourceName, contractName, buildInfo);
    if (artifact.bytecode === "0x") continue; // abstract contract
    const fileName = `${contractName}.json`;
    if (fileName in rendered) {
      throw new Error(`two deployable contracts are named ${contractName}; artifact names must be unique`);
    }
    rendered[fileName] = canonicalJson(artifact);
  }
  return rendered;
}

/** The committed artifacts of the current build: JSON files directly in OUT_DIR, not in legacy/. */
function committedArtifactNames() {
  if (!fs.existsSync(OUT_DIR)) return [];
  return fs
    .readdirSync(OUT_DIR, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort();
}

async function exportArtifacts() {
  const rendered = await renderArtifacts({ force: false });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  for (const stale of committedArtifactNames().filter((f) => !(f in rendered))) {
    fs.unlinkSync(path.join(OUT_DIR, stale));
    console.log(`removed chain/src/ipnotary/chain/artifacts/${stale} (no such contract any more)`);
  }
  for (const [fileName, text] of Object.entries(rendered).sort()) {
    fs.writeFileSync(path.join(OUT_DIR, fileName), text);
    console.log(`wrote chain/src/ipnotary/chain/artifacts/${fileName}`);
  }
}

async function checkArtifacts() {
  // force: compare against a compile from scratch, never against Hardhat's cache.
  const rendered = await renderArtifacts({ force: true });
  const problems = [];
  for (const [fileName, text] of Object.entries(rendered).sort()) {
    const file = path.join(OUT_DIR, fileName);
    if (!fs.existsSync(file)) {
      problems.push(`chain/src/ipnotary/chain/artifacts/${fileName} is missing`);
    } else if (fs.readFileSync(file, "utf8") !== text) {
      problems.push(`chain/src/ipnotary/chain/artifacts/${fileName} differs from a fresh compile`);
    }
  }
  for (const stale of committedArtifactNames().filter((f) => !(f in rendered))) {
    problems.push(`chain/src/ipnotary/chain/artifacts/${stale} has no matching contract under contracts/`);
  }
  if (problems.length > 0) {
    console.error("Committed contract artifacts are out of date:");
    for (const problem of problems) console.error(`  - ${problem}`);
    console.error("Run `npm run export-artifacts` and commit chain/src/ipnotary/chain/artifacts/.");
    process.exitCode = 1;
    return;
  }
  console.log(`chain/src/ipnotary/chain/artifacts/ matches a fresh compile (${Object.keys(rendered).length} contracts)`);
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--check");
if (unknown.length > 0) {
  console.error(`unknown argument(s): ${unknown.join(" ")}\nusage: node scripts/export-artifacts.js [--check]`);
  process.exit(2);
}
(args.includes("--check") ? checkArtifacts() : exportArtifacts()).catch((error) => {
  console.error(error);
  process.exit(1);
});
