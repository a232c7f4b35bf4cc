"""Certificate verification under a trust policy: ``verify_certificate`` returns a result or raises
``VerificationError`` naming the step that failed.

"Don't trust the operator, verify": every check recomputes from the document, the file, the
verifier's own :class:`~ipnotary.sdk.policy.TrustPolicy` and, optionally, any node of the chain;
nothing is taken from our service. Without a policy (``policy=None``) the same checks run as far
as they can, and the verdict is :attr:`Verdict.NOT_TRUSTED`: the document is self-consistent, but
nobody the verifier trusts vouches for it. A step that fails because the policy does not vouch
for what the certificate names (another log or issuer key, a quorum not reached, no independent
time where one is required) raises :class:`~ipnotary.sdk.errors.NotTrustedError`, a
``VerificationError``; every other failure means that something does not match. The steps, in
order:

1. ``format``          the document parses as a certificate (version 2, or version 1) within limits
2. ``content``         (if a file or fingerprint is given) size, SHA-256, SM3 and CIDs match the record
3. ``leaf_hash``       the record's canonical JSON hashes to the certificate's leaf
4. ``checkpoint``      (v2) the checkpoint is a C2SP signed note of this log at this size; under a
                       policy: the log's origin and a valid signature by the policy's log key
5. ``inclusion_proof`` the proof leads from the leaf to the checkpoint's root (v1: the batch root)
6. ``signature``       the issuer's Ed25519 signature covers the whole document
7. ``issuer``          (policy) the issuer key is trusted, and was valid when the document was issued
8. ``witnesses``       (policy) at least ``quorum`` of the policy's witnesses cosigned the checkpoint
9. ``timestamps``      (policy with TSAs) RFC 3161 tokens over the checkpoint, from trusted TSAs
10. ``anchor_fields``  the anchor is self-consistent (block time) and names the policy's registry
11. ``chain_id`` / ``genesis`` / ``anchor`` / ``transaction`` / ``block`` / ``confirmations``
                       (if a chain is given) the node is on the certificate's chain (and on the
                       policy's genesis), the registry holds this root at this tree size in this
                       block, the transaction emitted that anchoring, the block is canonical with
                       the stated hash and time, and enough blocks were built on top of it
12. ``time``           the time the record is proven to have existed by, from the sources the
                       policy trusts (the quorum's k-th earliest cosignature, a TSA's genTime, a
                       trusted chain's block time) by the policy's ``time_rule`` (the earliest
                       wins; or k of its TSAs; or witnesses and TSAs), is consistent with the
                       record's ``received_at`` and the certificate's ``issued_at``; and a policy
                       that requires an independent source gets one.
"""  # noqa: E501 - the table of steps above is wider than 100 columns

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ipnotary.sdk.certificate import (
    MAX_UNIX_SECONDS,
    AnyCertificate,
    Certificate,
    CertificateV1,
    parse_certificate,
    parse_time,
    record_leaf_hash,
)
from ipnotary.sdk.errors import (
    ChainReadError,
    FormatError,
    NotTrustedError,
    VerificationError,
)
from ipnotary.sdk.merkle import root_from_inclusion_proof
from ipnotary.sdk.note import (
    Checkpoint,
    MlDsaCosignatureVerifier,
    Note,
    NoteSignature,
    NoteVerifier,
    cosignature_verifier_from_vkey,
    parse_note,
)
from ipnotary.sdk.policy import TimeRule, TrustPolicy
from ipnotary.sdk.signing import key_id, public_key_from_b64, signature_is_valid

__all__ = [
    "AnchorView",
    "ChainView",
    "ContentDigests",
    "Step",
    "TimeEvidence",
    "TimeSource",
    "Verdict",
    "VerificationResult",
    "check_content",
    "declared_digests",
    "verify_certificate",
]


class Step(StrEnum):
    FORMAT = "format"
    CONTENT = "content"
    LEAF_HASH = "leaf_hash"
    CHECKPOINT = "checkpoint"
    INCLUSION_PROOF = "inclusion_proof"
    SIGNATURE = "signature"
    ISSUER = "issuer"
    WITNESSES = "witnesses"
    TIMESTAMPS = "timestamps"
    ANCHOR_FIELDS = "anchor_fields"
    CHAIN_ID = "chain_id"
    GENESIS = "genesis"
    ANCHOR = "anchor"
    TRANSACTION = "transaction"
    BLOCK = "block"
    CONFIRMATIONS = "confirmations"
    TIME = "time"


