// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title IEvidenceRegistry
 * @notice Anchors the Merkle roots of evidence batches so that anyone can later check, against any node of
 * the chain, that a batch existed at a given block and time.
 * @dev A batch is identified both by its sequential id (starting at 1) and by its root; a root can be
 * anchored only once. Leaves and proofs stay off chain: the registry stores the root, the number of leaves
 * and when it was anchored.
 */
interface IEvidenceRegistry {
    /**
     * @notice What the registry knows about one anchored batch.
     * @param root Merkle root of the batch (RFC 9162 tree head, never zero).
     * @param leafCount Number of leaves (evidence items) in the batch, at least 1.
     * @param timestamp `block.timestamp` of the block that anchored the batch.
     * @param blockNumber Number of the block that anchored the batch.
     */
    struct Batch {
        bytes32 root;
        uint64 leafCount;
        uint64 timestamp;
        uint64 blockNumber;
    }

    /**
     * @notice Emitted when `anchorer` anchors batch `batchId` with Merkle root `root`.
     * @param batchId Sequential id of the new batch.
     * @param root Merkle root of the batch.
     * @param leafCount Number of leaves in the batch.
     * @param timestamp `block.timestamp` recorded for the batch.
     * @param anchorer Account that sent the anchoring transaction.
     */
    event BatchAnchored(
        uint64 indexed batchId,
        bytes32 indexed root,
        uint64 leafCount,
        uint64 timestamp,
        address indexed anchorer
    );

    /// @notice The constructor was given the zero address as administrator.
    error EvidenceRegistryZeroAdmin();

    /// @notice A zero root was submitted; it cannot be told apart from "not anchored".
    error EvidenceRegistryZeroRoot();

    /**
     * @notice A batch with no leaves was submitted.
     * @param root The root that was submitted with a leaf count of zero.
     */
    error EvidenceRegistryEmptyBatch(bytes32 root);

    /**
     * @notice `root` is already anchored, as batch `batchId`.
     * @param root The root submitted again.
     * @param batchId The batch that anchored it first.
     */
    error EvidenceRegistryRootAlreadyAnchored(bytes32 root, uint64 batchId);

    /**
     * @notice No batch has id `batchId`.
     * @param batchId The id asked for.
     */
    error EvidenceRegistryUnknownBatch(uint64 batchId);

    /**
     * @notice No batch has root `root`.
     * @param root The root asked for.
     */
    error EvidenceRegistryUnknownRoot(bytes32 root);

    /**
     * @notice Role allowed to call {anchor}: `keccak256("ANCHORER_ROLE")`.
     * @return The role identifier.
     */
    function ANCHORER_ROLE() external view returns (bytes32);

    /**
     * @notice Anchors a batch of `leafCount` leaves whose Merkle root is `root`.
     * @dev Only callable by accounts with {ANCHORER_ROLE}. Emits {BatchAnchored}.
     * Reverts with {EvidenceRegistryZeroRoot}, {EvidenceRegistryEmptyBatch} or
     * {EvidenceRegistryRootAlreadyAnchored} for bad input.
     * @param root Merkle root of the batch, not zero and not anchored before.
     * @param leafCount Number of leaves in the batch, at least 1.
     * @return batchId Sequential id given to the batch, starting at 1.
     */
    function anchor(bytes32 root, uint64 leafCount) external returns (uint64 batchId);

    /**
     * @notice Returns batch `batchId`.
     * @dev Reverts with {EvidenceRegistryUnknownBatch} if no such batch exists.
     * @param batchId Id of the batch, from 1 to {batchCount}.
     * @return The batch.
     */
    function getBatch(uint64 batchId) external view returns (Batch memory);

    /**
     * @notice Returns the batch that anchored `root`, with its id.
     * @dev Reverts with {EvidenceRegistryUnknownRoot} if `root` was never anchored.
     * @param root Merkle root to look up.
     * @return batchId Id of the batch.
     * @return batch The batch.
     */
    function findRoot(bytes32 root) external view returns (uint64 batchId, Batch memory batch);

    /**
     * @notice Tells whether `root` has been anchored.
     * @param root Merkle root to look up.
     * @return True if some batch anchored `root`.
     */
    function isAnchored(bytes32 root) external view returns (bool);

    /**
     * @notice Number of batches anchored so far, which is also the id of the latest one.
     * @return The number of batches.
     */
    function batchCount() external view returns (uint64);

    /**
     * @notice Name and version of the contract's interface and storage layout.
     * @return The string "EvidenceRegistry/1".
     */
    function version() external pure returns (string memory);
}
