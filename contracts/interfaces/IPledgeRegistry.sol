// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title IPledgeRegistry
 * @notice Registers pledges of intellectual-property assets (patents, trademarks, copyright registrations)
 * and their change of terms, release and enforcement, refusing a second active pledge on the same asset.
 * Each pledge belongs to the registrar account that registered it: only that account can amend, release or
 * enforce it.
 * @dev Parties and terms are commitments computed off chain: `assetId` hashes the normalised asset type and
 * registration number, `pledgor` and `pledgee` hash party identifiers, `termsDigest` hashes the canonical
 * JSON of amount, currency, term, contract digest, valuation digest and the pledgee's consent key, and
 * `consentDigest` hashes the pledgee's signed consent to a release or enforcement (an Ed25519 signature,
 * which the registrar checks off chain and publishes, so anyone can re-check it against this hash).
 * Everything is in storage, so "was asset X pledged at block B" is answered by reading the contract at
 * block B.
 */
interface IPledgeRegistry {
    /**
     * @notice One pledge registration.
     * @param assetId Hash identifying the pledged asset.
     * @param pledgor Hash identifying the party giving the pledge (the asset's owner).
     * @param pledgee Hash identifying the party receiving the pledge (the creditor).
     * @param termsDigest Hash of the current terms; replaced by {amend}.
     * @param registrar The account that registered the pledge, the only one that may change it.
     * @param registeredAt `block.timestamp` of the registration.
     * @param releasedAt `block.timestamp` at which the pledge stopped being active (released or enforced),
     * zero while it is active.
     * @param status 1 Active, 2 Released, 3 Enforced.
     */
    struct Pledge {
        bytes32 assetId;
        bytes32 pledgor;
        bytes32 pledgee;
        bytes32 termsDigest;
        address registrar;
        uint40 registeredAt;
        uint40 releasedAt;
        uint8 status;
    }

    /**
     * @notice Emitted when pledge `pledgeId` of asset `assetId` is registered by `registrar`.
     * @param pledgeId Sequential id of the new pledge.
     * @param assetId Hash identifying the pledged asset.
     * @param pledgor Hash identifying the pledgor.
     * @param pledgee Hash identifying the pledgee.
     * @param termsDigest Hash of the terms.
     * @param registrar The registering account, the only one that may change the pledge.
     */
    event PledgeRegistered(
        uint64 indexed pledgeId,
        bytes32 indexed assetId,
        bytes32 pledgor,
        bytes32 pledgee,
        bytes32 termsDigest,
        address indexed registrar
    );

    /**
     * @notice Emitted when the terms of pledge `pledgeId` are changed.
     * @param pledgeId Id of the pledge.
     * @param assetId Hash identifying the pledged asset.
     * @param termsDigest Hash of the new terms.
     */
    event PledgeAmended(uint64 indexed pledgeId, bytes32 indexed assetId, bytes32 termsDigest);

    /**
     * @notice Emitted when pledge `pledgeId` is released with the consent of its pledgee `party`.
     * @param pledgeId Id of the pledge.
     * @param assetId Hash identifying the asset, now free of this pledge.
     * @param party The pledgee who consented to the release.
     * @param consentDigest Hash of the pledgee's signed consent.
     */
    event PledgeReleased(uint64 indexed pledgeId, bytes32 indexed assetId, bytes32 party, bytes32 consentDigest);

    /**
     * @notice Emitted when pledge `pledgeId` is enforced by its pledgee `party`.
     * @param pledgeId Id of the pledge.
     * @param assetId Hash identifying the asset the pledge was enforced on.
     * @param party The pledgee who enforced the pledge.
     * @param consentDigest Hash of the pledgee's signed demand for enforcement.
     */
    event PledgeEnforced(uint64 indexed pledgeId, bytes32 indexed assetId, bytes32 party, bytes32 consentDigest);

    /// @notice The constructor was given the zero address as administrator.
    error PledgeRegistryZeroAdmin();

    /// @notice {addRegistrar} was given the zero address.
    error PledgeRegistryZeroRegistrar();

    /**
     * @notice {addRegistrar} could not pass `amount` wei on to the new registrar `account`.
     * @param account The registrar account.
     * @param amount The wei sent with the call.
     */
    error PledgeRegistryFundingFailed(address account, uint256 amount);

    /**
     * @notice A required value was zero.
     * @param field Name of the parameter: "assetId", "pledgor", "pledgee", "termsDigest" or "consentDigest".
     */
    error PledgeRegistryZeroValue(string field);

    /**
     * @notice The pledgor and the pledgee are the same party.
     * @param party The party named on both sides.
     */
    error PledgeRegistrySameParty(bytes32 party);

    /**
     * @notice `assetId` already has an active pledge, `activePledgeId`; it must be released first.
     * @param assetId The asset.
     * @param activePledgeId Its active pledge.
     */
    error PledgeRegistryAssetAlreadyPledged(bytes32 assetId, uint64 activePledgeId);

    /**
     * @notice No pledge has id `pledgeId`.
     * @param pledgeId The id asked for.
     */
    error PledgeRegistryUnknownPledge(uint64 pledgeId);

    /**
     * @notice Pledge `pledgeId` is no longer active.
     * @param pledgeId The pledge.
     * @param status Its current status: 2 Released or 3 Enforced.
     */
    error PledgeRegistryNotActive(uint64 pledgeId, uint8 status);

    /**
     * @notice Pledge `pledgeId` was registered by `registrar`, and only that account may change it, not
     * `caller`.
     * @param pledgeId The pledge.
     * @param registrar The account that registered it.
     * @param caller The account that tried to change it.
     */
    error PledgeRegistryNotRegistrar(uint64 pledgeId, address registrar, address caller);

