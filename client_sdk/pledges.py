"""Pledge status answers and how to check them against the ``PledgeRegistry`` contract.

The hashes that link off-chain details to on-chain state live here, in the SDK, so that the
service and every verifier compute them the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from client_sdk.canonical import canonical_json

__all__ = ["ASSET_TAG", "PARTY_TAG", "TERMS_TAG", "asset_id", "party_hash", "terms_digest"]

ASSET_TAG = b"ipnotary/pledge-asset/v1\x00"
PARTY_TAG = b"ipnotary/pledge-party/v1\x00"
TERMS_TAG = b"ipnotary/pledge-terms/v1\x00"


def asset_id(asset_key: str) -> bytes:
    """bytes32 id of an asset from its normalised ``type:registration_number``."""
    return hashlib.sha256(ASSET_TAG + asset_key.encode("utf-8")).digest()


def party_hash(party_key: str) -> bytes:
    """bytes32 of a party from its typed identifier ``type:id``."""
    return hashlib.sha256(PARTY_TAG + party_key.encode("utf-8")).digest()


def terms_digest(terms: Mapping[str, Any]) -> bytes:
    """bytes32 of the pledge terms (canonical JSON)."""
    return hashlib.sha256(TERMS_TAG + canonical_json(dict(terms))).digest()
