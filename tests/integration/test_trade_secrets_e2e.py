"""Trade secrets through a real server: the plaintext never reaches the service, disclosure opens
it to one named arbitrator only, and tampering is caught. The filing and the disclosure are records
of the one log, and their certificates verify under the service's policy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ipnotary.sdk import NotaryClient, TrustPolicy, verify_certificate
from ipnotary.sdk.certificate import AnyCertificate
from ipnotary.sdk.errors import APIError, DecryptionError, VerificationError
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.trade_secret import RecipientKeys, WrappedKey, open_secret
from tests.integration.conftest import check_valid_on_operator_time, served_operator_policy
from tests.integration.service_process import ServiceProcess

MARKER = b"SECRET-MARKER-7f3a9c: the recipe is 41% cocoa, 7% chili"


def _check_valid(cert: AnyCertificate, policy: TrustPolicy, *, record_id: str) -> None:
    result = verify_certificate(cert, policy)
    assert result.record_id == record_id
    check_valid_on_operator_time(result, policy)


def _all_bytes_under(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def svc(tmp_path: Path):  # type: ignore[no-untyped-def]
    service = ServiceProcess(tmp_path / "data", env={"NOTARY_LOG_LEVEL": "DEBUG"})
    keys = {
        name: service.create_principal(name, role)
        for name, role in [
            ("holder", "holder"),
            ("arb_a", "arbitrator"),
            ("arb_b", "arbitrator"),
            ("platform", "platform"),
            ("admin", "admin"),
        ]
    }
    service.start()
    yield service, keys
    service.stop()


def test_secret_stays_secret_and_opens_only_for_the_named_arbitrator(svc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service, api_keys = svc
    secret = tmp_path / "recipe.txt"
    secret.write_bytes(b"header\n" + MARKER + b"\n" + b"x" * 3_000_000)
    plain = fingerprint_bytes(secret.read_bytes())
    holder_keys, a_keys, b_keys = (RecipientKeys.generate() for _ in range(3))
    policy = served_operator_policy(service)
    # Every client checks the certificates it fetches under the policy (NotaryClient(policy=)).
    clients = {n: NotaryClient(service.url, k, policy=policy) for n, k in api_keys.items()}
    try:
        clients["holder"].register_encryption_key(holder_keys)
        clients["arb_a"].register_encryption_key(a_keys)
        clients["arb_b"].register_encryption_key(b_keys)
        a_id = next(
            p["id"]
            for p in clients["holder"]._json("GET", "/v1/principals", params={"role": "arbitrator"})
            if p["name"] == "arb_a"
        )
        b_id = next(
            p["id"]
            for p in clients["holder"]._json("GET", "/v1/principals", params={"role": "arbitrator"})
            if p["name"] == "arb_b"
        )

        filing = clients["holder"].file_trade_secret(secret, holder_keys, label="cocoa recipe")
        fid = filing.id
        record = filing.receipt.record
        assert record["kind"] == "trade_secret" and len(record["commitment"]) == 64
        assert plain.sha256 not in str(record) and plain.sm3 not in str(record)
        clients["holder"].wait_anchored(fid, kind=RecordKind.trade_secret, timeout=60)
        cert = clients["holder"].certificate(fid, kind=RecordKind.trade_secret)
        _check_valid(cert, policy, record_id=fid)

        # Nobody else sees that the filing exists, the operator's admin included.
        for other in ("arb_a", "arb_b", "platform", "admin"):
            with pytest.raises(APIError) as info:
                clients[other].get(fid, kind=RecordKind.trade_secret)
            assert info.value.status == 404

        # The service cannot make the holder seal to a key document the arbitrator did not sign:
        # the pin is the signing key id arbitrator A gave out of band, and B's document fails it.
        assert a_keys.signing_key_id is not None and b_keys.signing_key_id is not None
        with pytest.raises(VerificationError) as refused:
            clients["holder"].disclose_trade_secret(
                fid, holder_keys, b_id, signing_key_id=a_keys.signing_key_id
            )
        assert refused.value.step == "recipient_key"
        assert clients["holder"]._json("GET", f"/v1/trade-secrets/{fid}/disclosures") == []

        disclosure = clients["holder"].disclose_trade_secret(
            fid, holder_keys, a_id, signing_key_id=a_keys.signing_key_id
        )
        assert disclosure.receipt.record["recipient"]["key_id"] == a_keys.key_id
        assert disclosure.receipt.record["recipient"]["signing_key_id"] == a_keys.signing_key_id
        assert disclosure.receipt.record["filing"]["id"] == fid
        clients["holder"].wait_anchored(disclosure.id, kind=RecordKind.disclosure, timeout=60)
        disclosed = clients["arb_a"].certificate(disclosure.id, kind=RecordKind.disclosure)
        _check_valid(disclosed, policy, record_id=disclosure.id)
        assert disclosed.log.leaf_index > cert.log.leaf_index  # type: ignore[union-attr]

        opened = clients["arb_a"].open_trade_secret(fid, a_keys, tmp_path / "opened.txt")
        assert (tmp_path / "opened.txt").read_bytes() == secret.read_bytes()
        assert opened.sha256 == plain.sha256

        # Arbitrator B got nothing: no key from the service, and A's wrapped key does not open for
        # B.
        with pytest.raises(APIError) as info:
            clients["arb_b"]._request("GET", f"/v1/trade-secrets/{fid}/key")
        assert info.value.status == 404
        a_wrapped = WrappedKey.from_bytes(
            clients["arb_a"]._request("GET", f"/v1/trade-secrets/{fid}/key").content
        )
        container = tmp_path / "container"
        clients["arb_a"].download_content(fid, container, kind=RecordKind.trade_secret)
        with pytest.raises(DecryptionError):
            open_secret(
                container,
                a_wrapped,
                b_keys,
                tmp_path / "b.txt",
                filing_id=fid,
                commitment=record["commitment"],
            )
        assert not (tmp_path / "b.txt").exists()

        # A flipped ciphertext byte is refused with a clear error, and nothing is written.
        data = bytearray(container.read_bytes())
        data[len(data) // 2] ^= 0x40
        container.write_bytes(bytes(data))
        with pytest.raises(DecryptionError, match="segment"):
            open_secret(
                container,
                a_wrapped,
                a_keys,
                tmp_path / "t.txt",
                filing_id=fid,
                commitment=record["commitment"],
            )
        assert not (tmp_path / "t.txt").exists()

        # Disclosure only to arbitrators and notaries.
        platform_id = clients["platform"]._json("GET", "/v1/principals/me")["id"]
        platform_keys = RecipientKeys.generate()
        clients["platform"].register_encryption_key(platform_keys)
        assert platform_keys.signing_key_id is not None
        with pytest.raises(APIError) as info:
            clients["holder"].disclose_trade_secret(
                fid, holder_keys, platform_id, signing_key_id=platform_keys.signing_key_id
            )
        assert info.value.status == 403
        assert b_id != a_id
    finally:
        for c in clients.values():
            c.close()
    service.stop()

    # Neither the database, the content store, the chain nor the log holds the secret or its digest.
    needles = [
        MARKER,
        plain.sha256.encode(),
        bytes.fromhex(plain.sha256),
        plain.sm3.encode(),
        bytes.fromhex(plain.sm3),
        hashlib.sha256(MARKER).hexdigest().encode(),
    ]
    files = [*_all_bytes_under(service.data_dir), (service.log_path, service.log_path.read_bytes())]
    assert any(p.name.endswith(".sqlite3") or p.name == "notary.db" for p, _ in files)
    for path, blob in files:
        for needle in needles:
            assert needle not in blob, f"{needle[:20]!r} found in {path}"
