"""Trade-secret filing refusals: the service checks that the pieces fit together."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ipnotary.sdk import NotaryClient
from ipnotary.sdk import trade_secret as ts
from tests.unit.notary.conftest import Api


@pytest.fixture(scope="module")
def holder(
    api: Api, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], ts.RecipientKeys, Path]:
    h = api.principal("ts-holder", "holder")
    keys = ts.RecipientKeys.generate()
    r = api.client.put("/v1/principals/me/encryption-key", json=keys.public_document(), headers=h)
    assert r.status_code == 200 and r.json()["key_id"] == keys.key_id
    return h, keys, tmp_path_factory.mktemp("ts")


def pin(keys: ts.RecipientKeys) -> str:
    assert keys.signing_key_id is not None
    return keys.signing_key_id


def seal(
    keys: ts.RecipientKeys, tmp: Path, filing_id: str | None = None
) -> tuple[str, ts.SealedSecret]:
    fid = filing_id or ts.new_filing_id()
    src = tmp / f"{fid}.txt"
    src.write_bytes(b"secret " + fid.encode())
    return fid, ts.seal_secret(src, tmp / f"{fid}.ipnts", holder=keys.public_key(), filing_id=fid)


def post(api: Api, h, sealed: ts.SealedSecret, **filing):  # type: ignore[no-untyped-def]
    body = {
        "id": sealed.filing_id,
        "commitment": sealed.commitment,
        "holder_wrapped_key": sealed.holder_wrapped_key.to_json(),
        **filing,
    }
    return api.client.post(
        "/v1/trade-secrets",
        headers=h,
        data={"filing": json.dumps(body)},
        files={"file": ("c", sealed.ciphertext_path.read_bytes())},
    )


def test_a_filing_is_accepted_and_idempotent(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    h, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    first = post(api, h, sealed, label="formula")
    assert first.status_code == 201, first.text
    again = post(api, h, sealed, label="formula")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_container_sealed_for_another_filing_is_refused(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    h, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    other = ts.new_filing_id()
    body = {
        "id": other,
        "commitment": sealed.commitment,
        "holder_wrapped_key": sealed.holder_wrapped_key.to_json(),
    }
    r = api.client.post(
        "/v1/trade-secrets",
        headers=h,
        data={"filing": json.dumps(body)},
        files={"file": ("c", sealed.ciphertext_path.read_bytes())},
    )
    assert r.status_code == 422 and "wrapped key is for filing" in r.json()["detail"]


def test_plain_file_instead_of_container_is_refused(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    h, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    body = {
        "id": sealed.filing_id,
        "commitment": sealed.commitment,
        "holder_wrapped_key": sealed.holder_wrapped_key.to_json(),
    }
    r = api.client.post(
        "/v1/trade-secrets",
        headers=h,
        data={"filing": json.dumps(body)},
        files={"file": ("c", b"plaintext by mistake")},
    )
    assert r.status_code == 422 and "not a trade-secret container" in r.json()["detail"]


def test_key_wrapped_to_someone_else_is_refused(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    h, _, tmp = holder
    stranger = ts.RecipientKeys.generate()
    fid = ts.new_filing_id()
    (tmp / "s.txt").write_bytes(b"x")
    sealed = ts.seal_secret(
        tmp / "s.txt", tmp / "s.ipnts", holder=stranger.public_key(), filing_id=fid
    )
    r = post(api, h, sealed)
    assert r.status_code == 422 and "registered key" in r.json()["detail"]


def test_holder_without_a_key_and_non_holders(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    _, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    assert (
        post(api, api.principal("keyless", "holder"), sealed).json()["code"] == "no_encryption_key"
    )
    assert post(api, api.principal("nota", "notary"), sealed).status_code == 403
    bad_doc = api.client.put(
        "/v1/principals/me/encryption-key",
        json={"media_type": "x"},
        headers=api.principal("keyless", "holder"),
    )
    assert bad_doc.status_code == 422


def test_disclosure_refusals(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    h, keys, tmp = holder
    fid, sealed = seal(keys, tmp)
    assert post(api, h, sealed).status_code == 201
    arb_h = api.principal("ts-arb", "arbitrator")
    arb_keys = ts.RecipientKeys.generate()
    api.client.put(
        "/v1/principals/me/encryption-key", json=arb_keys.public_document(), headers=arb_h
    )
    arb_id = api.ids["ts-arb"]
    good = ts.disclose(
        sealed.holder_wrapped_key,
        keys,
        arb_keys.public_document(),
        filing_id=fid,
        signing_key_id=pin(arb_keys),
    )
    # Sealed to the wrong key: the holder's own instead of the arbitrator's.
    wrong = ts.disclose(
        sealed.holder_wrapped_key,
        keys,
        keys.public_document(),
        filing_id=fid,
        signing_key_id=pin(keys),
    )
    r = api.client.post(
        f"/v1/trade-secrets/{fid}/disclosures",
        headers=h,
        json={"recipient_id": arb_id, "wrapped_key": wrong.to_json()},
    )
    assert r.status_code == 422
    # Someone else's filing.
    r = api.client.post(
        f"/v1/trade-secrets/{fid}/disclosures",
        headers=api.principal("other-h", "holder"),
        json={"recipient_id": arb_id, "wrapped_key": good.to_json()},
    )
    assert r.status_code == 404
    ok = api.client.post(
        f"/v1/trade-secrets/{fid}/disclosures",
        headers=h,
        json={"recipient_id": arb_id, "wrapped_key": good.to_json()},
    )
    assert ok.status_code == 201
    listed = api.client.get(f"/v1/trade-secrets/{fid}/disclosures", headers=arb_h).json()
    assert [d["id"] for d in listed] == [ok.json()["id"]]
    again = api.client.post(
        f"/v1/trade-secrets/{fid}/disclosures",
        headers=h,
        json={"recipient_id": arb_id, "wrapped_key": good.to_json()},
    )
    assert again.status_code == 200 and again.json()["id"] == ok.json()["id"]
    # The anchored record names the key that signed the document the holder sealed to.
    recipient = ok.json()["receipt"]["record"]["recipient"]
    assert recipient["key_id"] == arb_keys.key_id
    assert recipient["signing_key_id"] == arb_keys.signing_key_id


def test_only_signed_key_documents_are_registered(api: Api) -> None:
    h = api.principal("ts-signer", "holder")
    keys = ts.RecipientKeys.generate()
    unsigned = api.client.put(
        "/v1/principals/me/encryption-key", json=keys.encryption_document(), headers=h
    )
    assert unsigned.status_code == 422 and "unsigned" in unsigned.json()["detail"]
    doc = keys.public_document()
    other = ts.RecipientKeys.generate().encryption_document()
    forged = api.client.put(
        "/v1/principals/me/encryption-key", json={**doc, "encryption_key": other}, headers=h
    )
    assert forged.status_code == 422 and "signature does not verify" in forged.json()["detail"]
    ok = api.client.put("/v1/principals/me/encryption-key", json=doc, headers=h)
    assert ok.status_code == 200 and ok.json()["key_id"] == keys.key_id


def test_a_classic_wrap_to_a_post_quantum_recipient_is_refused(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path]
) -> None:
    """Only a client other than the SDK would downgrade; the service does not record it."""
    h, keys, tmp = holder
    fid, sealed = seal(keys, tmp)
    assert post(api, h, sealed).status_code == 201
    arb_h = api.principal("ts-arb-pq", "arbitrator")
    arb_keys = ts.RecipientKeys.generate()
    api.client.put(
        "/v1/principals/me/encryption-key", json=arb_keys.public_document(), headers=arb_h
    )
    material = ts.unwrap_data_key(sealed.holder_wrapped_key, keys, filing_id=fid)
    downgraded = ts.wrap_data_key(
        material, replace(arb_keys.public_key(), hybrid=None), filing_id=fid, allow_classic=True
    )
    r = api.client.post(
        f"/v1/trade-secrets/{fid}/disclosures",
        headers=h,
        json={"recipient_id": api.ids["ts-arb-pq"], "wrapped_key": downgraded.to_json()},
    )
    assert r.status_code == 422 and "classic suite" in r.json()["detail"]


class _Counting(httpx.BaseTransport):
    """The test app's transport, counting requests by path suffix."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)


