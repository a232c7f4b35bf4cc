const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const { interfaceId } = require("./helpers");

// The product target is at most 100 gas per item for 1,000-item batches; the whole anchor transaction,
// 21,000 base cost included, must stay well below that.
const ANCHOR_GAS_LIMIT = 80_000n;

const ROOT_A = ethers.keccak256(ethers.toUtf8Bytes("checkpoint A"));
const ROOT_B = ethers.keccak256(ethers.toUtf8Bytes("checkpoint B"));
const ROOT_C = ethers.keccak256(ethers.toUtf8Bytes("checkpoint C"));
const MAX_UINT64 = 2n ** 64n - 1n;

describe("EvidenceRegistry", function () {
  async function deployFixture() {
    const [admin, anchorer, stranger] = await ethers.getSigners();
    const registry = await ethers.deployContract("EvidenceRegistry", [admin.address]);
    const ANCHORER_ROLE = await registry.ANCHORER_ROLE();
    const DEFAULT_ADMIN_ROLE = await registry.DEFAULT_ADMIN_ROLE();
    return { registry, admin, anchorer, stranger, ANCHORER_ROLE, DEFAULT_ADMIN_ROLE };
  }

  async function anchoredFixture() {
    const fixture = await deployFixture();
    const tx = await fixture.registry.anchor(ROOT_A, 1000);
    const receipt = await tx.wait();
    const block = await ethers.provider.getBlock(receipt.blockNumber);
    return { ...fixture, receipt, block };
  }

  describe("deployment", function () {
    it("grants the admin DEFAULT_ADMIN_ROLE and ANCHORER_ROLE", async function () {
      const { registry, admin, stranger, ANCHORER_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      expect(ANCHORER_ROLE).to.equal(ethers.id("ANCHORER_ROLE"));
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(ANCHORER_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(ANCHORER_ROLE, stranger.address)).to.equal(false);
    });

    it("starts empty and reports its version", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.batchCount()).to.equal(0n);
      expect(await registry.isAnchored(ROOT_A)).to.equal(false);
      expect(await registry.version()).to.equal("EvidenceRegistry/2");
    });

    it("reverts for a zero admin", async function () {
      const factory = await ethers.getContractFactory("EvidenceRegistry");
      await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "EvidenceRegistryZeroAdmin",
      );
    });

    it("supports ERC-165 for IEvidenceRegistry, IAccessControl and ERC-165, not for random ids", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.supportsInterface(await interfaceId("IEvidenceRegistry"))).to.equal(true);
      expect(await registry.supportsInterface("0x01ffc9a7")).to.equal(true); // ERC-165
      expect(await registry.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  describe("anchor", function () {
    it("records root, tree size, block time and block number", async function () {
      const { registry, block } = await loadFixture(anchoredFixture);
      const batch = await registry.getBatch(1);
      expect(batch.root).to.equal(ROOT_A);
      expect(batch.treeSize).to.equal(1000n);
      expect(batch.timestamp).to.equal(BigInt(block.timestamp));
      expect(batch.blockNumber).to.equal(BigInt(block.number));
      expect(await registry.batchCount()).to.equal(1n);
      expect(await registry.isAnchored(ROOT_A)).to.equal(true);
    });

    it("emits CheckpointAnchored with the batch id, root, tree size, time and anchorer", async function () {
      const { registry, admin } = await loadFixture(deployFixture);
      const next = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(next);
      await expect(registry.anchor(ROOT_A, 7))
        .to.emit(registry, "CheckpointAnchored")
        .withArgs(1n, ROOT_A, 7n, BigInt(next), admin.address);
    });

    it("gives sequential batch ids starting at 1 to checkpoints of a growing log", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.anchor.staticCall(ROOT_A, 1)).to.equal(1n);
      await registry.anchor(ROOT_A, 1);
      expect(await registry.anchor.staticCall(ROOT_B, 2)).to.equal(2n);
      await registry.anchor(ROOT_B, 2);
      await registry.anchor(ROOT_C, 1000);
      expect(await registry.batchCount()).to.equal(3n);
      expect((await registry.getBatch(2)).root).to.equal(ROOT_B);
      expect((await registry.getBatch(3)).treeSize).to.equal(1000n);
    });

    it("accepts a log of one leaf and the largest uint64 tree size", async function () {
      const { registry } = await loadFixture(deployFixture);
      await registry.anchor(ROOT_A, 1);
      await registry.anchor(ROOT_B, MAX_UINT64);
      expect((await registry.getBatch(2)).treeSize).to.equal(MAX_UINT64);
    });

    it("refuses a tree size equal to or smaller than the latest, naming both sizes", async function () {
      const { registry } = await loadFixture(anchoredFixture);
      for (const treeSize of [1000n, 999n, 1n]) {
        await expect(registry.anchor(ROOT_B, treeSize))
          .to.be.revertedWithCustomError(registry, "EvidenceRegistryTreeSizeNotGrowing")
          .withArgs(treeSize, 1000n);
      }
      expect(await registry.isAnchored(ROOT_B)).to.equal(false);
      expect(await registry.batchCount()).to.equal(1n);
      // The refusals left the log where it was: the next size up is accepted.
      await registry.anchor(ROOT_B, 1001);
      await expect(registry.anchor(ROOT_C, 1001))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryTreeSizeNotGrowing")
        .withArgs(1001n, 1001n);
    });

    it("refuses an empty log, even as the first checkpoint", async function () {
      const { registry } = await loadFixture(deployFixture);
      await expect(registry.anchor(ROOT_A, 0))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryTreeSizeNotGrowing")
        .withArgs(0n, 0n);
    });

    it("refuses every checkpoint after one at the largest uint64 tree size", async function () {
      const { registry } = await loadFixture(deployFixture);
      await registry.anchor(ROOT_A, MAX_UINT64);
      await expect(registry.anchor(ROOT_B, MAX_UINT64))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryTreeSizeNotGrowing")
        .withArgs(MAX_UINT64, MAX_UINT64);
    });

    it("reverts for a zero root", async function () {
      const { registry } = await loadFixture(deployFixture);
      await expect(registry.anchor(ethers.ZeroHash, 1)).to.be.revertedWithCustomError(
        registry,
        "EvidenceRegistryZeroRoot",
      );
    });

    it("reverts for a root already anchored, naming the first batch, before checking the size", async function () {
      const { registry } = await loadFixture(anchoredFixture);
      await registry.anchor(ROOT_B, 1005);
      // Re-sending the same checkpoint (a retry) and sending its root with any size both name the first
      // batch: the client recognises an anchor it already made by this error.
      for (const treeSize of [1000n, 3n, 2000n]) {
        await expect(registry.anchor(ROOT_A, treeSize))
          .to.be.revertedWithCustomError(registry, "EvidenceRegistryRootAlreadyAnchored")
          .withArgs(ROOT_A, 1n);
      }
      expect(await registry.batchCount()).to.equal(2n);
    });

    it("reverts for an account without ANCHORER_ROLE", async function () {
      const { registry, stranger, ANCHORER_ROLE } = await loadFixture(deployFixture);
      await expect(registry.connect(stranger).anchor(ROOT_A, 1))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, ANCHORER_ROLE);
    });

    it("costs less than 80,000 gas, first checkpoint and later ones", async function () {
      const { registry } = await loadFixture(deployFixture);
      const roots = [ROOT_A, ROOT_B, ROOT_C];
      for (const [i, root] of roots.entries()) {
        const receipt = await (await registry.anchor(root, 1000 * (i + 1))).wait();
        expect(receipt.gasUsed).to.be.lessThan(ANCHOR_GAS_LIMIT);
      }
    });
  });

  describe("roles", function () {
    it("lets the admin grant ANCHORER_ROLE, and the grantee anchor", async function () {
      const { registry, admin, anchorer, ANCHORER_ROLE } = await loadFixture(deployFixture);
      await expect(registry.grantRole(ANCHORER_ROLE, anchorer.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(ANCHORER_ROLE, anchorer.address, admin.address);
      await expect(registry.connect(anchorer).anchor(ROOT_A, 1))
        .to.emit(registry, "CheckpointAnchored")
        .withArgs(1n, ROOT_A, 1n, (value) => typeof value === "bigint", anchorer.address);
    });

    it("stops a revoked anchorer", async function () {
      const { registry, admin, anchorer, ANCHORER_ROLE } = await loadFixture(deployFixture);
      await registry.grantRole(ANCHORER_ROLE, anchorer.address);
      await expect(registry.revokeRole(ANCHORER_ROLE, anchorer.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(ANCHORER_ROLE, anchorer.address, admin.address);
      await expect(registry.connect(anchorer).anchor(ROOT_A, 1))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(anchorer.address, ANCHORER_ROLE);
    });

    it("refuses role grants from accounts that are not admin", async function () {
      const { registry, stranger, ANCHORER_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      await expect(registry.connect(stranger).grantRole(ANCHORER_ROLE, stranger.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
    });
  });

  describe("views", function () {
    it("finds a batch by root", async function () {
      const { registry, block } = await loadFixture(anchoredFixture);
      const [batchId, batch] = await registry.findRoot(ROOT_A);
      expect(batchId).to.equal(1n);
      expect(batch.root).to.equal(ROOT_A);
      expect(batch.treeSize).to.equal(1000n);
      expect(batch.timestamp).to.equal(BigInt(block.timestamp));
      expect(batch.blockNumber).to.equal(BigInt(block.number));
    });

    it("gives the latest checkpoint, the one with the largest tree size", async function () {
      const { registry } = await loadFixture(anchoredFixture);
      let [batchId, batch] = await registry.latestCheckpoint();
      expect(batchId).to.equal(1n);
      expect(batch.root).to.equal(ROOT_A);
      expect(batch.treeSize).to.equal(1000n);

      const receipt = await (await registry.anchor(ROOT_B, 1500)).wait();
      const block = await ethers.provider.getBlock(receipt.blockNumber);
      [batchId, batch] = await registry.latestCheckpoint();
      expect(batchId).to.equal(await registry.batchCount());
      expect([batch.root, batch.treeSize, batch.timestamp, batch.blockNumber]).to.deep.equal([
        ROOT_B,
        1500n,
        BigInt(block.timestamp),
        BigInt(block.number),
      ]);
      expect(batch).to.deep.equal(await registry.getBatch(2));
    });

    it("reverts latestCheckpoint with UnknownBatch(0) before the first checkpoint", async function () {
      const { registry } = await loadFixture(deployFixture);
      await expect(registry.latestCheckpoint())
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryUnknownBatch")
        .withArgs(0n);
    });

    it("reverts getBatch for id 0 and for ids past the latest batch", async function () {
      const { registry } = await loadFixture(anchoredFixture);
      for (const batchId of [0n, 2n, 2n ** 64n - 1n]) {
        await expect(registry.getBatch(batchId))
          .to.be.revertedWithCustomError(registry, "EvidenceRegistryUnknownBatch")
          .withArgs(batchId);
      }
    });

    it("reverts findRoot for a root never anchored, including zero", async function () {
      const { registry } = await loadFixture(anchoredFixture);
      for (const root of [ROOT_B, ethers.ZeroHash]) {
        await expect(registry.findRoot(root))
          .to.be.revertedWithCustomError(registry, "EvidenceRegistryUnknownRoot")
          .withArgs(root);
      }
      expect(await registry.isAnchored(ROOT_B)).to.equal(false);
      expect(await registry.isAnchored(ethers.ZeroHash)).to.equal(false);
    });
  });
});
