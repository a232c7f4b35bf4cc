"""A record not yet certified says what its certificate waits for (the record view's
``waiting_for``), and ``notary certificate --wait`` names that stage, not "not anchored": a
person waiting learns whether the batch, the chain, the witnesses or a TSA holds it up.

And the client's public ``certificate_pdf`` / ``credential``, which ``notary certificate
--pdf/--vc`` use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.cli import options
from ipnotary.sdk.note import CosignatureSigner
from ipnotary.sdk.vc import verify_credential
from tests.unit.notary.conftest import Api

# A witness nobody runs: its cosignatures never come.
SILENT_WITNESS = {
    "url": "http://127.0.0.1:9",
    "key": CosignatureSigner("silent.example/witness", Ed25519PrivateKey.generate()).vkey(),
}


def _submit(api: Api) -> tuple[str, dict[str, str]]:
    h = api.principal("holder", "holder")
    r = api.client.post("/v1/evidence", headers=h, files={"file": ("a.txt", b"waiting" * 9)})
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), h


def _stage_becomes(api: Api, rid: str, h: dict[str, str], stage: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        view: dict[str, Any] = api.client.get(f"/v1/evidence/{rid}", headers=h).json()
        if view.get("waiting_for") == stage or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def _cli(api: Api, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    from ipnotary.sdk.cli import app

    def client(url: str, key: str | None, policy: Any = None) -> NotaryClient:
        return NotaryClient(
            url, key, transport=api.client._transport, policy=api.runtime.trust_policy()
        )

    monkeypatch.setattr(options, "open_client", client)
    return CliRunner().invoke(
        app, [*args, "--url", "http://testserver", "--api-key", api.keys["holder"]]
    )


def test_a_record_waits_for_sealing_first(make_api: Callable[..., Api]) -> None:
    api = make_api(batch_interval_seconds=3600, batch_max_items=1000)
    rid, h = _submit(api)
    view = api.client.get(f"/v1/evidence/{rid}", headers=h).json()
    assert (view["status"], view["waiting_for"]) == ("pending", "sealing")


def test_a_chain_that_does_not_answer_holds_it_at_anchoring(make_api: Callable[..., Api]) -> None:
    api = make_api()
    api.chain.down = True
    rid, h = _submit(api)
    assert _stage_becomes(api, rid, h, "anchoring")["waiting_for"] == "anchoring"
    api.chain.down = False
    view = api.wait_anchored(f"/v1/evidence/{rid}", h)
    assert (view["status"], view["waiting_for"]) == ("anchored", None)


def test_certificate_wait_names_the_witness_quorum(
    make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api(witnesses=[SILENT_WITNESS], witness_quorum=1)
    rid, h = _submit(api)
    assert _stage_becomes(api, rid, h, "witnesses")["waiting_for"] == "witnesses"
    result = _cli(api, monkeypatch, "certificate", rid, "-o", "c.json", "--wait", "0.5")
    assert result.exit_code == 1, result.output
    assert "waits for the witness quorum to cosign its checkpoint" in result.output
    assert "not anchored" not in result.output


def test_certificate_pdf_and_credential_are_public_and_checked(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rid, h = _submit(api)
    api.wait_anchored(f"/v1/evidence/{rid}", h)
    with NotaryClient(
        "http://testserver",
        api.keys["holder"],
        transport=api.client._transport,
        policy=api.runtime.trust_policy(),
    ) as client:
        credential = client.credential(rid)
        assert b"VerifiableCredential" in credential
        pdf = client.certificate_pdf(rid)
        assert pdf.data.startswith(b"%PDF-") and pdf.shared_link and rid in pdf.shared_link
    saved = tmp_path / "c.vc.json"
    result = _cli(api, monkeypatch, "certificate", rid, "--vc", "-o", str(saved))
    assert result.exit_code == 0, result.output
    verify_credential(saved.read_bytes(), api.runtime.trust_policy())
