"""Service settings: one typed class, read from ``NOTARY_*`` environment variables.

Nothing here runs at import time: the CLI and the app factory build a :class:`Settings` and pass it
down. :meth:`Settings.check_safety` refuses well-known development keys outside development mode.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notary.errors import ConfigurationError

__all__ = ["DEV_CHAIN_KEYS", "ChainBackend", "ContentBackend", "Environment", "Settings"]


class Environment(StrEnum):
    development = "development"
    production = "production"


class ChainBackend(StrEnum):
    embedded = "embedded"  # py-evm in process, state under the data directory
    rpc = "rpc"  # any Ethereum JSON-RPC node


class ContentBackend(StrEnum):
    embedded = "embedded"  # content-addressed files under the data directory
    kubo = "kubo"  # a Kubo daemon through its RPC API


# Private keys published by Hardhat/Anvil/geth docs: fine for a laptop, a gift to thieves elsewhere.
DEV_CHAIN_KEYS = frozenset(
    {
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",  # hardhat #0
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",  # hardhat #1
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",  # hardhat #2
        "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291",  # geth dev default
    }
)


class Settings(BaseSettings):
    """Everything the service can be told. Each field maps to ``NOTARY_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NOTARY_", extra="ignore", frozen=True)

    env: Environment = Environment.development
    data_dir: Path = Path("notary-data")

    # HTTP
    bind_host: str = "127.0.0.1"
    bind_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    # Threads that run blocking request work (database, hashing, chain calls). More threads than
    # a few per core only add contention for the GIL, which the anchoring worker then rarely gets:
    # 16 clients sending 1,000-digest requests, backlog anchored 2.8-4.3 s after the load stopped
    # with 8 threads, 8-9 s with anyio's default 40, at the same receipts/s (~2,900).
    api_threads: Annotated[int, Field(ge=1, le=200)] = 8

    # Chain
    chain_backend: ChainBackend = ChainBackend.embedded
    chain_rpc_url: str | None = None
    # Embedded: the chain's id (default 1337). RPC: if set, the node must serve this chain.
    chain_id: Annotated[int, Field(gt=0)] | None = None
    chain_private_key: SecretStr | None = None
    chain_confirmations: Annotated[int, Field(ge=1, le=1000)] = 1
    chain_timeout_seconds: Annotated[float, Field(gt=0)] = 120.0
    # Contract addresses; unset: deploy on first start and remember them in the data directory.
    registry_address: str | None = None
    pledge_registry_address: str | None = None

    # Content store
    content_backend: ContentBackend = ContentBackend.embedded
    kubo_api_url: str = "http://127.0.0.1:5001"

    # Database: SQLite in the data directory unless a URL is given
    database_url: str | None = None

    # Anchoring: a batch closes when it holds batch_max_items or is batch_interval_seconds old
    batch_max_items: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    batch_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 2.0
    run_anchoring_worker: bool = True

    # Issuer (Ed25519) key for receipts and certificates; generated in data_dir on first start
    issuer_key_file: Path | None = None

    # Limits (documented in docs/api.md)
    max_upload_bytes: Annotated[int, Field(gt=0)] = 8 * 1024**3
    max_digests_per_request: Annotated[int, Field(ge=1, le=100_000)] = 1_000

    log_level: str = "INFO"

    @field_validator("chain_private_key")
    @classmethod
    def _normalise_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        raw = value.get_secret_value().strip().lower().removeprefix("0x")
        if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
            raise ValueError("NOTARY_CHAIN_PRIVATE_KEY must be 32 bytes of hex (64 hex digits)")
        return SecretStr(raw)

    @model_validator(mode="after")
    def _backend_needs(self) -> Settings:
        if self.chain_backend is ChainBackend.rpc and not self.chain_rpc_url:
            raise ValueError("NOTARY_CHAIN_BACKEND=rpc needs NOTARY_CHAIN_RPC_URL")
        return self

    # Derived locations -------------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'notary.db').resolve()}"

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def content_dir(self) -> Path:
        return self.data_dir / "content"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def resolved_issuer_key_file(self) -> Path:
        return self.issuer_key_file or self.keys_dir / "issuer-ed25519.pem"

    def check_safety(self) -> None:
        """Refuse settings that are only safe on a developer's machine."""
        if self.env is Environment.development:
            return
        key = self.chain_private_key.get_secret_value() if self.chain_private_key else None
        if key in DEV_CHAIN_KEYS:
            raise ConfigurationError(
                "NOTARY_CHAIN_PRIVATE_KEY is a publicly known development key; "
                "generate a fresh key for NOTARY_ENV=production",
                code="development_key_in_production",
            )
        if self.chain_backend is ChainBackend.rpc and key is None:
            raise ConfigurationError(
                "NOTARY_CHAIN_BACKEND=rpc needs NOTARY_CHAIN_PRIVATE_KEY (the anchoring account)",
                code="missing_chain_key",
            )
