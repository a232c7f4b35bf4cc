"""Rotating the issuer key: the retired key is published with the end of its window, the
certificates it signed keep verifying, and anything it signs after its window does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.verify import Step, verify_certificate
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from ipnotary.service.api.app import create_app
from ipnotary.service.config import Settings
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.principals import create_principal
from tests.unit.notary.fakes import FakeChain


def _certificate(
    data_dir: Path, chain: FakeChain, **settings: object
) -> tuple[dict[str, Any], Runtime]:
    from fastapi.testclient import TestClient

    runtime = Runtime.build(
        Settings(data_dir=data_dir, batch_interval_seconds=0.2, **settings),  # type: ignore[arg-type]
        chain=chain,
    )
    runtime.start()
    with TestClient(create_app(runtime=runtime)) as client, Session(runtime.engine) as session:
        key = create_principal(session, name="Holder", role="holder").api_key
        h = {"Authorization": f"Bearer {key}"}
        rid = client.post("/v1/evidence", json={"sha256": "5a" * 32, "size": 1}, headers=h).json()[
            "id"
        ]
        for _ in range(200):
            if client.get(f"/v1/evidence/{rid}", headers=h).json()["status"] == "anchored":
                break
            import time

            time.sleep(0.05)
        cert = client.get(f"/v1/evidence/{rid}/certificate", headers=h).json()
    return cert, runtime


def test_a_retired_issuer_key_is_published_with_its_window(tmp_path: Path) -> None:
    data, chain = tmp_path / "svc", FakeChain()  # one chain, before and after the restart
    old_cert, before = _certificate(data, chain)
    old_key = before.issuer.public_key_b64
    before.close()

    retired_at = datetime.now(UTC)
    new_key_file = tmp_path / "issuer-2026.pem"
    # Made by the operator first: a service never makes a key beside an existing deployment's.
    load_or_create_ed25519_key(new_key_file, purpose="issuer")
    cert, after = _certificate(
        data,
        chain,
        issuer_key_file=new_key_file,
        issuer_retired_keys=[{"public_key": old_key, "not_after": format_timestamp(retired_at)}],
    )
    try:
        policy = after.trust_policy()
        assert [k.public_key for k in policy.issuers] == [after.issuer.public_key_b64, old_key]
        assert policy.issuers[1].not_after == format_timestamp(retired_at)
        # new certificates: new key
        assert cert["issuer"]["public_key"] == after.issuer.public_key_b64
        assert verify_certificate(cert, policy).trusted
        assert verify_certificate(old_cert, policy).trusted  # signed within the old key's window

        # Whoever still holds the old key cannot sign anything dated after its window.
        thief = Issuer(
            load_or_create_ed25519_key(data / "keys" / "issuer-ed25519.pem", purpose="issuer")
        )
        late = {k: v for k, v in cert.items() if k not in ("signature", "issuer")}
        late["issued_at"] = format_timestamp(retired_at + timedelta(minutes=1))
        late["issuer"] = {
            "key_id": thief.key_id,
            "public_key": thief.public_key_b64,
            "name": thief.name,
        }
        with pytest.raises(VerificationError) as info:
            verify_certificate(thief.sign(late), policy)
        assert info.value.step == Step.ISSUER
    finally:
        after.close()
