const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, mine, time } = require("@nomicfoundation/hardhat-network-helpers");
const { interfaceId } = require("./helpers");

const ACTIVE = 1n;
const RELEASED = 2n;
const ENFORCED = 3n;

// Stand-ins for the commitments the Python side computes (asset type + registration number, party ids,
// canonical JSON of the terms).
const PATENT = ethers.id("patent:ZL202310000001.X");
const TRADEMARK = ethers.id("trademark:60000001");
const PLEDGOR = ethers.id("91350100M000100Y43");
const PLEDGEE = ethers.id("bank:91110000100000001X");
const OTHER_PLEDGEE = ethers.id("bank:91310000100000002Y");
const STRANGER = ethers.id("somebody else");
const TERMS = ethers.id('{"amount":"1000000.00","currency":"CNY","term":"P2Y"}');
const NEW_TERMS = ethers.id('{"amount":"800000.00","currency":"CNY","term":"P3Y"}');

describe("PledgeRegistry", function () {
  async function deployFixture() {
    const [admin, registrar, stranger] = await ethers.getSigners();
    const registry = await ethers.deployContract("PledgeRegistry", [admin.address]);
    const REGISTRAR_ROLE = await registry.REGISTRAR_ROLE();
    const DEFAULT_ADMIN_ROLE = await registry.DEFAULT_ADMIN_ROLE();
    return { registry, admin, registrar, stranger, REGISTRAR_ROLE, DEFAULT_ADMIN_ROLE };
  }

  /** One active pledge (id 1) on PATENT. */
  async function pledgedFixture() {
    const fixture = await deployFixture();
    const receipt = await (await fixture.registry.register(PATENT, PLEDGOR, PLEDGEE, TERMS)).wait();
    const block = await ethers.provider.getBlock(receipt.blockNumber);
    return { ...fixture, receipt, block };
  }

  describe("deployment", function () {
    it("grants the admin DEFAULT_ADMIN_ROLE and REGISTRAR_ROLE", async function () {
      const { registry, admin, stranger, REGISTRAR_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      expect(REGISTRAR_ROLE).to.equal(ethers.id("REGISTRAR_ROLE"));
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(REGISTRAR_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(REGISTRAR_ROLE, stranger.address)).to.equal(false);
    });

    it("starts empty and reports its version and status values", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.pledgeCount()).to.equal(0n);
      expect(await registry.activePledgeOf(PATENT)).to.equal(0n);
      expect(await registry.pledgesOf(PATENT)).to.deep.equal([]);
      expect(await registry.version()).to.equal("PledgeRegistry/1");
      expect(await registry.STATUS_ACTIVE()).to.equal(ACTIVE);
      expect(await registry.STATUS_RELEASED()).to.equal(RELEASED);
      expect(await registry.STATUS_ENFORCED()).to.equal(ENFORCED);
    });

    it("reverts for a zero admin", async function () {
      const factory = await ethers.getContractFactory("PledgeRegistry");
      await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "PledgeRegistryZeroAdmin",
      );
    });

    it("supports ERC-165 for IPledgeRegistry, IAccessControl and ERC-165", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.supportsInterface(await interfaceId("IPledgeRegistry"))).to.equal(true);
      expect(await registry.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await registry.supportsInterface("0x01ffc9a7")).to.equal(true); // ERC-165
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  describe("register", function () {
    it("records the pledge as active and indexes it by asset", async function () {
      const { registry, block } = await loadFixture(pledgedFixture);
      const pledge = await registry.getPledge(1);
      expect(pledge.assetId).to.equal(PATENT);
      expect(pledge.pledgor).to.equal(PLEDGOR);
      expect(pledge.pledgee).to.equal(PLEDGEE);
      expect(pledge.termsDigest).to.equal(TERMS);
      expect(pledge.registeredAt).to.equal(BigInt(block.timestamp));
      expect(pledge.releasedAt).to.equal(0n);
      expect(pledge.status).to.equal(ACTIVE);
      expect(await registry.activePledgeOf(PATENT)).to.equal(1n);
      expect(await registry.pledgesOf(PATENT)).to.deep.equal([1n]);
      expect(await registry.pledgeCount()).to.equal(1n);
    });

    it("emits PledgeRegistered", async function () {
      const { registry } = await loadFixture(deployFixture);
      await expect(registry.register(PATENT, PLEDGOR, PLEDGEE, TERMS))
        .to.emit(registry, "PledgeRegistered")
        .withArgs(1n, PATENT, PLEDGOR, PLEDGEE, TERMS);
    });

    it("gives sequential ids across assets", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      expect(await registry.register.staticCall(TRADEMARK, PLEDGOR, PLEDGEE, TERMS)).to.equal(2n);
      await registry.register(TRADEMARK, PLEDGOR, PLEDGEE, TERMS);
      expect(await registry.activePledgeOf(TRADEMARK)).to.equal(2n);
      expect(await registry.pledgeCount()).to.equal(2n);
    });

    it("refuses a second active pledge on the same asset, naming the active one", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.register(PATENT, PLEDGOR, OTHER_PLEDGEE, TERMS))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryAssetAlreadyPledged")
        .withArgs(PATENT, 1n);
    });

    it("accepts a new pledge once the previous one is released, keeping the history", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await registry.release(1, PLEDGOR);
      await registry.register(PATENT, PLEDGOR, OTHER_PLEDGEE, NEW_TERMS);
      expect(await registry.activePledgeOf(PATENT)).to.equal(2n);
      expect(await registry.pledgesOf(PATENT)).to.deep.equal([1n, 2n]);
      expect((await registry.getPledge(1)).status).to.equal(RELEASED);
    });

    for (const [field, args] of [
      ["assetId", [ethers.ZeroHash, PLEDGOR, PLEDGEE, TERMS]],
      ["pledgor", [PATENT, ethers.ZeroHash, PLEDGEE, TERMS]],
      ["pledgee", [PATENT, PLEDGOR, ethers.ZeroHash, TERMS]],
      ["termsDigest", [PATENT, PLEDGOR, PLEDGEE, ethers.ZeroHash]],
    ]) {
      it(`reverts for a zero ${field}`, async function () {
        const { registry } = await loadFixture(deployFixture);
        await expect(registry.register(...args))
          .to.be.revertedWithCustomError(registry, "PledgeRegistryZeroValue")
          .withArgs(field);
      });
    }

    it("reverts when pledgor and pledgee are the same party", async function () {
      const { registry } = await loadFixture(deployFixture);
      await expect(registry.register(PATENT, PLEDGOR, PLEDGOR, TERMS))
        .to.be.revertedWithCustomError(registry, "PledgeRegistrySameParty")
        .withArgs(PLEDGOR);
    });
  });

  describe("amend", function () {
    it("replaces the terms and emits PledgeAmended", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.amend(1, NEW_TERMS)).to.emit(registry, "PledgeAmended").withArgs(1n, PATENT, NEW_TERMS);
      const pledge = await registry.getPledge(1);
      expect(pledge.termsDigest).to.equal(NEW_TERMS);
      expect(pledge.status).to.equal(ACTIVE);
    });

    it("reverts for a zero digest", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.amend(1, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryZeroValue")
        .withArgs("termsDigest");
    });

    it("reverts for an unknown pledge", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.amend(2, NEW_TERMS))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryUnknownPledge")
        .withArgs(2n);
    });

    it("reverts for a released pledge", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await registry.release(1, PLEDGEE);
      await expect(registry.amend(1, NEW_TERMS))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(1n, RELEASED);
    });
  });

  describe("release", function () {
    for (const [who, party] of [
      ["pledgor", PLEDGOR],
      ["pledgee", PLEDGEE],
    ]) {
      it(`releases at the request of the ${who}`, async function () {
        const { registry } = await loadFixture(pledgedFixture);
        const next = (await time.latest()) + 60;
        await time.setNextBlockTimestamp(next);
        await expect(registry.release(1, party)).to.emit(registry, "PledgeReleased").withArgs(1n, PATENT, party);
        const pledge = await registry.getPledge(1);
        expect(pledge.status).to.equal(RELEASED);
        expect(pledge.releasedAt).to.equal(BigInt(next));
        expect(await registry.activePledgeOf(PATENT)).to.equal(0n);
        expect(await registry.pledgesOf(PATENT)).to.deep.equal([1n]);
      });
    }

    it("reverts for a party that is neither pledgor nor pledgee", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.release(1, STRANGER))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotAParty")
        .withArgs(1n, STRANGER);
    });

    it("reverts for an unknown pledge, including id 0", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      for (const pledgeId of [0n, 2n]) {
        await expect(registry.release(pledgeId, PLEDGOR))
          .to.be.revertedWithCustomError(registry, "PledgeRegistryUnknownPledge")
          .withArgs(pledgeId);
      }
    });

    it("reverts for a pledge already released or enforced", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await registry.release(1, PLEDGOR);
      await expect(registry.release(1, PLEDGOR))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(1n, RELEASED);

      await registry.register(PATENT, PLEDGOR, PLEDGEE, TERMS);
      await registry.enforce(2, PLEDGEE);
      await expect(registry.release(2, PLEDGOR))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(2n, ENFORCED);
    });
  });

  describe("enforce", function () {
    it("lets the pledgee enforce, ending the pledge", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, PLEDGEE)).to.emit(registry, "PledgeEnforced").withArgs(1n, PATENT, PLEDGEE);
      const pledge = await registry.getPledge(1);
      expect(pledge.status).to.equal(ENFORCED);
      expect(pledge.releasedAt).to.equal(BigInt(await time.latest()));
      expect(await registry.activePledgeOf(PATENT)).to.equal(0n);
    });

    it("reverts when the pledgor tries to enforce", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, PLEDGOR))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotPledgee")
        .withArgs(1n, PLEDGOR);
    });

    it("reverts for a party that is neither pledgor nor pledgee", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, STRANGER))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotAParty")
        .withArgs(1n, STRANGER);
    });

    it("reverts for an unknown pledge", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(9, PLEDGEE))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryUnknownPledge")
        .withArgs(9n);
    });

    it("reverts for a pledge no longer active", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await registry.enforce(1, PLEDGEE);
      await expect(registry.enforce(1, PLEDGEE))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(1n, ENFORCED);
    });
  });

  describe("access control", function () {
    it("refuses every write from an account without REGISTRAR_ROLE", async function () {
      const { registry, stranger, REGISTRAR_ROLE } = await loadFixture(pledgedFixture);
      const asStranger = registry.connect(stranger);
      const calls = [
        () => asStranger.register(TRADEMARK, PLEDGOR, PLEDGEE, TERMS),
        () => asStranger.amend(1, NEW_TERMS),
        () => asStranger.release(1, PLEDGOR),
        () => asStranger.enforce(1, PLEDGEE),
      ];
      for (const call of calls) {
        await expect(call())
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, REGISTRAR_ROLE);
      }
    });

    it("lets the admin grant and revoke REGISTRAR_ROLE", async function () {
      const { registry, admin, registrar, REGISTRAR_ROLE } = await loadFixture(deployFixture);
      await expect(registry.grantRole(REGISTRAR_ROLE, registrar.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(REGISTRAR_ROLE, registrar.address, admin.address);
      await registry.connect(registrar).register(PATENT, PLEDGOR, PLEDGEE, TERMS);

      await expect(registry.revokeRole(REGISTRAR_ROLE, registrar.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(REGISTRAR_ROLE, registrar.address, admin.address);
      await expect(registry.connect(registrar).release(1, PLEDGOR))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, REGISTRAR_ROLE);
    });

    it("refuses role grants from accounts that are not admin", async function () {
      const { registry, stranger, REGISTRAR_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      await expect(registry.connect(stranger).grantRole(REGISTRAR_ROLE, stranger.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
    });
  });

  describe("views", function () {
    it("reverts getPledge for an unknown id, including 0", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      for (const pledgeId of [0n, 2n]) {
        await expect(registry.getPledge(pledgeId))
          .to.be.revertedWithCustomError(registry, "PledgeRegistryUnknownPledge")
          .withArgs(pledgeId);
      }
    });

    it("answers 'was the asset pledged' at past blocks from storage", async function () {
      const { registry, receipt } = await loadFixture(pledgedFixture);
      const registeredAt = receipt.blockNumber;
      await mine(3);
      const releaseReceipt = await (await registry.release(1, PLEDGEE)).wait();

      expect(await registry.activePledgeOf(PATENT, { blockTag: registeredAt - 1 })).to.equal(0n);
      expect(await registry.activePledgeOf(PATENT, { blockTag: registeredAt })).to.equal(1n);
      expect(await registry.activePledgeOf(PATENT, { blockTag: releaseReceipt.blockNumber - 1 })).to.equal(1n);
      expect(await registry.activePledgeOf(PATENT, { blockTag: releaseReceipt.blockNumber })).to.equal(0n);
      expect((await registry.getPledge(1, { blockTag: registeredAt })).status).to.equal(ACTIVE);
    });
  });
});
