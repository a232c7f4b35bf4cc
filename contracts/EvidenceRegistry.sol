// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IEvidenceRegistry} from "./interfaces/IEvidenceRegistry.sol";

/**
 * @title EvidenceRegistry
 * @notice Anchors the checkpoints (tree size, root) of one append-only evidence log and refuses a checkpoint
 * whose tree size does not grow. One transaction anchors every leaf appended since the last checkpoint, so
 * the cost per evidence item falls as more items wait between checkpoints.
 * @dev Storage is laid out for a cheap {anchor}: one new slot keyed by root holds the checkpoint id, tree
 * size, timestamp and block number; one new slot keyed by id holds the root; the next id and the latest
 * tree size share one slot, so the growth check reads the slot that {anchor} rewrites anyway (two plain
 * variables: a struct there cost about 1,000 gas more per anchor), and since the next id is never zero that
 * rewrite never fills an empty slot. Roles come from OpenZeppelin's {AccessControl}: the admin given to the
 * constructor holds `DEFAULT_ADMIN_ROLE` and {ANCHORER_ROLE}.
 */
contract EvidenceRegistry is AccessControl, IEvidenceRegistry {
    /// @inheritdoc IEvidenceRegistry
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /**
     * @dev Everything stored about a checkpoint except its root, packed into one slot.
     * A zero `batchId` means the root was never anchored.
     */
    struct PackedBatch {
        uint64 batchId;
        uint64 treeSize;
        uint64 timestamp;
        uint64 blockNumber;
    }

    /// @dev Checkpoint data by root.
    mapping(bytes32 root => PackedBatch) private _batches;

    /// @dev Root by checkpoint id.
    mapping(uint64 batchId => bytes32 root) private _roots;

    /// @dev Id the next checkpoint will get, i.e. {batchCount} + 1. Starts at 1, never zero (see contract notes).
    uint64 private _nextBatchId;

    /// @dev Tree size of the latest checkpoint, 0 before the first one. Shares its slot with `_nextBatchId`.
    uint64 private _latestTreeSize;

    /**
     * @notice Deploys the registry with `admin` as administrator and first anchorer.
     * @dev Reverts with {EvidenceRegistryZeroAdmin} if `admin` is the zero address.
     * @param admin Account granted `DEFAULT_ADMIN_ROLE` and {ANCHORER_ROLE}.
     */
    constructor(address admin) {
        if (admin == address(0)) {
            revert EvidenceRegistryZeroAdmin();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHORER_ROLE, admin);
        _nextBatchId = 1;
    }

    /// @inheritdoc IEvidenceRegistry
    function anchor(bytes32 root, uint64 treeSize) external onlyRole(ANCHORER_ROLE) returns (uint64 batchId) {
        if (root == bytes32(0)) {
            revert EvidenceRegistryZeroRoot();
        }
        uint64 existing = _batches[root].batchId;
        if (existing != 0) {
            revert EvidenceRegistryRootAlreadyAnchored(root, existing);
        }
        uint64 latestTreeSize = _latestTreeSize;
        if (treeSize <= latestTreeSize) {
            revert EvidenceRegistryTreeSizeNotGrowing(treeSize, latestTreeSize);
        }

        batchId = _nextBatchId;
        // A uint64 timestamp or block number overflows only after billions of years.
        uint64 timestamp = uint64(block.timestamp);
        _batches[root] = PackedBatch({
            batchId: batchId,
            treeSize: treeSize,
            timestamp: timestamp,
            blockNumber: uint64(block.number)
        });
        _roots[batchId] = root;
        _nextBatchId = batchId + 1;
        _latestTreeSize = treeSize;

        emit CheckpointAnchored(batchId, root, treeSize, timestamp, _msgSender());
    }

    /// @inheritdoc IEvidenceRegistry
    function getBatch(uint64 batchId) external view returns (Batch memory) {
        if (batchId == 0 || batchId >= _nextBatchId) {
            revert EvidenceRegistryUnknownBatch(batchId);
        }
        bytes32 root = _roots[batchId];
        return _unpack(root, _batches[root]);
    }

    /// @inheritdoc IEvidenceRegistry
    function findRoot(bytes32 root) external view returns (uint64 batchId, Batch memory batch) {
        PackedBatch memory packed = _batches[root];
        if (packed.batchId == 0) {
            revert EvidenceRegistryUnknownRoot(root);
        }
        return (packed.batchId, _unpack(root, packed));
    }

    /// @inheritdoc IEvidenceRegistry
    function latestCheckpoint() external view returns (uint64 batchId, Batch memory batch) {
        batchId = _nextBatchId - 1;
        if (batchId == 0) {
            revert EvidenceRegistryUnknownBatch(0);
        }
        bytes32 root = _roots[batchId];
        return (batchId, _unpack(root, _batches[root]));
    }

    /// @inheritdoc IEvidenceRegistry
    function isAnchored(bytes32 root) external view returns (bool) {
        return _batches[root].batchId != 0;
    }

    /// @inheritdoc IEvidenceRegistry
    function batchCount() external view returns (uint64) {
        return _nextBatchId - 1;
    }

    /// @inheritdoc IEvidenceRegistry
    function version() external pure returns (string memory) {
        return "EvidenceRegistry/2";
    }

    /**
     * @notice Tells whether the contract implements `interfaceId` (ERC-165).
     * @dev Adds {IEvidenceRegistry} to the interfaces reported by {AccessControl}.
     * @param interfaceId The ERC-165 interface identifier.
     * @return True for {IEvidenceRegistry}, {IAccessControl} and ERC-165 itself.
     */
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(IEvidenceRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    /**
     * @dev Rebuilds the public {Batch} view from its root and packed slot.
     * @param root Root hash of the checkpoint.
     * @param packed The packed slot stored under `root`.
     * @return The checkpoint.
     */
    function _unpack(bytes32 root, PackedBatch memory packed) private pure returns (Batch memory) {
        return
            Batch({
                root: root,
                treeSize: packed.treeSize,
                timestamp: packed.timestamp,
                blockNumber: packed.blockNumber
            });
    }
}