def test_cli_disclose_needs_the_recipients_signing_key_id(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`notary secret disclose` fetches the key document once and seals only to the document the
    pinned key signed."""
    from ipnotary.sdk import cli
    from ipnotary.sdk.cli import options

    h, keys, tmp = holder
    key_file = tmp / "holder.keys"
    if not key_file.exists():
        keys.save(key_file)
    transport = _Counting(api.client._transport)

    def client(url: str, api_key: str | None, policy: Any = None) -> NotaryClient:
        return NotaryClient("http://testserver", api_key, transport=transport, policy=policy)

    monkeypatch.setattr(options, "open_client", client)
    holder_key = h["Authorization"].removeprefix("Bearer ")
    with client("", holder_key) as c:
        fid = c.file_trade_secret(tmp / "holder.keys", keys).id  # any file will do as a secret
    arb_h = api.principal("ts-arb-cli", "notary")
    arb_keys = ts.RecipientKeys.generate()
    api.client.put(
        "/v1/principals/me/encryption-key", json=arb_keys.public_document(), headers=arb_h
    )
    base = [
        "secret",
        "disclose",
        fid,
        "--to",
        api.ids["ts-arb-cli"],
        "--keys",
        str(key_file),
        "--api-key",
        holder_key,
    ]
    runner = CliRunner()

    missing = runner.invoke(cli.app, base)
    assert missing.exit_code == 2 and "--signing-key-id" in missing.output
    transport.paths.clear()
    wrong = runner.invoke(cli.app, [*base, "--signing-key-id", pin(keys)])
    assert wrong.exit_code == 1 and "not by" in wrong.output
    assert not any(p.endswith("/disclosures") for p in transport.paths)
    transport.paths.clear()
    right = runner.invoke(cli.app, [*base, "--signing-key-id", pin(arb_keys)])
    assert right.exit_code == 0, right.output
    assert json.loads(right.stdout)["key_id"] == arb_keys.key_id
    assert sum(p.endswith("/encryption-key") for p in transport.paths) == 1


def test_cli_keys_generate_prints_the_signing_key_id_and_upgrade_keeps_the_key_id(
    tmp_path: Path,
) -> None:
    from ipnotary.sdk import cli

    runner = CliRunner()
    made = runner.invoke(cli.app, ["keys", "generate", "-o", str(tmp_path / "me.keys")])
    assert made.exit_code == 0, made.output
    keys = ts.RecipientKeys.load(tmp_path / "me.keys")
    assert f"signing key id:       {keys.signing_key_id}" in made.stderr
    assert ts.verify_recipient_document(json.loads(made.stdout), signing_key_id=pin(keys))
    shown = runner.invoke(cli.app, ["keys", "show", "--keys", str(tmp_path / "me.keys")])
    assert json.loads(shown.stdout)["signing_key_id"] == keys.signing_key_id

    # A key file from before signed documents: upgrade adds a signing key, keeps the key id.
    old = ts.RecipientKeys(
        x25519=keys.x25519, mlkem768=keys.mlkem768, hybrid_x25519=keys.hybrid_x25519
    )
    old.save(tmp_path / "old.keys")
    up = runner.invoke(
        cli.app,
        ["keys", "upgrade", "--keys", str(tmp_path / "old.keys"), "-o", str(tmp_path / "new.keys")],
    )
    assert up.exit_code == 0, up.output
    new = ts.RecipientKeys.load(tmp_path / "new.keys")
    assert new.key_id == old.key_id and new.signing_key_id is not None
    again = runner.invoke(
        cli.app,
        [
            "keys",
            "upgrade",
            "--keys",
            str(tmp_path / "new.keys"),
            "-o",
            str(tmp_path / "newer.keys"),
        ],
    )
    assert again.exit_code == 2 and "already have a signing key" in again.output
