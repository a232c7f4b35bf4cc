"""Offline verification under a trust policy: a valid certificate passes with the time its witness
quorum proves, nothing verifies without a policy, and any single change to a certificate, its
checkpoint or its cosignatures fails at the step that owns it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.certificate import Anchor, format_timestamp, record_leaf_hash
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.merkle import MerkleTree
from ipnotary.sdk.note import Checkpoint, CosignatureSigner, Note, NoteSigner
from ipnotary.sdk.policy import (
    IssuerKey,
    LogPolicy,
    TrustedChain,
    TrustPolicy,
    Witness,
    WitnessPolicy,
)
from ipnotary.sdk.verify import ContentDigests, Step, TimeSource, Verdict, verify_certificate
from ipnotary.service.services.issuer import Issuer, LogFacts

CONTENT = ContentDigests(
    size=11,
    sha256="b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    sm3="44f0061e69fa6fdfc290c494654a05dc0c053da7e5c52b84ef93a9d67d3fff88",
    cid="Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD",
)
ORIGIN = "notary.test/log"
RECEIVED = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
T0 = int(RECEIVED.timestamp())  # the witnesses' cosignatures come a few seconds later
V1 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v1"


@dataclass
class Deployment:
    """A log, its issuer and three witnesses, all in memory: what a certificate is made of."""

    issuer: Issuer = field(default_factory=lambda: Issuer(Ed25519PrivateKey.generate()))
    log: NoteSigner = field(
        default_factory=lambda: NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    )
    witnesses: list[CosignatureSigner] = field(
        default_factory=lambda: [
            CosignatureSigner(f"witness.test/w{i}", Ed25519PrivateKey.generate()) for i in range(3)
        ]
    )

    def policy(self, quorum: int = 2, **changes: Any) -> TrustPolicy:
        fields: dict[str, Any] = {
            "log": LogPolicy(origin=ORIGIN, keys=[self.log.vkey()]),
            "issuers": [IssuerKey(public_key=self.issuer.public_key_b64)],
            "witnesses": WitnessPolicy(
                quorum=quorum,
                members=[
                    Witness(name=f"Witness {i}", key=w.vkey()) for i, w in enumerate(self.witnesses)
                ],
            ),
            **changes,
        }
        return TrustPolicy(**fields)

    def certificate(
        self,
        *,
        n: int = 5,
        index: int = 2,
        cosign: dict[int, int] | None = None,
        issued_at: datetime | None = None,
        received_at: datetime = RECEIVED,
        issuer: Issuer | None = None,
        log: NoteSigner | None = None,
    ) -> dict[str, Any]:
        """A certificate for record ``index`` of ``n``, its checkpoint cosigned by witness i at
        T0 + seconds for each ``cosign`` item (default: all three, at +3, +4, +5 s)."""
        records = [
            {
                "id": f"ev_{i:032x}",
                "kind": "evidence",
                "schema": 1,
                "holder": {"id": "prn_1", "name": "Acme"},
                "content": {
                    "size": CONTENT.size,
                    "sha256": CONTENT.sha256,
                    "sm3": CONTENT.sm3,
                    "cid": CONTENT.cid,
                }
                if i == index
                else {"size": i, "sha256": f"{i:064x}"},
                "received_at": format_timestamp(received_at),
            }
            for i in range(n)
        ]
        tree = MerkleTree.from_leaf_hashes([record_leaf_hash(r) for r in records])
        signer = log or self.log
        text = Checkpoint(origin=signer.name, size=n, root=tree.root).text()
        cosign = {0: 3, 1: 4, 2: 5} if cosign is None else cosign
        signatures = (
            signer.sign(text),
            *(self.witnesses[i].cosign(text, T0 + seconds) for i, seconds in cosign.items()),
        )
        cert = (issuer or self.issuer).certificate(
            record=records[index],
            leaf_hash=record_leaf_hash(records[index]).hex(),
            log=LogFacts(
                origin=signer.name,
                leaf_index=index,
                tree_size=n,
                inclusion_proof=tree.audit_path(index),
                checkpoint=Note(text=text, signatures=signatures).format(),
            ),
            timestamps=[],
            cosignatures=len(cosign),
            anchor=Anchor.of_block(
                chain_id=1337,
                contract="0x" + "12" * 20,
                batch_id=7,
                tx_hash="0x" + "ab" * 32,
                block_number=42,
                block_hash="0x" + "cd" * 32,
                block_timestamp=T0 + 2,
            ),
            issued_at=issued_at or datetime.fromtimestamp(T0 + 6, UTC),
        )
        return cert.model_dump(mode="json", exclude_none=True)

    def resign(self, cert: dict[str, Any]) -> dict[str, Any]:
        """The document re-signed by our issuer after a change: the issuer itself lying."""
        unsigned = {k: v for k, v in cert.items() if k != "signature"}
        return self.issuer.sign(unsigned)


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return Deployment()


def test_valid_certificate_is_proven_by_the_quorums_kth_earliest_cosignature(
    deployment: Deployment,
) -> None:
    cert = deployment.certificate()
    result = verify_certificate(cert, deployment.policy(quorum=2), content=b"hello world")
    assert result.verdict is Verdict.VALID and result.trusted
    assert result.steps == (
        "format",
        "content",
        "leaf_hash",
        "checkpoint",
        "inclusion_proof",
        "signature",
        "issuer",
        "witnesses",
        "anchor_fields",
        "time",
    )
    assert result.time_source is TimeSource.WITNESSES
    assert result.proven_time == datetime.fromtimestamp(T0 + 4, UTC)  # 2nd of +3, +4, +5
    assert result.witnesses == ("Witness 0", "Witness 1", "Witness 2")
    assert result.log_origin == ORIGIN and result.tree_size == 5 and result.leaf_index == 2
    assert not result.notes


def test_without_a_policy_nothing_is_valid(deployment: Deployment) -> None:
    result = verify_certificate(deployment.certificate(), None)
    assert result.verdict is Verdict.NOT_TRUSTED and not result.trusted
    assert "issuer" not in result.steps and "witnesses" not in result.steps
    assert result.time_source is TimeSource.OPERATOR


def test_fewer_than_k_dishonest_witnesses_cannot_backdate(deployment: Deployment) -> None:
    """Witness 0 lies that it saw the checkpoint in 2019; with a quorum of 2 the proven time is
    still an honest witness's."""
    backdated = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp()) - T0
    cert = deployment.certificate(cosign={0: backdated, 1: 4, 2: 5})
    result = verify_certificate(cert, deployment.policy(quorum=2))
    assert result.proven_time == datetime.fromtimestamp(T0 + 4, UTC)
    # ... whereas under a policy that trusts any single witness the lie would be the proven
    # time, and then contradicts the record's receipt time
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, deployment.policy(quorum=1))
    assert info.value.step == Step.TIME and "2019" in info.value.reason


