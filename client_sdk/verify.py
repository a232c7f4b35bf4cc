"""Certificate verification: ``verify_certificate`` returns a result or raises ``VerificationError``.

"Don't trust the operator, verify": every check recomputes from the document, the file and the
chain; nothing is taken from our service. The steps run in this order and the error names the first
one that failed:

1. ``format``          the document parses as certificate v1 within its size limits
2. ``content``         (if a file or fingerprint is given) size, SHA-256, SM3 and CID match the record
3. ``leaf_hash``       the record's canonical JSON hashes to the certificate's leaf
4. ``inclusion_proof`` the audit path leads from that leaf to the batch root
5. ``signature``       the issuer's Ed25519 signature covers the whole document
6. ``issuer``          (if trusted keys are given) the issuer key is one of them
7. ``contract``        (if trusted contracts are given) the anchor names a trusted registry
8. ``chain_id`` / ``anchor`` / ``block`` / ``confirmations``
                       (if a chain is given) the node is on the certificate's chain, the registry
                       holds this root in this batch with this leaf count, the block is canonical with
                       the stated hash and time, and enough blocks were built on top of it
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from client_sdk.certificate import Certificate, record_leaf_hash
from client_sdk.errors import ChainReadError, FormatError, VerificationError
from client_sdk.merkle import root_from_inclusion_proof
from client_sdk.signing import key_id, public_key_from_b64, signature_is_valid

__all__ = [
    "AnchorView",
    "ChainView",
    "ContentDigests",
    "Step",
    "VerificationResult",
    "check_content",
    "verify_certificate",
]


class Step(StrEnum):
    FORMAT = "format"
    CONTENT = "content"
    LEAF_HASH = "leaf_hash"
    INCLUSION_PROOF = "inclusion_proof"
    SIGNATURE = "signature"
    ISSUER = "issuer"
    CONTRACT = "contract"
    CHAIN_ID = "chain_id"
    ANCHOR = "anchor"
    BLOCK = "block"
    CONFIRMATIONS = "confirmations"


@dataclass(frozen=True)
class AnchorView:
    """What the registry contract says about a root."""

    batch_id: int
    leaf_count: int
    timestamp: int
    block_number: int


class ChainView(Protocol):
    """The read-only chain access the verifier needs; ``chain.AnchorReader`` provides it."""

    def chain_id(self) -> int: ...

    def find_anchor(self, contract: str, root: bytes) -> AnchorView | None: ...

    def block_hash_and_time(self, block_number: int) -> tuple[str, int] | None: ...

    def head_block_number(self) -> int: ...


@dataclass(frozen=True)
class ContentDigests:
    """The fingerprint a verifier computed for a file (``client_sdk.fingerprint`` gives one)."""

    size: int
    sha256: str
    sm3: str | None = None
    cid: str | None = None
    cid_v1: str | None = None


@dataclass(frozen=True)
class VerificationResult:
    """What was proven. ``steps`` lists the checks that ran and passed, in order."""

    record_id: str
    kind: str
    leaf_hash: str
    root: str
    chain_id: int
    contract: str
    batch_id: int
    block_number: int
    anchored_at: datetime
    issuer_key_id: str
    issuer_trusted: bool
    content_checked: bool
    chain_checked: bool
    confirmations: int | None
    steps: tuple[str, ...]
    certificate: Certificate


def check_content(record: Mapping[str, Any], digests: ContentDigests) -> None:
    """Compare a file's fingerprint with the one the record holds; raises at step ``content``."""
    content = record.get("content")
    if not isinstance(content, Mapping):
        raise VerificationError(Step.CONTENT, "the record holds no content fingerprint to compare")
    expected = {k: content.get(k) for k in ("size", "sha256", "sm3", "cid", "cid_v1")}
    actual = {
        "size": digests.size,
        "sha256": digests.sha256,
        "sm3": digests.sm3,
        "cid": digests.cid,
        "cid_v1": digests.cid_v1,
    }
    for name, want in expected.items():
        got = actual[name]
        if want is None or got is None:
            continue
        if want != got:
            raise VerificationError(
                Step.CONTENT,
                f"the file's {name} is {got} but the certificate records {want}: "
                "this is not the file that was notarised, or it was altered",
            )


