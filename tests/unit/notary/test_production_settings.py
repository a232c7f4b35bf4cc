"""Production refuses to invent what the processes of a deployment share: every missing setting
is named at once, a misspelled key file is not created in its place, and a node needs both
registry addresses (the deployment's identity checked at start, on a chain:
``tests/integration/service/test_deployment.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ipnotary.service.config import Settings
from ipnotary.service.errors import ConfigurationError


def test_production_refuses_to_invent_what_processes_share(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings(env="production", data_dir=tmp_path).check_safety()
    message = info.value.detail
    for setting in ("NOTARY_ISSUER_KEY_FILE", "NOTARY_LOG_KEY_FILE", "NOTARY_CHAIN_ID"):
        assert f"set {setting}" in message  # every missing setting at once, not one per attempt
    misspelled = tmp_path / "isuer.pem"
    with pytest.raises(ConfigurationError, match=r"isuer\.pem does not exist"):
        Settings(
            env="production",
            data_dir=tmp_path,
            chain_id=1337,
            issuer_key_file=misspelled,
            log_key_file=misspelled,
        ).check_safety()
    assert not misspelled.exists()  # and nothing was created in its place
    node = Settings(
        env="production",
        data_dir=tmp_path,
        chain_backend="rpc",
        chain_rpc_url="http://127.0.0.1:9",
        chain_private_key=os.urandom(32).hex(),
    )
    with pytest.raises(
        ConfigurationError,
        match=r"set NOTARY_REGISTRY_ADDRESS .*set NOTARY_PLEDGE_REGISTRY_ADDRESS",
    ):
        node.check_safety()


def test_an_ml_dsa_witness_fits_the_witness_setting() -> None:
    """NOTARY_WITNESSES held keys of at most 500 characters: an ML-DSA-44 witness's vkey (about
    1,760) was refused, though the submitter and the verifiers take it."""
    from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey

    from ipnotary.sdk.note import MlDsaCosignatureSigner
    from ipnotary.service.config import WitnessSetting

    vkey = MlDsaCosignatureSigner("court.example/witness", MLDSA44PrivateKey.generate()).vkey()
    assert len(vkey) > 1700
    assert WitnessSetting(url="https://w.example/", key=vkey).key == vkey