@pytest.mark.parametrize(
    ("cosign", "quorum"), [({0: 3}, 2), ({}, 1)], ids=["one-of-two", "stripped"]
)
def test_a_missing_quorum_fails_at_witnesses(
    deployment: Deployment, cosign: dict[int, int], quorum: int
) -> None:
    cert = deployment.certificate(cosign=cosign)
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, deployment.policy(quorum=quorum))
    assert info.value.step == Step.WITNESSES and f"quorum is {quorum} of 3" in info.value.reason


def test_cosignatures_of_unknown_witnesses_do_not_count(deployment: Deployment) -> None:
    stranger = Deployment()  # same names, other keys
    cert = stranger.certificate(issuer=deployment.issuer, log=deployment.log)
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, deployment.policy(quorum=1))
    assert info.value.step == Step.WITNESSES


def test_a_tampered_cosignature_fails_even_if_the_quorum_is_met(deployment: Deployment) -> None:
    cert = deployment.certificate()
    lines = cert["log"]["checkpoint"].split("\n")
    last = next(i for i, line in enumerate(lines) if line.startswith("— witness.test/w2"))
    name, sig = lines[last].rsplit(" ", 1)
    lines[last] = f"{name} {sig[:20]}{'A' if sig[20] != 'A' else 'B'}{sig[21:]}"
    cert["log"]["checkpoint"] = "\n".join(lines)
    with pytest.raises(VerificationError) as info:
        verify_certificate(deployment.resign(cert), deployment.policy(quorum=2))
    assert info.value.step == Step.WITNESSES and "Witness 2" in info.value.reason


def test_a_cosignature_from_the_future_fails(deployment: Deployment) -> None:
    later = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp()) - T0
    cert = deployment.certificate(
        cosign={0: 3, 1: later}, issued_at=datetime(2100, 1, 2, tzinfo=UTC)
    )
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, deployment.policy(quorum=2))
    assert info.value.step == Step.WITNESSES and "future" in info.value.reason