def _fingerprint(content: bytes | str | Path | ContentDigests) -> ContentDigests:
    if isinstance(content, ContentDigests):
        return content
    from client_sdk import fingerprint  # imported late: verification without a file needs none

    fp = (
        fingerprint.fingerprint_bytes(content)
        if isinstance(content, bytes)
        else fingerprint.fingerprint_file(Path(content))
    )
    return ContentDigests(fp.size, fp.sha256, fp.sm3, fp.cid, fp.cid_v1)


@lru_cache(maxsize=64)
def _issuer_key(public_key_b64: str) -> tuple[Ed25519PublicKey, str]:
    """The parsed issuer key and its id. Cached: a verifier sees the same few issuers again and
    again, and the parsed key object is immutable. Unusable keys raise and are not cached."""
    key = public_key_from_b64(public_key_b64)
    return key, key_id(key)


def _normalise_keys(keys: Collection[str]) -> set[str]:
    """Trusted issuer keys may be given as key ids or as base64url public keys."""
    out = set()
    for k in keys:
        out.add(k if len(k) == 64 else key_id(public_key_from_b64(k)))
    return out


def verify_certificate(
    certificate: Certificate | bytes | str | Mapping[str, Any],
    *,
    content: bytes | str | Path | ContentDigests | None = None,
    trusted_issuer_keys: Collection[str] | None = None,
    trusted_contracts: Mapping[int, str] | None = None,
    chain: ChainView | None = None,
    min_confirmations: int = 1,
) -> VerificationResult:
    """Verify a certificate; raise ``VerificationError`` naming the first failed step.

    ``content`` is the file (path or bytes) or its fingerprint. ``trusted_issuer_keys`` pins the
    signer (key ids or public keys); ``trusted_contracts`` pins the registry per chain id. ``chain``
    is any node of the certificate's chain (see ``chain.AnchorReader``); without it only the offline
    steps run. Our service is never contacted.
    """
    steps: list[str] = []
    try:
        cert = (
            certificate
            if isinstance(certificate, Certificate)
            else Certificate.from_json(
                certificate if isinstance(certificate, bytes | str) else dict(certificate)
            )
        )
    except FormatError as exc:
        raise VerificationError(Step.FORMAT, str(exc)) from exc
    steps.append(Step.FORMAT)

    if content is not None:
        check_content(cert.record, _fingerprint(content))
        steps.append(Step.CONTENT)

    try:
        leaf = record_leaf_hash(cert.record)
    except FormatError as exc:
        raise VerificationError(Step.LEAF_HASH, str(exc)) from exc
    if leaf.hex() != cert.leaf_hash:
        raise VerificationError(
            Step.LEAF_HASH,
            "the record does not hash to the certificate's leaf hash: the record was altered",
        )
    steps.append(Step.LEAF_HASH)

    proof = cert.proof
    try:
        root = root_from_inclusion_proof(
            leaf, proof.leaf_index, proof.tree_size, [bytes.fromhex(h) for h in proof.audit_path]
        )
    except ValueError as exc:
        raise VerificationError(Step.INCLUSION_PROOF, f"the inclusion proof is invalid: {exc}") from exc
    if root.hex() != proof.root:
        raise VerificationError(
            Step.INCLUSION_PROOF,
            "the inclusion proof does not lead to the batch root it claims: "
            "the proof, the leaf position or the root was altered",
        )
    steps.append(Step.INCLUSION_PROOF)

    try:
        issuer_key, issuer_key_id = _issuer_key(cert.issuer.public_key)
    except FormatError as exc:
        raise VerificationError(Step.SIGNATURE, f"the issuer public key is unusable: {exc}") from exc
    if issuer_key_id != cert.issuer.key_id:
        raise VerificationError(Step.SIGNATURE, "the issuer key id does not match its public key")
    if not signature_is_valid(issuer_key, cert.unsigned_body(), cert.signature.value):
        raise VerificationError(
            Step.SIGNATURE, "the issuer's signature does not cover this document: it was altered"
        )
    steps.append(Step.SIGNATURE)

    issuer_trusted = False
    if trusted_issuer_keys is not None:
        if cert.issuer.key_id not in _normalise_keys(trusted_issuer_keys):
            raise VerificationError(
                Step.ISSUER,
                f"the certificate was signed by key {cert.issuer.key_id}, which is not among "
                "the trusted issuer keys",
            )
        issuer_trusted = True
        steps.append(Step.ISSUER)

    anchor = cert.anchor
    if trusted_contracts is not None:
        expected = trusted_contracts.get(anchor.chain_id)
        if expected is None or expected.lower() != anchor.contract.lower():
            raise VerificationError(
                Step.CONTRACT,
                f"registry {anchor.contract} on chain {anchor.chain_id} is not a trusted registry",
            )
        steps.append(Step.CONTRACT)

    confirmations = None
    if chain is not None:
        confirmations = _verify_on_chain(cert, chain, min_confirmations, steps)

    return VerificationResult(
        record_id=cert.record_id,
        kind=cert.kind,
        leaf_hash=cert.leaf_hash,
        root=proof.root,
        chain_id=anchor.chain_id,
        contract=anchor.contract,
        batch_id=anchor.batch_id,
        block_number=anchor.block_number,
        anchored_at=datetime.fromtimestamp(anchor.block_timestamp, UTC),
        issuer_key_id=cert.issuer.key_id,
        issuer_trusted=issuer_trusted,
        content_checked=content is not None,
        chain_checked=chain is not None,
        confirmations=confirmations,
        steps=tuple(steps),
        certificate=cert,
    )


