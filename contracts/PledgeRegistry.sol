// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPledgeRegistry} from "./interfaces/IPledgeRegistry.sol";

/**
 * @title PledgeRegistry
 * @notice Registry of intellectual-property pledges kept by pledge registrars: registration, change of
 * terms, release and enforcement, with at most one active pledge per asset. Each pledge belongs to the
 * registrar account that registered it; release and enforcement name the pledgee and carry the hash of its
 * signed consent.
 * @dev Roles come from OpenZeppelin's {AccessControl}: the admin given to the constructor holds
 * `DEFAULT_ADMIN_ROLE` and {REGISTRAR_ROLE}, and adds registrars ({addRegistrar}, or `grantRole`). Holding
 * {REGISTRAR_ROLE} lets an account register; changing a pledge also needs to be the account recorded in
 * it, so one registrar cannot touch another's pledges, and revoking a registrar's role freezes its pledges
 * until it is granted again. The registrar shares a storage slot with the two times and the status (times
 * are `uint40`: enough until the year 36812), so recording it costs no extra slot. Pledges are never
 * deleted; a released or enforced pledge keeps its record and stays in the asset's history.
 */
contract PledgeRegistry is AccessControl, IPledgeRegistry {
    /// @inheritdoc IPledgeRegistry
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Value of `Pledge.status` for a pledge in force.
    uint8 public constant STATUS_ACTIVE = 1;

    /// @notice Value of `Pledge.status` for a pledge released with the pledgee's consent.
    uint8 public constant STATUS_RELEASED = 2;

    /// @notice Value of `Pledge.status` for a pledge enforced by the pledgee.
    uint8 public constant STATUS_ENFORCED = 3;

    /// @dev Pledges by id; an unknown id reads as status 0.
    mapping(uint64 pledgeId => Pledge) private _pledges;

    /// @dev Active pledge of each asset, 0 when none.
    mapping(bytes32 assetId => uint64 pledgeId) private _activePledges;

    /// @dev Every pledge of each asset, oldest first.
    mapping(bytes32 assetId => uint64[] pledgeIds) private _history;

    /// @dev Number of pledges registered, i.e. the id of the latest one.
    uint64 private _pledgeCount;

    /**
     * @notice Deploys the registry with `admin` as administrator and first registrar.
     * @dev Reverts with {PledgeRegistryZeroAdmin} if `admin` is the zero address.
     * @param admin Account granted `DEFAULT_ADMIN_ROLE` and {REGISTRAR_ROLE}.
     */
    constructor(address admin) {
        if (admin == address(0)) {
            revert PledgeRegistryZeroAdmin();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
    }

    /// @inheritdoc IPledgeRegistry
    function addRegistrar(address account) external payable onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert PledgeRegistryZeroRegistrar();
        _grantRole(REGISTRAR_ROLE, account);
        if (msg.value != 0) {
            // After the state change, and only the admin calls: a re-entering registrar gains nothing.
            (bool sent, ) = account.call{value: msg.value}("");
            if (!sent) revert PledgeRegistryFundingFailed(account, msg.value);
        }
    }

    /// @inheritdoc IPledgeRegistry
    function register(
        bytes32 assetId,
        bytes32 pledgor,
        bytes32 pledgee,
        bytes32 termsDigest
    ) external onlyRole(REGISTRAR_ROLE) returns (uint64 pledgeId) {
        if (assetId == bytes32(0)) revert PledgeRegistryZeroValue("assetId");
        if (pledgor == bytes32(0)) revert PledgeRegistryZeroValue("pledgor");
        if (pledgee == bytes32(0)) revert PledgeRegistryZeroValue("pledgee");
        if (termsDigest == bytes32(0)) revert PledgeRegistryZeroValue("termsDigest");
        if (pledgor == pledgee) revert PledgeRegistrySameParty(pledgor);
        uint64 active = _activePledges[assetId];
        if (active != 0) {
            revert PledgeRegistryAssetAlreadyPledged(assetId, active);
        }

        pledgeId = ++_pledgeCount;
        _pledges[pledgeId] = Pledge({
            assetId: assetId,
            pledgor: pledgor,
            pledgee: pledgee,
            termsDigest: termsDigest,
            registrar: msg.sender,
            registeredAt: uint40(block.timestamp),
            releasedAt: 0,
            status: STATUS_ACTIVE
        });
        _activePledges[assetId] = pledgeId;
        _history[assetId].push(pledgeId);

        emit PledgeRegistered(pledgeId, assetId, pledgor, pledgee, termsDigest, msg.sender);
    }

    /// @inheritdoc IPledgeRegistry
    function amend(uint64 pledgeId, bytes32 newTermsDigest) external onlyRole(REGISTRAR_ROLE) {
        Pledge storage pledge = _ownActivePledge(pledgeId);
        if (newTermsDigest == bytes32(0)) revert PledgeRegistryZeroValue("termsDigest");

        pledge.termsDigest = newTermsDigest;

        emit PledgeAmended(pledgeId, pledge.assetId, newTermsDigest);
    }

    /// @inheritdoc IPledgeRegistry
    function release(uint64 pledgeId, bytes32 party, bytes32 consentDigest) external onlyRole(REGISTRAR_ROLE) {
        Pledge storage pledge = _ownActivePledge(pledgeId);
        _checkPledgee(pledge, pledgeId, party, consentDigest);

        bytes32 assetId = _close(pledge, STATUS_RELEASED);

        emit PledgeReleased(pledgeId, assetId, party, consentDigest);
    }

    /// @inheritdoc IPledgeRegistry
    function enforce(uint64 pledgeId, bytes32 party, bytes32 consentDigest) external onlyRole(REGISTRAR_ROLE) {
        Pledge storage pledge = _ownActivePledge(pledgeId);
        _checkPledgee(pledge, pledgeId, party, consentDigest);

        bytes32 assetId = _close(pledge, STATUS_ENFORCED);

        emit PledgeEnforced(pledgeId, assetId, party, consentDigest);
    }

    /// @inheritdoc IPledgeRegistry
    function getPledge(uint64 pledgeId) external view returns (Pledge memory) {
        Pledge storage pledge = _pledges[pledgeId];
        if (pledge.status == 0) {
            revert PledgeRegistryUnknownPledge(pledgeId);
        }
        return pledge;
    }

    /// @inheritdoc IPledgeRegistry
    function activePledgeOf(bytes32 assetId) external view returns (uint64 pledgeId) {
        return _activePledges[assetId];
    }

    /// @inheritdoc IPledgeRegistry
    function pledgeCount() external view returns (uint64) {
        return _pledgeCount;
    }

    /// @inheritdoc IPledgeRegistry
    function pledgesOf(bytes32 assetId) external view returns (uint64[] memory) {
        return _history[assetId];
    }

    /// @inheritdoc IPledgeRegistry
    function version() external pure returns (string memory) {
        return "PledgeRegistry/2";
    }

    /**
     * @notice Tells whether the contract implements `interfaceId` (ERC-165).
     * @dev Adds {IPledgeRegistry} to the interfaces reported by {AccessControl}.
     * @param interfaceId The ERC-165 interface identifier.
     * @return True for {IPledgeRegistry}, {IAccessControl} and ERC-165 itself.
     */
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(IPledgeRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    /**
     * @dev Returns pledge `pledgeId`, reverting unless it exists, is active and was registered by the caller.
     * @param pledgeId Id of the pledge.
     * @return pledge Storage pointer to the pledge.
     */
    function _ownActivePledge(uint64 pledgeId) private view returns (Pledge storage pledge) {
        pledge = _pledges[pledgeId];
        uint8 status = pledge.status;
        if (status == 0) {
            revert PledgeRegistryUnknownPledge(pledgeId);
        }
        if (status != STATUS_ACTIVE) {
            revert PledgeRegistryNotActive(pledgeId, status);
        }
        address registrar = pledge.registrar;
        if (registrar != msg.sender) {
            revert PledgeRegistryNotRegistrar(pledgeId, registrar, msg.sender);
        }
    }

    /**
     * @dev Reverts unless `party` is the pledgee of `pledge` and `consentDigest` is set.
     * @param pledge Storage pointer to the active pledge.
     * @param pledgeId Its id, for the errors.
     * @param party The party named as consenting.
     * @param consentDigest Hash of its signed consent.
     */
    function _checkPledgee(Pledge storage pledge, uint64 pledgeId, bytes32 party, bytes32 consentDigest) private view {
        if (party != pledge.pledgee) {
            if (party == pledge.pledgor) {
                revert PledgeRegistryNotPledgee(pledgeId, party);
            }
            revert PledgeRegistryNotAParty(pledgeId, party);
        }
        if (consentDigest == bytes32(0)) revert PledgeRegistryZeroValue("consentDigest");
    }

    /**
     * @dev Ends an active pledge with `status` and frees its asset for a new pledge.
     * @param pledge Storage pointer to the active pledge.
     * @param status {STATUS_RELEASED} or {STATUS_ENFORCED}.
     * @return assetId The asset the pledge was on.
     */
    function _close(Pledge storage pledge, uint8 status) private returns (bytes32 assetId) {
        assetId = pledge.assetId;
        pledge.status = status;
        pledge.releasedAt = uint40(block.timestamp);
        delete _activePledges[assetId];
    }
}