def test_another_log_or_log_key_fails_at_checkpoint(deployment: Deployment) -> None:
    # same origin, the operator's new key
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError) as info:
        verify_certificate(deployment.certificate(log=impostor), deployment.policy())
    assert info.value.step == Step.CHECKPOINT and "no signature by the log key" in info.value.reason
    other = NoteSigner("other.test/log", Ed25519PrivateKey.generate())  # a new log origin
    with pytest.raises(VerificationError) as info:
        verify_certificate(deployment.certificate(log=other), deployment.policy())
    assert (
        info.value.step == Step.CHECKPOINT and "trusts 'notary.test/log' only" in info.value.reason
    )


def test_an_unknown_issuer_or_one_outside_its_window_fails_at_issuer(
    deployment: Deployment,
) -> None:
    forger = Issuer(Ed25519PrivateKey.generate())
    cert = deployment.certificate(issuer=forger)
    assert verify_certificate(cert, None).verdict is Verdict.NOT_TRUSTED  # self-consistent ...
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, deployment.policy())
    assert info.value.step == Step.ISSUER  # ... but not signed by an issuer we trust
    retired = deployment.policy(
        issuers=[
            IssuerKey(public_key=deployment.issuer.public_key_b64, not_after="2026-01-01T00:00:00Z")
        ]
    )
    with pytest.raises(VerificationError) as info:
        verify_certificate(deployment.certificate(), retired)
    assert info.value.step == Step.ISSUER and "trusted from" in info.value.reason


def test_times_that_contradict_each_other_fail_at_time(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our issuer refuses to sign such certificates; a forger's would not.
    monkeypatch.setattr("ipnotary.service.services.issuer.verify_certificate", lambda *a, **k: None)
    late_receipt = deployment.certificate(
        received_at=datetime(2027, 1, 1, tzinfo=UTC), issued_at=datetime(2027, 1, 2, tzinfo=UTC)
    )
    with pytest.raises(VerificationError) as info:
        verify_certificate(late_receipt, deployment.policy())
    assert info.value.step == Step.TIME and "received" in info.value.reason
    early_issue = deployment.certificate(issued_at=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(VerificationError) as info:
        verify_certificate(early_issue, deployment.policy())
    assert info.value.step == Step.TIME and "issued" in info.value.reason


def test_operator_only_time_needs_a_policy_that_accepts_it(deployment: Deployment) -> None:
    cert = deployment.certificate(cosign={})
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, deployment.policy(quorum=0))
    assert info.value.step == Step.TIME and "nobody but the operator" in info.value.reason
    lenient = deployment.policy(quorum=0, require_independent_time=False)
    result = verify_certificate(cert, lenient)
    assert result.trusted and result.time_source is TimeSource.OPERATOR
    assert result.proven_time == datetime.fromtimestamp(T0 + 2, UTC)  # the operator's block time
    assert any("operator alone" in n for n in result.notes)


def test_block_time_must_agree_with_block_timestamp(deployment: Deployment) -> None:
    cert = deployment.certificate()
    cert["anchor"]["block_time"] = "2019-01-01T00:00:00.000000Z"
    with pytest.raises(VerificationError) as info:
        verify_certificate(deployment.resign(cert), deployment.policy())
    assert info.value.step == Step.ANCHOR_FIELDS


def test_the_policys_registry_is_pinned(deployment: Deployment) -> None:
    chain = {"chain_id": 1337, "genesis_hash": "0x" + "00" * 32}
    cert = deployment.certificate()
    verify_certificate(
        cert, deployment.policy(chains=[TrustedChain(**chain, registry="0x" + "12" * 20)])
    )
    with pytest.raises(VerificationError) as info:
        verify_certificate(
            cert, deployment.policy(chains=[TrustedChain(**chain, registry="0x" + "34" * 20)])
        )
    assert info.value.step == Step.ANCHOR_FIELDS


# -- every field, every byte ------------------------------------------------------------------


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _mutate(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        # Flip one character inside its alphabet so the change survives format checks when possible.
        i = len(value) // 2
        c = value[i] if value else "a"
        swap = {"0": "1", "1": "0", "a": "b", "b": "a", "Z": "Z"}.get(c, "a" if c != "a" else "b")
        return value[:i] + swap + value[i + 1 :] if value else "x"
    if isinstance(value, list):
        return value[:-1]
    return value


def _step_for(path: tuple[Any, ...]) -> set[str]:
    top = path[0]
    if top == "media_type":
        return {Step.FORMAT}
    if top == "record":
        return {Step.LEAF_HASH, Step.FORMAT}
    if top == "leaf_hash":
        return {Step.LEAF_HASH}
    if top == "log":
        part = path[1]
        if part in ("origin", "tree_size"):
            return {Step.CHECKPOINT, Step.FORMAT}
        if part == "checkpoint":  # the log's signature, or a witness's, or (covered) the rest
            return {Step.CHECKPOINT, Step.WITNESSES, Step.SIGNATURE}
        return {Step.INCLUSION_PROOF, Step.FORMAT}
    if top in {"anchor", "issued_at", "issuer", "signature", "timestamps", "notice"}:
        return {Step.SIGNATURE, Step.FORMAT}
    raise AssertionError(path)


def test_every_field_changed_fails_at_its_step(deployment: Deployment) -> None:
    cert = deployment.certificate()
    policy = deployment.policy()
    paths = _leaves(cert)
    assert len(paths) > 25
    for path in paths:
        forged = copy.deepcopy(cert)
        target = forged
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = _mutate(target[path[-1]])
        if forged == cert:
            continue
        with pytest.raises(VerificationError) as info:
            verify_certificate(forged, policy)
        assert info.value.step in _step_for(path), (path, info.value)


def test_every_character_of_the_checkpoint_matters(deployment: Deployment) -> None:
    """Change any one character of the signed note (text, log signature, cosignatures), even
    with the issuer re-signing the result, and the certificate fails."""
    cert = deployment.certificate()
    policy = deployment.policy(quorum=3)
    note = cert["log"]["checkpoint"]
    for i, c in enumerate(note):
        if c in "\n—":
            continue
        forged = copy.deepcopy(cert)
        forged["log"]["checkpoint"] = note[:i] + ("B" if c == "A" else "A") + note[i + 1 :]
        with pytest.raises(VerificationError) as info:
            verify_certificate(deployment.resign(forged), policy)
        assert info.value.step in {Step.CHECKPOINT, Step.INCLUSION_PROOF, Step.WITNESSES}, (
            i,
            info.value,
        )


def test_every_byte_flip_of_the_file_fails_at_content(deployment: Deployment) -> None:
    cert = deployment.certificate()
    original = b"hello world"
    for offset in range(len(original)):
        for bit in range(8):
            data = bytearray(original)
            data[offset] ^= 1 << bit
            with pytest.raises(VerificationError) as info:
                verify_certificate(cert, None, content=bytes(data))
            assert info.value.step == Step.CONTENT
    for changed in (original[:-1], original + b"!", b""):
        with pytest.raises(VerificationError) as info:
            verify_certificate(cert, None, content=changed)
        assert info.value.step == Step.CONTENT


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"[]",
        b"{",
        b'{"media_type": "x"}',
        b"\xff\xfe",
        b'{"a":1,"a":2}',
        b"[" * 10000 + b"]" * 10000,
    ],
    ids=["empty", "array", "truncated", "wrong-type", "not-utf8", "duplicate-key", "deep-nesting"],
)
def test_hostile_documents_fail_at_format(document: bytes) -> None:
    with pytest.raises(VerificationError) as info:
        verify_certificate(document, None)
    assert info.value.step == Step.FORMAT