def _verify_on_chain(
    cert: Certificate, chain: ChainView, min_confirmations: int, steps: list[str]
) -> int:
    anchor, proof = cert.anchor, cert.proof
    current = Step.CHAIN_ID  # names the step in the error if the node fails mid-way
    try:
        actual_chain = chain.chain_id()
        if actual_chain != anchor.chain_id:
            raise VerificationError(
                Step.CHAIN_ID,
                f"the node serves chain {actual_chain}, the certificate was anchored on chain "
                f"{anchor.chain_id}: ask a node of that chain",
            )
        steps.append(Step.CHAIN_ID)

        current = Step.ANCHOR
        found = chain.find_anchor(anchor.contract, bytes.fromhex(proof.root))
        if found is None:
            raise VerificationError(
                Step.ANCHOR,
                f"registry {anchor.contract} has no record of root {proof.root}: "
                "the batch was never anchored there",
            )
        mismatches = [
            f"{name} is {got} on chain but {want} in the certificate"
            for name, got, want in (
                ("batch id", found.batch_id, anchor.batch_id),
                ("leaf count", found.leaf_count, proof.tree_size),
                ("block number", found.block_number, anchor.block_number),
                ("timestamp", found.timestamp, anchor.block_timestamp),
            )
            if got != want
        ]
        if mismatches:
            raise VerificationError(Step.ANCHOR, "; ".join(mismatches))
        steps.append(Step.ANCHOR)

        current = Step.BLOCK
        block = chain.block_hash_and_time(anchor.block_number)
        if block is None or block[0].lower() != anchor.block_hash:
            raise VerificationError(
                Step.BLOCK,
                f"block {anchor.block_number} on the node is not block {anchor.block_hash}: "
                "the certificate names another block (or the chain reorganised)",
            )
        if block[1] != anchor.block_timestamp:
            raise VerificationError(
                Step.BLOCK, f"block time is {block[1]} on chain, {anchor.block_timestamp} claimed"
            )
        steps.append(Step.BLOCK)

        current = Step.CONFIRMATIONS
        confirmations = chain.head_block_number() - anchor.block_number + 1
        if confirmations < min_confirmations:
            raise VerificationError(
                Step.CONFIRMATIONS,
                f"{confirmations} confirmation(s), {min_confirmations} required: wait and retry",
            )
        steps.append(Step.CONFIRMATIONS)
        return confirmations
    except ChainReadError as exc:
        raise VerificationError(current, f"the chain could not be read: {exc}") from exc
