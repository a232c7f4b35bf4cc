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
// Stand-in for the hash of the pledgee's signed consent (ipnotary.sdk.pledges.consent_digest).
const CONSENT = ethers.id('{"act":{"action":"release","pledge_id":1},"signature":"..."}');

describe("PledgeRegistry", function () {
  async function deployFixture() {
    const [admin, registrar, stranger, otherRegistrar] = await ethers.getSigners();
    const registry = await ethers.deployContract("PledgeRegistry", [admin.address]);
    const REGISTRAR_ROLE = await registry.REGISTRAR_ROLE();
    const DEFAULT_ADMIN_ROLE = await registry.DEFAULT_ADMIN_ROLE();
    return { registry, admin, registrar, stranger, otherRegistrar, REGISTRAR_ROLE, DEFAULT_ADMIN_ROLE };
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
      expect(await registry.version()).to.equal("PledgeRegistry/2");
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
      const { registry, admin, block } = await loadFixture(pledgedFixture);
      const pledge = await registry.getPledge(1);
      expect(pledge.registrar).to.equal(admin.address);
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

    it("emits PledgeRegistered naming the registrar", async function () {
      const { registry, admin } = await loadFixture(deployFixture);
      await expect(registry.register(PATENT, PLEDGOR, PLEDGEE, TERMS))
        .to.emit(registry, "PledgeRegistered")
        .withArgs(1n, PATENT, PLEDGOR, PLEDGEE, TERMS, admin.address);
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
      await registry.release(1, PLEDGEE, CONSENT);
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
      await registry.release(1, PLEDGEE, CONSENT);
      await expect(registry.amend(1, NEW_TERMS))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(1n, RELEASED);
    });
  });

  describe("release", function () {
    it("releases with the pledgee's consent, recording its hash", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      const next = (await time.latest()) + 60;
      await time.setNextBlockTimestamp(next);
      await expect(registry.release(1, PLEDGEE, CONSENT))
        .to.emit(registry, "PledgeReleased")
        .withArgs(1n, PATENT, PLEDGEE, CONSENT);
      const pledge = await registry.getPledge(1);
      expect(pledge.status).to.equal(RELEASED);
      expect(pledge.releasedAt).to.equal(BigInt(next));
      expect(await registry.activePledgeOf(PATENT)).to.equal(0n);
      expect(await registry.pledgesOf(PATENT)).to.deep.equal([1n]);
    });

    it("refuses a release consented by the pledgor: only the pledgee may release", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.release(1, PLEDGOR, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotPledgee")
        .withArgs(1n, PLEDGOR);
      expect((await registry.getPledge(1)).status).to.equal(ACTIVE);
    });

    it("reverts for a party that is neither pledgor nor pledgee", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.release(1, STRANGER, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotAParty")
        .withArgs(1n, STRANGER);
    });

    it("reverts without a consent digest", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.release(1, PLEDGEE, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryZeroValue")
        .withArgs("consentDigest");
    });

    it("reverts for an unknown pledge, including id 0", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      for (const pledgeId of [0n, 2n]) {
        await expect(registry.release(pledgeId, PLEDGEE, CONSENT))
          .to.be.revertedWithCustomError(registry, "PledgeRegistryUnknownPledge")
          .withArgs(pledgeId);
      }
    });

    it("reverts for a pledge already released or enforced", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await registry.release(1, PLEDGEE, CONSENT);
      await expect(registry.release(1, PLEDGEE, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(1n, RELEASED);

      await registry.register(PATENT, PLEDGOR, PLEDGEE, TERMS);
      await registry.enforce(2, PLEDGEE, CONSENT);
      await expect(registry.release(2, PLEDGEE, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(2n, ENFORCED);
    });
  });

  describe("enforce", function () {
    it("lets the pledgee enforce, ending the pledge and recording its demand's hash", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, PLEDGEE, CONSENT))
        .to.emit(registry, "PledgeEnforced")
        .withArgs(1n, PATENT, PLEDGEE, CONSENT);
      const pledge = await registry.getPledge(1);
      expect(pledge.status).to.equal(ENFORCED);
      expect(pledge.releasedAt).to.equal(BigInt(await time.latest()));
      expect(await registry.activePledgeOf(PATENT)).to.equal(0n);
    });

    it("reverts when the pledgor tries to enforce", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, PLEDGOR, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotPledgee")
        .withArgs(1n, PLEDGOR);
    });

    it("reverts for a party that is neither pledgor nor pledgee", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, STRANGER, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotAParty")
        .withArgs(1n, STRANGER);
    });

    it("reverts without a consent digest", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(1, PLEDGEE, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryZeroValue")
        .withArgs("consentDigest");
    });

    it("reverts for an unknown pledge", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await expect(registry.enforce(9, PLEDGEE, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryUnknownPledge")
        .withArgs(9n);
    });

    it("reverts for a pledge no longer active", async function () {
      const { registry } = await loadFixture(pledgedFixture);
      await registry.enforce(1, PLEDGEE, CONSENT);
      await expect(registry.enforce(1, PLEDGEE, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotActive")
        .withArgs(1n, ENFORCED);
    });
  });

  describe("each registrar's own pledges", function () {
    /** Two registrars, each with one active pledge: 1 on PATENT by `registrar`, 2 on TRADEMARK by the other. */
    async function twoRegistrarsFixture() {
      const fixture = await deployFixture();
      const { registry, registrar, otherRegistrar } = fixture;
      await registry.addRegistrar(registrar.address);
      await registry.addRegistrar(otherRegistrar.address);
      await registry.connect(registrar).register(PATENT, PLEDGOR, PLEDGEE, TERMS);
      await registry.connect(otherRegistrar).register(TRADEMARK, PLEDGOR, PLEDGEE, TERMS);
      return fixture;
    }

    it("refuses another registrar's amend, release and enforce, naming both accounts", async function () {
      const { registry, registrar, otherRegistrar } = await loadFixture(twoRegistrarsFixture);
      const asOther = registry.connect(otherRegistrar);
      for (const call of [
        () => asOther.amend(1, NEW_TERMS),
        () => asOther.release(1, PLEDGEE, CONSENT),
        () => asOther.enforce(1, PLEDGEE, CONSENT),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(registry, "PledgeRegistryNotRegistrar")
          .withArgs(1n, registrar.address, otherRegistrar.address);
      }
      const pledge = await registry.getPledge(1);
      expect([pledge.status, pledge.termsDigest]).to.deep.equal([ACTIVE, TERMS]);
    });

    it("refuses the admin too: holding the admin role does not make a pledge one's own", async function () {
      const { registry, admin, registrar } = await loadFixture(twoRegistrarsFixture);
      await expect(registry.release(1, PLEDGEE, CONSENT))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryNotRegistrar")
        .withArgs(1n, registrar.address, admin.address);
    });

    it("lets each registrar change its own pledge", async function () {
      const { registry, registrar, otherRegistrar } = await loadFixture(twoRegistrarsFixture);
      await registry.connect(registrar).amend(1, NEW_TERMS);
      await registry.connect(otherRegistrar).release(2, PLEDGEE, CONSENT);
      expect((await registry.getPledge(1)).termsDigest).to.equal(NEW_TERMS);
      expect((await registry.getPledge(2)).status).to.equal(RELEASED);
      expect((await registry.getPledge(2)).registrar).to.equal(otherRegistrar.address);
    });

    it("freezes a registrar's pledges while its role is revoked", async function () {
      const { registry, registrar, REGISTRAR_ROLE } = await loadFixture(twoRegistrarsFixture);
      await registry.revokeRole(REGISTRAR_ROLE, registrar.address);
      await expect(registry.connect(registrar).release(1, PLEDGEE, CONSENT))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, REGISTRAR_ROLE);
      await registry.grantRole(REGISTRAR_ROLE, registrar.address);
      await registry.connect(registrar).release(1, PLEDGEE, CONSENT);
    });
  });

  describe("addRegistrar", function () {
    it("grants the role and passes the wei on, in one transaction", async function () {
      const { registry, admin, registrar, REGISTRAR_ROLE } = await loadFixture(deployFixture);
      const amount = ethers.parseEther("0.5");
      const tx = registry.addRegistrar(registrar.address, { value: amount });
      await expect(tx).to.emit(registry, "RoleGranted").withArgs(REGISTRAR_ROLE, registrar.address, admin.address);
      await expect(tx).to.changeEtherBalances([admin, registrar], [-amount, amount]);
      expect(await registry.hasRole(REGISTRAR_ROLE, registrar.address)).to.equal(true);
      expect(await ethers.provider.getBalance(await registry.getAddress())).to.equal(0n);
    });

    it("only funds an account that already is a registrar", async function () {
      const { registry, registrar } = await loadFixture(deployFixture);
      await registry.addRegistrar(registrar.address);
      const tx = registry.addRegistrar(registrar.address, { value: 7n });
      await expect(tx).not.to.emit(registry, "RoleGranted");
      await expect(tx).to.changeEtherBalance(registrar, 7n);
    });

    it("reverts for the zero address, an account refusing wei, and callers without the admin role", async function () {
      const { registry, stranger, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      await expect(registry.addRegistrar(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        registry,
        "PledgeRegistryZeroRegistrar",
      );
      // A contract without a receive function refuses plain transfers: the registry itself.
      const refusing = await registry.getAddress();
      await expect(registry.addRegistrar(refusing, { value: 1n }))
        .to.be.revertedWithCustomError(registry, "PledgeRegistryFundingFailed")
        .withArgs(refusing, 1n);
      await expect(registry.connect(stranger).addRegistrar(stranger.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
    });
  });

  describe("access control", function () {
    it("refuses every write from an account without REGISTRAR_ROLE", async function () {
      const { registry, stranger, REGISTRAR_ROLE } = await loadFixture(pledgedFixture);
      const asStranger = registry.connect(stranger);
      const calls = [
        () => asStranger.register(TRADEMARK, PLEDGOR, PLEDGEE, TERMS),
        () => asStranger.amend(1, NEW_TERMS),
        () => asStranger.release(1, PLEDGEE, CONSENT),
        () => asStranger.enforce(1, PLEDGEE, CONSENT),
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
      await expect(registry.connect(registrar).release(1, PLEDGEE, CONSENT))
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
      const releaseReceipt = await (await registry.release(1, PLEDGEE, CONSENT)).wait();

      expect(await registry.activePledgeOf(PATENT, { blockTag: registeredAt - 1 })).to.equal(0n);
      expect(await registry.activePledgeOf(PATENT, { blockTag: registeredAt })).to.equal(1n);
      expect(await registry.activePledgeOf(PATENT, { blockTag: releaseReceipt.blockNumber - 1 })).to.equal(1n);
      expect(await registry.activePledgeOf(PATENT, { blockTag: releaseReceipt.blockNumber })).to.equal(0n);
      expect((await registry.getPledge(1, { blockTag: registeredAt })).status).to.equal(ACTIVE);
    });
  });
});