def test_oversized_document_fails_at_format(deployment: Deployment) -> None:
    cert = deployment.certificate()
    blob = json.dumps({**cert, "padding": "x" * 300_000}).encode()
    with pytest.raises(VerificationError) as info:
        verify_certificate(blob, None)
    assert info.value.step == Step.FORMAT and "limit" in info.value.reason


# -- version 1 keeps verifying, as what it is --------------------------------------------------


def _v1_policy(**changes: Any) -> TrustPolicy:
    trust = json.loads((V1 / "trust.json").read_text())
    return TrustPolicy(issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])], **changes)


def test_the_golden_v1_certificate_verifies_as_attested_by_the_operator_alone() -> None:
    cert = (V1 / "certificate.json").read_bytes()
    result = verify_certificate(
        cert, _v1_policy(require_independent_time=False), content=V1 / "golden.txt"
    )
    assert result.trusted and result.certificate_version == 1
    assert result.time_source is TimeSource.OPERATOR and result.log_origin is None
    assert verify_certificate(cert, None).verdict is Verdict.NOT_TRUSTED


def test_a_v1_certificate_cannot_meet_a_witness_quorum(deployment: Deployment) -> None:
    cert = (V1 / "certificate.json").read_bytes()
    policy = _v1_policy(
        log=LogPolicy(origin=ORIGIN, keys=[deployment.log.vkey()]),
        witnesses=deployment.policy().witnesses,
    )
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, policy)
    assert info.value.step == Step.WITNESSES and "version 1" in info.value.reason