class Verdict(StrEnum):
    VALID = "valid"  # every check passed under the verifier's policy
    NOT_TRUSTED = "not_trusted"  # self-consistent, but no policy was given: nobody vouches for it


class TimeSource(StrEnum):
    WITNESSES = "witnesses"  # the k-th earliest cosignature of the policy's quorum
    TIMESTAMP_AUTHORITY = "timestamp_authority"  # a trusted TSA's genTime
    CHAIN = "chain"  # the block time of a chain the policy trusts, checked on a node
    OPERATOR = "operator"  # nobody but the operator: its chain's block time as it states it


@dataclass(frozen=True)
class TimeEvidence:
    """One source's answer to "existed by when"."""

    source: TimeSource
    time: datetime
    detail: str


@dataclass(frozen=True)
class AnchorView:
    """What the registry contract says about a root."""

    batch_id: int
    tree_size: int  # v2: the checkpoint's tree size; v1: the batch's leaf count
    timestamp: int
    block_number: int
    root: bytes = b""


class ChainView(Protocol):
    """The read-only chain access the verifier needs; ``ipnotary.sdk.chain_view`` provides it."""

    def chain_id(self) -> int: ...

    def genesis_hash(self) -> str: ...

    def find_anchor(self, contract: str, root: bytes) -> AnchorView | None: ...

    def anchor_in_transaction(self, contract: str, tx_hash: str) -> AnchorView | None: ...

    def block_hash_and_time(self, block_number: int) -> tuple[str, int] | None: ...

    def head_block_number(self) -> int: ...


@dataclass(frozen=True)
class ContentDigests:
    """The fingerprint a verifier computed for a file (``ipnotary.sdk.fingerprint`` gives one)."""

    size: int
    sha256: str
    sm3: str | None = None
    cid: str | None = None
    cid_v1: str | None = None


