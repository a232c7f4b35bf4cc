// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title IEvidenceRegistry
 * @notice Anchors the checkpoints of one append-only evidence log so that anyone can later check, against any
 * node of the chain, that the log had a given root at a given size by a given block and time.
 * @dev The log is an RFC 9162 Merkle tree that only ever grows; a checkpoint is its root hash at some tree
 * size. Each anchored checkpoint is a "batch" with a sequential id (starting at 1) and a root that can be
 * anchored only once, and its tree size must be larger than that of every checkpoint anchored before it, so
 * the registry never records a log that shrank. Leaves and proofs stay off chain: the registry stores the
 * root, the tree size and when it was anchored.
 *
 * Version 1 of this interface anchored one independent Merkle tree per batch (`BatchAnchored`, `leafCount`);
 * version 2 keeps its functions and storage shape and adds the growth rule, {latestCheckpoint} and the
 * {CheckpointAnchored} event.
 */
interface IEvidenceRegistry {
    /**
     * @notice What the registry knows about one anchored checkpoint.
     * @param root Root hash of the log at `treeSize` leaves (RFC 9162 tree head, never zero).
     * @param treeSize Number of leaves in the log at this checkpoint, at least 1.
     * @param timestamp `block.timestamp` of the block that anchored the checkpoint.
     * @param blockNumber Number of the block that anchored the checkpoint.
     */
    struct Batch {
        bytes32 root;
        uint64 treeSize;
        uint64 timestamp;
        uint64 blockNumber;
    }

    /**
     * @notice Emitted when `anchorer` anchors checkpoint `batchId`: the log had root `root` at `treeSize` leaves.
     * @param batchId Sequential id of the new checkpoint.
     * @param root Root hash of the log at `treeSize`.
     * @param treeSize Number of leaves in the log, larger than at every earlier checkpoint.
     * @param timestamp `block.timestamp` recorded for the checkpoint.
     * @param anchorer Account that sent the anchoring transaction.
     */
    event CheckpointAnchored(
        uint64 indexed batchId,
        bytes32 indexed root,
        uint64 treeSize,
        uint64 timestamp,
        address indexed anchorer
    );

    /// @notice The constructor was given the zero address as administrator.
    error EvidenceRegistryZeroAdmin();

    /// @notice A zero root was submitted; it cannot be told apart from "not anchored".
    error EvidenceRegistryZeroRoot();

    /**
     * @notice `root` is already anchored, as checkpoint `batchId`.
     * @param root The root submitted again.
     * @param batchId The checkpoint that anchored it first.
     */
    error EvidenceRegistryRootAlreadyAnchored(bytes32 root, uint64 batchId);

    /**
     * @notice A checkpoint of `treeSize` leaves was submitted, but the log already had `latestTreeSize` leaves
     * at the latest anchored checkpoint: the log would have shrunk or forked. Before the first checkpoint
     * `latestTreeSize` is 0, so an empty log (`treeSize` 0) is refused too.
     * @param treeSize The tree size submitted.
     * @param latestTreeSize The tree size of the latest anchored checkpoint (0 if there is none).
     */
    error EvidenceRegistryTreeSizeNotGrowing(uint64 treeSize, uint64 latestTreeSize);

    /**
     * @notice No checkpoint has id `batchId`; {latestCheckpoint} reports id 0 when none was anchored.
     * @param batchId The id asked for.
     */
    error EvidenceRegistryUnknownBatch(uint64 batchId);

    /**
     * @notice No checkpoint has root `root`.
     * @param root The root asked for.
     */
    error EvidenceRegistryUnknownRoot(bytes32 root);

    /**
     * @notice Role allowed to call {anchor}: `keccak256("ANCHORER_ROLE")`.
     * @return The role identifier.
     */
    function ANCHORER_ROLE() external view returns (bytes32);

    /**
     * @notice Anchors the checkpoint of the log at `treeSize` leaves, whose root hash is `root`.
     * @dev Only callable by accounts with {ANCHORER_ROLE}. Emits {CheckpointAnchored}. Reverts, checked in this
     * order, with {EvidenceRegistryZeroRoot}, {EvidenceRegistryRootAlreadyAnchored} (so that a client
     * re-sending a checkpoint can recognise it as already done) and {EvidenceRegistryTreeSizeNotGrowing}.
     * @param root Root hash of the log at `treeSize`, not zero and not anchored before.
     * @param treeSize Number of leaves in the log, larger than the tree size of the latest checkpoint.
     * @return batchId Sequential id given to the checkpoint, starting at 1.
     */
    function anchor(bytes32 root, uint64 treeSize) external returns (uint64 batchId);

    /**
     * @notice Returns checkpoint `batchId`.
     * @dev Reverts with {EvidenceRegistryUnknownBatch} if no such checkpoint exists.
     * @param batchId Id of the checkpoint, from 1 to {batchCount}.
     * @return The checkpoint.
     */
    function getBatch(uint64 batchId) external view returns (Batch memory);

    /**
     * @notice Returns the checkpoint that anchored `root`, with its id.
     * @dev Reverts with {EvidenceRegistryUnknownRoot} if `root` was never anchored.
     * @param root Root hash to look up.
     * @return batchId Id of the checkpoint.
     * @return batch The checkpoint.
     */
    function findRoot(bytes32 root) external view returns (uint64 batchId, Batch memory batch);

    /**
     * @notice Returns the newest checkpoint, which has the largest tree size, with its id.
     * @dev Reverts with {EvidenceRegistryUnknownBatch} for id 0 while no checkpoint has been anchored, rather
     * than returning a zero checkpoint that a caller could mistake for a real one.
     * @return batchId Id of the checkpoint, equal to {batchCount}.
     * @return batch The checkpoint.
     */
    function latestCheckpoint() external view returns (uint64 batchId, Batch memory batch);

    /**
     * @notice Tells whether `root` has been anchored.
     * @param root Root hash to look up.
     * @return True if some checkpoint anchored `root`.
     */
    function isAnchored(bytes32 root) external view returns (bool);

    /**
     * @notice Number of checkpoints anchored so far, which is also the id of the latest one.
     * @return The number of checkpoints.
     */
    function batchCount() external view returns (uint64);

    /**
     * @notice Name and version of the contract's interface and storage layout.
     * @return The string "EvidenceRegistry/2".
     */
    function version() external pure returns (string memory);
}