    /**
     * @notice `party` is neither the pledgor nor the pledgee of pledge `pledgeId`.
     * @param pledgeId The pledge.
     * @param party The party named.
     */
    error PledgeRegistryNotAParty(uint64 pledgeId, bytes32 party);

    /**
     * @notice Only the pledgee can consent to the release of pledge `pledgeId` or enforce it, and `party` is
     * its pledgor.
     * @param pledgeId The pledge.
     * @param party The party named.
     */
    error PledgeRegistryNotPledgee(uint64 pledgeId, bytes32 party);

    /**
     * @notice Role allowed to register pledges and to change the ones it registered:
     * `keccak256("REGISTRAR_ROLE")`.
     * @return The role identifier.
     */
    function REGISTRAR_ROLE() external view returns (bytes32);

    /**
     * @notice Grants {REGISTRAR_ROLE} to `account` and passes on the wei sent, so that a new registrar can pay
     * for its transactions from the start; one transaction instead of two.
     * @dev Admin only. Reverts with {PledgeRegistryZeroRegistrar} for the zero address and
     * {PledgeRegistryFundingFailed} if `account` refuses the wei. Granting an account that already holds the
     * role only passes the wei on. Emits `RoleGranted` for a new registrar.
     * @param account The registrar's account.
     */
    function addRegistrar(address account) external payable;

    /**
     * @notice Registers a pledge of `assetId` by `pledgor` to `pledgee` on terms `termsDigest`, owned by the
     * calling registrar.
     * @dev Registrar only. Reverts with {PledgeRegistryZeroValue} for a zero argument,
     * {PledgeRegistrySameParty} if pledgor and pledgee are equal and {PledgeRegistryAssetAlreadyPledged} if
     * the asset has an active pledge. Emits {PledgeRegistered}.
     * @param assetId Hash identifying the asset.
     * @param pledgor Hash identifying the pledgor.
     * @param pledgee Hash identifying the pledgee.
     * @param termsDigest Hash of the terms.
     * @return pledgeId Sequential id of the pledge, starting at 1.
     */
    function register(
        bytes32 assetId,
        bytes32 pledgor,
        bytes32 pledgee,
        bytes32 termsDigest
    ) external returns (uint64 pledgeId);

    /**
     * @notice Replaces the terms of active pledge `pledgeId` with `newTermsDigest`.
     * @dev The pledge's registrar only. Reverts with {PledgeRegistryUnknownPledge},
     * {PledgeRegistryNotActive}, {PledgeRegistryNotRegistrar} or {PledgeRegistryZeroValue}. Emits
     * {PledgeAmended}.
     * @param pledgeId Id of the pledge.
     * @param newTermsDigest Hash of the new terms.
     */
    function amend(uint64 pledgeId, bytes32 newTermsDigest) external;

    /**
     * @notice Releases active pledge `pledgeId` with the consent of `party`, its pledgee.
     * @dev The pledge's registrar only. Reverts with {PledgeRegistryUnknownPledge}, {PledgeRegistryNotActive},
     * {PledgeRegistryNotRegistrar}, {PledgeRegistryZeroValue}, {PledgeRegistryNotPledgee} (`party` is the
     * pledgor) or {PledgeRegistryNotAParty}. Frees the asset for a new pledge. Emits {PledgeReleased}.
     * @param pledgeId Id of the pledge.
     * @param party The pledgee consenting to the release.
     * @param consentDigest Hash of the pledgee's signed consent.
     */
    function release(uint64 pledgeId, bytes32 party, bytes32 consentDigest) external;

    /**
     * @notice Records that the pledgee `party` enforced active pledge `pledgeId`.
     * @dev The pledge's registrar only. Reverts with {PledgeRegistryUnknownPledge}, {PledgeRegistryNotActive},
     * {PledgeRegistryNotRegistrar}, {PledgeRegistryZeroValue}, {PledgeRegistryNotPledgee} or
     * {PledgeRegistryNotAParty}. Frees the asset for a new pledge. Emits {PledgeEnforced}.
     * @param pledgeId Id of the pledge.
     * @param party The pledgee enforcing the pledge.
     * @param consentDigest Hash of the pledgee's signed demand.
     */
    function enforce(uint64 pledgeId, bytes32 party, bytes32 consentDigest) external;

    /**
     * @notice Returns pledge `pledgeId`.
     * @dev Reverts with {PledgeRegistryUnknownPledge} if no such pledge exists.
     * @param pledgeId Id of the pledge, from 1 to {pledgeCount}.
     * @return The pledge.
     */
    function getPledge(uint64 pledgeId) external view returns (Pledge memory);

    /**
     * @notice Returns the active pledge of `assetId`, or 0 if the asset is not pledged.
     * @param assetId Hash identifying the asset.
     * @return pledgeId Id of the active pledge, or 0.
     */
    function activePledgeOf(bytes32 assetId) external view returns (uint64 pledgeId);

    /**
     * @notice Number of pledges registered so far, which is also the id of the latest one.
     * @return The number of pledges.
     */
    function pledgeCount() external view returns (uint64);

    /**
     * @notice Every pledge ever registered on `assetId`, oldest first.
     * @param assetId Hash identifying the asset.
     * @return The pledge ids, empty if the asset was never pledged.
     */
    function pledgesOf(bytes32 assetId) external view returns (uint64[] memory);

    /**
     * @notice Name and version of the contract's interface and storage layout.
     * @return The string "PledgeRegistry/2".
     */
    function version() external pure returns (string memory);
}