@dataclass(frozen=True)
class VerificationResult:
    """What was proven. ``steps`` lists the checks that ran and passed, in order."""

    verdict: Verdict
    certificate_version: int
    record_id: str
    kind: str
    leaf_hash: str
    root: str
    log_origin: str | None  # None for version 1 (no log)
    tree_size: int
    leaf_index: int
    proven_time: datetime  # the record existed by then, per ``time_source``
    time_source: TimeSource
    time_evidence: tuple[TimeEvidence, ...]
    witnesses: tuple[str, ...]  # the policy's witnesses whose cosignatures verified
    chain_id: int
    contract: str
    batch_id: int
    block_number: int
    anchored_at: datetime  # the anchor block's time (checked on chain only if chain_checked)
    issuer_key_id: str
    issuer_trusted: bool
    content_checked: bool
    chain_checked: bool
    confirmations: int | None
    steps: tuple[str, ...]
    notes: tuple[str, ...]
    certificate: AnyCertificate
    # The record's digests compared with the given file or fingerprint (empty without one); a
    # note says which of them the submitter only declared (``record.content.declared``).
    digests_checked: tuple[str, ...] = ()
    # The policy's rule that chose ``proven_time`` among ``time_evidence`` (``earliest`` without
    # a policy): see :class:`~ipnotary.sdk.policy.TimeRule`.
    time_rule: TimeRule = TimeRule.EARLIEST

    @property
    def trusted(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def independent_time(self) -> bool:
        """Whether someone other than the operator vouches for ``proven_time``."""
        return self.time_source is not TimeSource.OPERATOR


def check_content(record: Mapping[str, Any], digests: ContentDigests) -> tuple[str, ...]:
    """Compare a file's fingerprint with the one the record holds; raises at step ``content``.

    Returns the names of the digests that were compared (both sides had them). The record is
    read as the JSON it is, not through ``ipnotary.sdk.records``: a body of a newer kind or
    schema that states these digests still verifies against its file."""
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
    compared = []
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
        compared.append(name)
    return tuple(compared)


def declared_digests(record: Mapping[str, Any]) -> frozenset[str]:
    """The record's content digests that the submitter declared and the service never measured.

    ``content.declared`` says so in records made since it exists; in older records content
    without a CID was never stored by the service, so all of its digests were declared."""
    content = record.get("content")
    if not isinstance(content, Mapping):
        return frozenset()
    declared = content.get("declared")
    if isinstance(declared, list):
        return frozenset(d for d in declared if isinstance(d, str))
    if content.get("cid") is None and content.get("cid_v1") is None:
        return frozenset(k for k in ("sha256", "size", "sm3") if content.get(k) is not None)
    return frozenset()


def _declared_notes(record: Mapping[str, Any], compared: tuple[str, ...]) -> list[str]:
    declared = declared_digests(record)
    matched = [d for d in compared if d in declared]
    unchecked = sorted(declared - set(compared))
    notes = []
    if matched:
        notes.append(
            f"{', '.join(matched)} matched the record, which holds them as declared by the "
            "submitter (the service never received the file): the match shows this is the file "
            "the submitter described, not a measurement by the service"
        )
    if unchecked:
        notes.append(
            f"the record's {', '.join(unchecked)}, declared by the submitter, could not "
            "be compared with the file given"
        )
    return notes


def _fingerprint(content: bytes | str | Path | ContentDigests) -> ContentDigests:
    if isinstance(content, ContentDigests):
        return content
    from ipnotary.sdk import fingerprint  # imported late: verification without a file needs none

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


# Every certificate of a batch carries the same checkpoint and cosignatures: a verifier checking
# many of them (a court's bundle, a platform's queue) checks each signature once. Keys are the
# full verifier key, the exact note text and the signature bytes, so a hit is the same check.
@lru_cache(maxsize=1024)
def _log_signature_valid(vkey: str, text: str, sig: NoteSignature) -> bool:
    return NoteVerifier.from_vkey(vkey).verify(text, sig)


@lru_cache(maxsize=1024)
def _cosignature_time(vkey: str, text: str, sig: NoteSignature) -> int | None:
    return cosignature_verifier_from_vkey(vkey).verify(text, sig)


class _Run:
    """The state of one verification: the steps passed so far and what each established."""

    def __init__(self, cert: AnyCertificate, policy: TrustPolicy | None) -> None:
        self.cert = cert
        self.policy = policy
        self.steps: list[str] = [Step.FORMAT]
        self.notes: list[str] = []
        self.evidence: list[TimeEvidence] = []
        self.witnesses: tuple[str, ...] = ()
        self.witness_time: datetime | None = None  # the quorum's k-th earliest cosignature
        self.tsa_times: dict[int, datetime] = {}  # a policy TSA's index: its earliest genTime
        # The checkpoint is within the policy's operator_attested_log_size: certified before
        # the deployment had witnesses or TSAs, so only the operator vouches for its time.
        self.operator_attested = False
        self.skew = timedelta(seconds=policy.max_clock_skew_seconds if policy else 300)

    def passed(self, step: Step) -> None:
        self.steps.append(step)


def verify_certificate(
    certificate: AnyCertificate | bytes | str | Mapping[str, Any],
    policy: TrustPolicy | None,
    *,
    content: bytes | str | Path | ContentDigests | None = None,
    chain: ChainView | None = None,
    min_confirmations: int | None = None,
    now: datetime | None = None,
) -> VerificationResult:
    """Verify a certificate under ``policy``; raise ``VerificationError`` at the first failed step.

    ``policy`` is required: pass the verifier's :class:`TrustPolicy`, or ``None`` to learn only
    whether the document is self-consistent (the verdict is then ``not_trusted``, never
    ``valid``). ``content`` is the file (path or bytes) or its fingerprint. ``chain`` is any node
    of the certificate's chain (``ipnotary.sdk.open_chain_view``); without it the chain is not
    consulted and its block time is trusted only as far as the certificate's signer is.
    ``min_confirmations`` defaults to the policy's setting for that chain (else 1). Our service is
    never contacted. A chain node that cannot be read raises ``ChainReadError``, never a
    ``VerificationError``: that the node is down says nothing about the certificate.
    """
    try:
        cert = (
            certificate
            if isinstance(certificate, Certificate | CertificateV1)
            else parse_certificate(
                certificate if isinstance(certificate, bytes | str) else dict(certificate)
            )
        )
    except FormatError as exc:
        raise VerificationError(Step.FORMAT, str(exc)) from exc
    run = _Run(cert, policy)

    digests_checked: tuple[str, ...] = ()
    if content is not None:
        digests_checked = check_content(cert.record, _fingerprint(content))
        run.passed(Step.CONTENT)
        run.notes.extend(_declared_notes(cert.record, digests_checked))

    try:
        leaf = record_leaf_hash(cert.record)
    except FormatError as exc:
        raise VerificationError(Step.LEAF_HASH, str(exc)) from exc
    if leaf.hex() != cert.leaf_hash:
        raise VerificationError(
            Step.LEAF_HASH,
            "the record does not hash to the certificate's leaf hash: the record was altered",
        )
    run.passed(Step.LEAF_HASH)

    if isinstance(cert, Certificate):
        note, checkpoint = _check_checkpoint(run, cert)
        before = policy.operator_attested_log_size if policy is not None else None
        run.operator_attested = before is not None and checkpoint.size <= before
        leaf_index, tree_size, root = cert.log.leaf_index, cert.log.tree_size, checkpoint.root
        path = cert.log.inclusion_proof
    else:
        note, checkpoint = None, None
        leaf_index, tree_size = cert.proof.leaf_index, cert.proof.tree_size
        root, path = bytes.fromhex(cert.proof.root), cert.proof.audit_path
    _check_inclusion(leaf, leaf_index, tree_size, path, root)
    run.passed(Step.INCLUSION_PROOF)

    issuer_key_id = _check_signature(cert)
    run.passed(Step.SIGNATURE)
    issued_at = parse_time(cert.issued_at)
    if policy is not None:
        _check_issuer(policy, issuer_key_id, issued_at)
        run.passed(Step.ISSUER)
        moment = now or datetime.now(UTC)
        _check_witnesses(run, note, checkpoint, moment)
        if policy.timestamp_authorities:
            _check_timestamps(run, cert, moment)
    _check_anchor_fields(run)
    run.passed(Step.ANCHOR_FIELDS)

    confirmations = None
    if chain is not None:
        confirmations = _verify_on_chain(run, chain, root, tree_size, min_confirmations)

    proven, source = _check_time(run, issued_at)
    anchor = cert.anchor
    if isinstance(cert, Certificate) and cert.notice:
        run.notes.append(f"the issuer says: {cert.notice}")
    return VerificationResult(
        verdict=Verdict.VALID if policy is not None else Verdict.NOT_TRUSTED,
        certificate_version=cert.version,
        record_id=cert.record_id,
        kind=cert.kind,
        leaf_hash=cert.leaf_hash,
        root=root.hex(),
        log_origin=checkpoint.origin if checkpoint else None,
        tree_size=tree_size,
        leaf_index=leaf_index,
        proven_time=proven,
        time_source=source,
        time_evidence=tuple(run.evidence),
        witnesses=run.witnesses,
        chain_id=anchor.chain_id,
        contract=anchor.contract,
        batch_id=anchor.batch_id,
        block_number=anchor.block_number,
        anchored_at=datetime.fromtimestamp(anchor.block_timestamp, UTC),
        issuer_key_id=issuer_key_id,
        issuer_trusted=policy is not None,
        content_checked=content is not None,
        chain_checked=chain is not None,
        confirmations=confirmations,
        steps=tuple(run.steps),
        notes=tuple(run.notes),
        certificate=cert,
        digests_checked=digests_checked,
        time_rule=policy.time_rule if policy is not None else TimeRule.EARLIEST,
    )


# -- the steps ---------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _parse_checkpoint(signed_note: str) -> tuple[Note, Checkpoint]:
    """Parsed once per distinct checkpoint (both results are immutable); errors are not cached."""
    note = parse_note(signed_note)
    return note, Checkpoint.parse(note.text)


def _check_checkpoint(run: _Run, cert: Certificate) -> tuple[Note, Checkpoint]:
    try:
        note, checkpoint = _parse_checkpoint(cert.log.checkpoint)
    except FormatError as exc:
        raise VerificationError(
            Step.CHECKPOINT, f"the checkpoint is not a signed note: {exc}"
        ) from exc
    if checkpoint.origin != cert.log.origin or checkpoint.size != cert.log.tree_size:
        raise VerificationError(
            Step.CHECKPOINT,
            f"the checkpoint is of log {checkpoint.origin!r} at size {checkpoint.size}, the "
            f"certificate says {cert.log.origin!r} at size {cert.log.tree_size}",
        )
    policy = run.policy
    if policy is not None:
        if policy.log is None:
            raise NotTrustedError(
                Step.CHECKPOINT,
                "the trust policy names no log, so no log checkpoint can be trusted",
            )
        if checkpoint.origin != policy.log.origin:
            raise NotTrustedError(
                Step.CHECKPOINT,
                f"the certificate is from log {checkpoint.origin!r}; the trust policy trusts "
                f"{policy.log.origin!r} only",
            )
        signed = False
        for verifier in policy.log.verifiers:
            for sig in note.signatures:
                if verifier.matches(sig):
                    if not _log_signature_valid(verifier.vkey(), note.text, sig):
                        raise VerificationError(
                            Step.CHECKPOINT,
                            f"the log key {verifier.name} has a signature on the checkpoint that "
                            "does not verify: the checkpoint was altered",
                        )
                    signed = True
        if not signed:
            raise NotTrustedError(
                Step.CHECKPOINT,
                "the checkpoint carries no signature by the log key the trust policy names",
            )
    run.passed(Step.CHECKPOINT)
    return note, checkpoint


def _check_inclusion(leaf: bytes, index: int, size: int, path: list[str], root: bytes) -> None:
    try:
        computed = root_from_inclusion_proof(leaf, index, size, [bytes.fromhex(h) for h in path])
    except ValueError as exc:
        raise VerificationError(
            Step.INCLUSION_PROOF, f"the inclusion proof is invalid: {exc}"
        ) from exc
    if computed != root:
        raise VerificationError(
            Step.INCLUSION_PROOF,
            "the inclusion proof does not lead to the root it claims: "
            "the proof, the leaf position or the root was altered",
        )


def _check_signature(cert: AnyCertificate) -> str:
    try:
        issuer_key, issuer_key_id = _issuer_key(cert.issuer.public_key)
    except FormatError as exc:
        raise VerificationError(
            Step.SIGNATURE, f"the issuer public key is unusable: {exc}"
        ) from exc
    if issuer_key_id != cert.issuer.key_id:
        raise VerificationError(Step.SIGNATURE, "the issuer key id does not match its public key")
    if not signature_is_valid(issuer_key, cert.unsigned_body(), cert.signature.value):
        raise VerificationError(
            Step.SIGNATURE, "the issuer's signature does not cover this document: it was altered"
        )
    return issuer_key_id


def _check_issuer(policy: TrustPolicy, issuer_key_id: str, issued_at: datetime) -> None:
    key = policy.issuer(issuer_key_id)
    if key is None:
        raise NotTrustedError(
            Step.ISSUER,
            f"the certificate was signed by key {issuer_key_id}, which the trust policy does not "
            "list: anyone can sign a self-consistent certificate with a key of their own",
        )
    if not key.covers(issued_at):
        raise NotTrustedError(
            Step.ISSUER,
            f"issuer key {issuer_key_id} is trusted from {key.not_before or 'the start'} to "
            f"{key.not_after or 'now'}, and the certificate says it was issued "
            f"{issued_at.isoformat()}",
        )


def _check_witnesses(
    run: _Run, note: Note | None, checkpoint: Checkpoint | None, now: datetime
) -> None:
    policy = run.policy
    assert policy is not None
    quorum = 0 if run.operator_attested else policy.witnesses.quorum
    if note is None or checkpoint is None:
        if quorum:
            raise NotTrustedError(
                Step.WITNESSES,
                f"this is a version {run.cert.version} certificate: it has no log checkpoint, so "
                f"no witness vouches for it, and the trust policy requires {quorum} witness(es)",
            )
        return
    times: list[tuple[datetime, str]] = []
    untimed: list[str] = []  # ML-DSA-44 cosignatures of time 0: consistency, but no time
    counted: set[bytes] = set()  # a key counts once, whatever names it is listed under
    for witness in policy.witnesses.members:
        verifier = witness.verifier
        if verifier.public_key_bytes in counted:
            continue
        for sig in note.signatures:
            if not verifier.matches(sig):
                continue
            stamp = _cosignature_time(verifier.vkey(), note.text, sig)
            if stamp is None:
                raise VerificationError(
                    Step.WITNESSES,
                    f"witness {witness.name}'s cosignature does not verify: the checkpoint or "
                    "the cosignature was altered",
                )
            if stamp == 0 and isinstance(verifier, MlDsaCosignatureVerifier):
                # tlog-cosignature: an ML-DSA-44 cosigner may sign with time 0 to make no
                # statement about the time; it still vouches that the tree is consistent.
                untimed.append(witness.name)
                counted.add(verifier.public_key_bytes)
                break
            # A uint64 may say a second past the year 9999, which no datetime holds: that is in
            # the future by any clock, and refused as such rather than raised while converting.
            moment = _from_unix(stamp)
            if moment is None or moment - now > run.skew:
                when = moment.isoformat() if moment is not None else f"Unix time {stamp}"
                raise VerificationError(
                    Step.WITNESSES, f"witness {witness.name} cosigned at {when}, in the future"
                )
            times.append((moment, witness.name))
            counted.add(verifier.public_key_bytes)
            break
    run.witnesses = tuple(sorted([*(name for _, name in times), *untimed]))
    if len(run.witnesses) < quorum:
        have = ", ".join(run.witnesses) or "none"
        raise NotTrustedError(
            Step.WITNESSES,
            f"{len(run.witnesses)} of the policy's witnesses cosigned the checkpoint ({have}); the "
            f"quorum is {quorum} of {len(policy.witnesses.members)}",
        )
    if quorum and len(times) < quorum:
        run.notes.append(
            f"{len(untimed)} witness cosignature(s) state no time ({', '.join(untimed)}): the "
            "quorum vouches that the log is consistent, but not for when"
        )
    elif quorum:
        # The k-th earliest: with at most k-1 dishonest witnesses, an honest one cosigned by then.
        times.sort()
        moment = times[quorum - 1][0]
        run.witness_time = moment
        run.evidence.append(
            TimeEvidence(
                TimeSource.WITNESSES,
                moment,
                f"{quorum} of {len(policy.witnesses.members)} witnesses had cosigned by then "
                f"({', '.join(name for _, name in times[:quorum])})",
            )
        )
    run.passed(Step.WITNESSES)


def _check_timestamps(run: _Run, cert: AnyCertificate, now: datetime) -> None:
    from ipnotary.sdk.timestamp import TimestampError, verify_token  # only with TSAs in the policy

    policy = run.policy
    assert policy is not None
    if not isinstance(cert, Certificate):
        return
    digest = hashlib.sha256(_parse_checkpoint(cert.log.checkpoint)[0].text.encode("utf-8")).digest()
    for i, field in enumerate(cert.timestamps):
        token = base64.b64decode(field.token)
        for number, authority in enumerate(policy.timestamp_authorities):
            try:
                info = verify_token(token, digest=digest, trusted_roots=authority.roots)
            except (TimestampError, FormatError):
                continue
            if info.gen_time - now > run.skew:
                raise VerificationError(
                    Step.TIMESTAMPS,
                    f"{authority.name}'s time-stamp says {info.gen_time.isoformat()}, "
                    "in the future",
                )
            run.evidence.append(
                TimeEvidence(
                    TimeSource.TIMESTAMP_AUTHORITY,
                    info.gen_time,
                    f"time-stamp by {authority.name} ({info.tsa_name or 'TSA'})",
                )
            )
            # Each TSA counts once towards a tsa_quorum, at its earliest token.
            earliest = run.tsa_times.get(number)
            if earliest is None or info.gen_time < earliest:
                run.tsa_times[number] = info.gen_time
            break
        else:
            run.notes.append(
                f"time-stamp token {i + 1} is not from a TSA the policy trusts "
                "(or does not cover this checkpoint); it was not counted"
            )
    run.passed(Step.TIMESTAMPS)


def _check_anchor_fields(run: _Run) -> None:
    anchor = run.cert.anchor
    stated = parse_time(anchor.block_time)
    if stated != datetime.fromtimestamp(anchor.block_timestamp, UTC):
        raise VerificationError(
            Step.ANCHOR_FIELDS,
            f"anchor.block_time {anchor.block_time} is not anchor.block_timestamp "
            f"{anchor.block_timestamp}: the certificate contradicts itself",
        )
    trusted = run.policy.chain(anchor.chain_id) if run.policy else None
    if trusted is not None and trusted.registry.lower() != anchor.contract.lower():
        raise NotTrustedError(
            Step.ANCHOR_FIELDS,
            f"the anchor names registry {anchor.contract} on chain {anchor.chain_id}; the trust "
            f"policy's registry there is {trusted.registry}",
        )


def _verify_on_chain(
    run: _Run, chain: ChainView, root: bytes, tree_size: int, min_confirmations: int | None
) -> int:
    anchor = run.cert.anchor
    trusted = run.policy.chain(anchor.chain_id) if run.policy else None
    needed = min_confirmations or (trusted.min_confirmations if trusted else 1)
    current = Step.CHAIN_ID  # names the step in the error if the node fails mid-way
    try:
        actual_chain = chain.chain_id()
        if actual_chain != anchor.chain_id:
            raise VerificationError(
                Step.CHAIN_ID,
                f"the node serves chain {actual_chain}, the certificate was anchored on chain "
                f"{anchor.chain_id}: ask a node of that chain",
            )
        run.passed(Step.CHAIN_ID)

        if trusted is not None:
            current = Step.GENESIS
            genesis = chain.genesis_hash().lower()
            if genesis != trusted.genesis_hash.lower():
                raise VerificationError(
                    Step.GENESIS,
                    f"the node's chain {actual_chain} starts at block {genesis}, the trust "
                    "policy's "
                    f"at {trusted.genesis_hash}: it is another chain with the same id (a rebuilt "
                    "or private copy)",
                )
            run.passed(Step.GENESIS)

        current = Step.ANCHOR
        found = chain.find_anchor(anchor.contract, root)
        if found is None:
            raise VerificationError(
                Step.ANCHOR,
                f"registry {anchor.contract} has no record of root {root.hex()}: "
                "it was never anchored there",
            )
        _compare_anchor(
            Step.ANCHOR,
            found,
            anchor.batch_id,
            tree_size,
            anchor.block_number,
            anchor.block_timestamp,
            "on chain",
        )
        run.passed(Step.ANCHOR)

        current = Step.TRANSACTION
        in_tx = chain.anchor_in_transaction(anchor.contract, anchor.tx_hash)
        if in_tx is None or in_tx.root != root:
            raise VerificationError(
                Step.TRANSACTION,
                f"transaction {anchor.tx_hash} did not anchor root {root.hex()} in registry "
                f"{anchor.contract}: the certificate names another transaction",
            )
        _compare_anchor(
            Step.TRANSACTION,
            in_tx,
            anchor.batch_id,
            tree_size,
            anchor.block_number,
            anchor.block_timestamp,
            "in the transaction",
        )
        run.passed(Step.TRANSACTION)

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
        run.passed(Step.BLOCK)

        current = Step.CONFIRMATIONS
        confirmations = chain.head_block_number() - anchor.block_number + 1
        if confirmations < needed:
            raise VerificationError(
                Step.CONFIRMATIONS,
                f"{confirmations} confirmation(s), {needed} required: wait and retry",
            )
        run.passed(Step.CONFIRMATIONS)
    except ChainReadError as exc:
        # An unreachable or unreadable node is not a forgery: it is not a failed step, and the
        # caller (``notary verify``: exit status 2) must be able to tell the two apart.
        raise ChainReadError(f"could not check step '{current}': {exc}") from exc
    if trusted is not None:
        run.evidence.append(
            TimeEvidence(
                TimeSource.CHAIN,
                datetime.fromtimestamp(anchor.block_timestamp, UTC),
                f"block {anchor.block_number} of chain {anchor.chain_id}, checked on a node",
            )
        )
    return confirmations


def _from_unix(seconds: int) -> datetime | None:
    """``seconds`` as a UTC time, or ``None`` past what ``datetime`` holds (the year 9999)."""
    if not 0 <= seconds <= MAX_UNIX_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _compare_anchor(
    step: Step,
    found: AnchorView,
    batch_id: int,
    tree_size: int,
    block_number: int,
    timestamp: int,
    where: str,
) -> None:
    mismatches = [
        f"{name} is {got} {where} but {want} in the certificate"
        for name, got, want in (
            ("batch id", found.batch_id, batch_id),
            ("tree size", found.tree_size, tree_size),
            ("block number", found.block_number, block_number),
            ("timestamp", found.timestamp, timestamp),
        )
        if got != want
    ]
    if mismatches:
        raise VerificationError(step, "; ".join(mismatches))


def _by_rule(run: _Run, policy: TrustPolicy) -> tuple[datetime, TimeSource]:
    """The proven time under a rule that needs TSAs (and, for one, witnesses) to agree."""
    k, n = policy.tsa_quorum, len(policy.timestamp_authorities)
    stamps = sorted(run.tsa_times.values())
    if len(stamps) < k:
        raise NotTrustedError(
            Step.TIME,
            f"the trust policy's time rule {policy.time_rule.value} needs time-stamps from {k} "
            f"of its {n} TSA(s); {len(stamps)} of them stamped this checkpoint",
        )
    tsa_time = stamps[k - 1]  # with at most k-1 dishonest TSAs, an honest one stamped by then
    if policy.time_rule is TimeRule.TSA_QUORUM:
        return tsa_time, TimeSource.TIMESTAMP_AUTHORITY
    if run.witness_time is None:
        raise NotTrustedError(
            Step.TIME,
            "the trust policy's time rule witnesses_and_tsa needs the witness quorum's time, "
            "and no quorum of witnesses vouches for this checkpoint",
        )
    # Both vouch that the record existed by the later of the two times.
    if tsa_time >= run.witness_time:
        return tsa_time, TimeSource.TIMESTAMP_AUTHORITY
    return run.witness_time, TimeSource.WITNESSES


def _check_time(run: _Run, issued_at: datetime) -> tuple[datetime, TimeSource]:
    cert, policy = run.cert, run.policy
    if (
        policy is not None
        and policy.time_rule is not TimeRule.EARLIEST
        and not run.operator_attested
    ):
        proven, source = _by_rule(run, policy)
    elif run.evidence:
        best = min(run.evidence, key=lambda e: e.time)
        proven, source = best.time, best.source
    else:
        if policy is not None and policy.require_independent_time and not run.operator_attested:
            raise NotTrustedError(
                Step.TIME,
                "nobody but the operator vouches for this certificate's time (no witness quorum, "
                "trusted time-stamp or trusted chain checked on a node), and the trust policy "
                "requires an independent source",
            )
        proven = datetime.fromtimestamp(cert.anchor.block_timestamp, UTC)
        source = TimeSource.OPERATOR
        run.notes.append(
            "the time rests on the operator alone: no witness, time-stamp authority "
            "or trusted chain vouches for it"
        )
        if run.operator_attested and policy is not None:
            run.notes.append(
                f"the certificate is from before the deployment's witnesses: its checkpoint of "
                f"{cert.log.tree_size if isinstance(cert, Certificate) else '?'} entries is within "
                f"the first {policy.operator_attested_log_size}, which the trust policy accepts "
                "on the operator's word alone (operator_attested_log_size)"
            )
    received = cert.record.get("received_at")
    if isinstance(received, str):
        try:
            received_at = parse_time(received)
        except ValueError as exc:
            raise VerificationError(Step.TIME, f"record.received_at is not a time: {exc}") from exc
        # Differences, not sums: a time near the year 9999 plus the skew overflows datetime.
        if received_at - proven > run.skew:
            raise VerificationError(
                Step.TIME,
                f"the record says it was received {received_at.isoformat()}, after the time it is "
                f"proven to have existed by ({proven.isoformat()}, {source.value}): the operator's "
                "clock or the record is wrong",
            )
    if proven - issued_at > run.skew:
        raise VerificationError(
            Step.TIME,
            f"the certificate says it was issued {issued_at.isoformat()}, before the time its "
            f"checkpoint was attested ({proven.isoformat()}, {source.value})",
        )
    run.passed(Step.TIME)
    return proven, source
