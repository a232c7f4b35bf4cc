// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title IPledgeRegistry
 * @notice Registers pledges of intellectual-property assets (patents, trademarks, copyright registrations)
 * and their change of terms, release and enforcement, refusing a second active pledge on the same asset.
 * @dev Parties and terms are commitments computed off chain: `assetId` hashes the normalised asset type and
 * registration number, `pledgor` and `pledgee` hash party identifiers, and `termsDigest` hashes the canonical
 * JSON of amount, currency, term, contract digest and valuation digest. Everything is in storage, so "was
 * asset X pledged at block B" is answered by reading the contract at block B.
 */
interface IPledgeRegistry {
    /**
     * @notice One pledge registration.
     * @param assetId Hash identifying the pledged asset.
     * @param pledgor Hash identifying the party giving the pledge (the asset's owner).
     * @param pledgee Hash identifying the party receiving the pledge (the creditor).
     * @param termsDigest Hash of the current terms; replaced by {amend}.
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
        uint64 registeredAt;
        uint64 releasedAt;
        uint8 status;
    }

    /**
     * @notice Emitted when pledge `pledgeId` of asset `assetId` is registered.
     * @param pledgeId Sequential id of the new pledge.
     * @param assetId Hash identifying the pledged asset.
     * @param pledgor Hash identifying the pledgor.
     * @param pledgee Hash identifying the pledgee.
     * @param termsDigest Hash of the terms.
     */
    event PledgeRegistered(
        uint64 indexed pledgeId,
        bytes32 indexed assetId,
        bytes32 pledgor,
        bytes32 pledgee,
        bytes32 termsDigest
    );

    /**
     * @notice Emitted when the terms of pledge `pledgeId` are changed.
     * @param pledgeId Id of the pledge.
     * @param assetId Hash identifying the pledged asset.
     * @param termsDigest Hash of the new terms.
     */
    event PledgeAmended(uint64 indexed pledgeId, bytes32 indexed assetId, bytes32 termsDigest);

    /**
     * @notice Emitted when pledge `pledgeId` is released at the request of `party`.
     * @param pledgeId Id of the pledge.
     * @param assetId Hash identifying the asset, now free of this pledge.
     * @param party The pledgor or pledgee who requested the release.
     */
    event PledgeReleased(uint64 indexed pledgeId, bytes32 indexed assetId, bytes32 party);

    /**
     * @notice Emitted when pledge `pledgeId` is enforced by its pledgee `party`.
     * @param pledgeId Id of the pledge.
     * @param assetId Hash identifying the asset the pledge was enforced on.
     * @param party The pledgee who enforced the pledge.
     */
    event PledgeEnforced(uint64 indexed pledgeId, bytes32 indexed assetId, bytes32 party);

    /// @notice The constructor was given the zero address as administrator.
    error PledgeRegistryZeroAdmin();

    /**
     * @notice A required value was zero.
     * @param field Name of the parameter: "assetId", "pledgor", "pledgee" or "termsDigest".
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
     * @notice `party` is neither the pledgor nor the pledgee of pledge `pledgeId`.
     * @param pledgeId The pledge.
     * @param party The party named.
     */
    error PledgeRegistryNotAParty(uint64 pledgeId, bytes32 party);

    /**
     * @notice Only the pledgee can enforce pledge `pledgeId`, and `party` is its pledgor.
     * @param pledgeId The pledge.
     * @param party The party named.
     */
    error PledgeRegistryNotPledgee(uint64 pledgeId, bytes32 party);

    /**
     * @notice Role allowed to register, amend, release and enforce pledges: `keccak256("REGISTRAR_ROLE")`.
     * @return The role identifier.
     */
    function REGISTRAR_ROLE() external view returns (bytes32);

    /**
     * @notice Registers a pledge of `assetId` by `pledgor` to `pledgee` on terms `termsDigest`.
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
     * @dev Registrar only. Reverts with {PledgeRegistryUnknownPledge}, {PledgeRegistryNotActive} or
     * {PledgeRegistryZeroValue}. Emits {PledgeAmended}.
     * @param pledgeId Id of the pledge.
     * @param newTermsDigest Hash of the new terms.
     */
    function amend(uint64 pledgeId, bytes32 newTermsDigest) external;

    /**
     * @notice Releases active pledge `pledgeId` at the request of `party`, its pledgor or pledgee.
     * @dev Registrar only. Reverts with {PledgeRegistryUnknownPledge}, {PledgeRegistryNotActive} or
     * {PledgeRegistryNotAParty}. Frees the asset for a new pledge. Emits {PledgeReleased}.
     * @param pledgeId Id of the pledge.
     * @param party The pledgor or pledgee requesting the release.
     */
    function release(uint64 pledgeId, bytes32 party) external;

    /**
     * @notice Records that the pledgee `party` enforced active pledge `pledgeId`.
     * @dev Registrar only. Reverts with {PledgeRegistryUnknownPledge}, {PledgeRegistryNotActive},
     * {PledgeRegistryNotAParty} or {PledgeRegistryNotPledgee}. Frees the asset for a new pledge.
     * Emits {PledgeEnforced}.
     * @param pledgeId Id of the pledge.
     * @param party The pledgee enforcing the pledge.
     */
    function enforce(uint64 pledgeId, bytes32 party) external;

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
     * @return The string "PledgeRegistry/1".
     */
    function version() external pure returns (string memory);
}
