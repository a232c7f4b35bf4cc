// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IEvidenceRegistry} from "./interfaces/IEvidenceRegistry.sol";

/**
 * @title EvidenceRegistry
 * @notice Anchors the Merkle roots of evidence batches. One transaction anchors a whole batch, so the cost
 * per evidence item falls as batches grow.
 * @dev Storage is laid out for a cheap {anchor}: one new slot keyed by root holds the batch id, leaf count,
 * timestamp and block number; one new slot keyed by id holds the root; the batch counter is never zero, so
 * bumping it rewrites a used slot rather than filling an empty one. Roles come from OpenZeppelin's
 * {AccessControl}: the admin given to the constructor holds `DEFAULT_ADMIN_ROLE` and {ANCHORER_ROLE}.
 */
contract EvidenceRegistry is AccessControl, IEvidenceRegistry {
    /// @inheritdoc IEvidenceRegistry
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    /**
     * @dev Everything stored about a batch except its root, packed into one slot.
     * A zero `batchId` means the root was never anchored.
     */
    struct PackedBatch {
        uint64 batchId;
        uint64 leafCount;
        uint64 timestamp;
        uint64 blockNumber;
    }

    /// @dev Batch data by root.
    mapping(bytes32 root => PackedBatch) private _batches;

    /// @dev Root by batch id.
    mapping(uint64 batchId => bytes32 root) private _roots;

    /// @dev Id the next batch will get, i.e. {batchCount} + 1. Starts at 1 and is never zero (see contract notes).
    uint64 private _nextBatchId;

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
    function anchor(bytes32 root, uint64 leafCount) external onlyRole(ANCHORER_ROLE) returns (uint64 batchId) {
        if (root == bytes32(0)) {
            revert EvidenceRegistryZeroRoot();
        }
        if (leafCount == 0) {
            revert EvidenceRegistryEmptyBatch(root);
        }
        uint64 existing = _batches[root].batchId;
        if (existing != 0) {
            revert EvidenceRegistryRootAlreadyAnchored(root, existing);
        }

        batchId = _nextBatchId;
        // A uint64 timestamp or block number overflows only after billions of years.
        uint64 timestamp = uint64(block.timestamp);
        _batches[root] = PackedBatch({
            batchId: batchId,
            leafCount: leafCount,
            timestamp: timestamp,
            blockNumber: uint64(block.number)
        });
        _roots[batchId] = root;
        _nextBatchId = batchId + 1;

        emit BatchAnchored(batchId, root, leafCount, timestamp, _msgSender());
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
    function isAnchored(bytes32 root) external view returns (bool) {
        return _batches[root].batchId != 0;
    }

    /// @inheritdoc IEvidenceRegistry
    function batchCount() external view returns (uint64) {
        return _nextBatchId - 1;
    }

    /// @inheritdoc IEvidenceRegistry
    function version() external pure returns (string memory) {
        return "EvidenceRegistry/1";
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
     * @param root Merkle root of the batch.
     * @param packed The packed slot stored under `root`.
     * @return The batch.
     */
    function _unpack(bytes32 root, PackedBatch memory packed) private pure returns (Batch memory) {
        return
            Batch({
                root: root,
                leafCount: packed.leafCount,
                timestamp: packed.timestamp,
                blockNumber: packed.blockNumber
            });
    }
}
