"""Settings: one typed class from NOTARY_* variables, refusing unsafe keys outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ipnotary.service.config import ChainBackend, Settings
from ipnotary.service.errors import ConfigurationError

HARDHAT_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def test_defaults_are_embedded_and_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(__import__("os").environ):
        if k.startswith("NOTARY_"):
            monkeypatch.delenv(k)
    s = Settings()
    assert s.bind_host == "127.0.0.1"
    assert s.chain_backend is ChainBackend.embedded and s.content_backend.value == "embedded"
    assert s.resolved_database_url.startswith("sqlite:///")
    s.check_safety()


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTARY_BATCH_MAX_ITEMS", "123")
    monkeypatch.setenv("NOTARY_CHAIN_BACKEND", "rpc")
    monkeypatch.setenv("NOTARY_CHAIN_RPC_URL", "http://127.0.0.1:8545")
    s = Settings()
    assert s.batch_max_items == 123 and s.chain_backend is ChainBackend.rpc


def test_development_key_is_refused_in_production() -> None:
    dev = Settings(chain_private_key=HARDHAT_0)
    dev.check_safety()  # fine on a laptop
    prod = Settings(
        env="production", chain_backend="rpc", chain_rpc_url="http://x", chain_private_key=HARDHAT_0
    )
    with pytest.raises(ConfigurationError, match="publicly known development key"):
        prod.check_safety()


# Hardhat's accounts #3 and #19 and geth --dev's key, as their docs print them: none of them is
# in the source as a list; the check derives them from the published mnemonic.
PUBLISHED_DEV_KEYS = [
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",  # hardhat #3
    "0xdf57089febbacf7ba0bc227dafbffa9fc08a93fdc68e1e42411a14efcf23656e",  # hardhat #19
    "0xb71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291",  # geth --dev
]


@pytest.mark.parametrize("key", PUBLISHED_DEV_KEYS)
def test_every_published_development_key_is_refused_in_production(key: str) -> None:
    prod = Settings(
        env="production", chain_backend="rpc", chain_rpc_url="http://x", chain_private_key=key
    )
    with pytest.raises(ConfigurationError, match="publicly known development key"):
        prod.check_safety()


def test_a_fresh_key_is_accepted_in_production(tmp_path: Path) -> None:
    import os

    key_file = tmp_path / "key.pem"
    key_file.write_text("a key")
    Settings(
        env="production",
        chain_backend="rpc",
        chain_rpc_url="http://x",
        chain_private_key=os.urandom(32).hex(),
        chain_id=1,
        issuer_key_file=key_file,
        log_key_file=key_file,
        registry_address="0x" + "11" * 20,
        pledge_registry_address="0x" + "22" * 20,
    ).check_safety()


def test_rpc_needs_url_and_production_rpc_needs_a_key() -> None:
    with pytest.raises(ValidationError, match="NOTARY_CHAIN_RPC_URL"):
        Settings(chain_backend="rpc")
    with pytest.raises(ConfigurationError, match="NOTARY_CHAIN_PRIVATE_KEY"):
        Settings(env="production", chain_backend="rpc", chain_rpc_url="http://x").check_safety()


def test_malformed_key_and_limits_are_refused() -> None:
    with pytest.raises(ValidationError, match="64 hex digits"):
        Settings(chain_private_key="0x1234")
    with pytest.raises(ValidationError):
        Settings(batch_max_items=0)
    with pytest.raises(ValidationError):
        Settings(bind_port=70000)
