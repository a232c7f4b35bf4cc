"""Service settings: one typed class, read from ``NOTARY_*`` environment variables.

Nothing here runs at import time: the CLI and the app factory build a :class:`Settings` and pass it
down. :meth:`Settings.check_safety` refuses well-known development keys outside development mode.

:func:`load_settings` also looks at every ``NOTARY_*`` variable that is *not* a setting: a
mistyped name (``NOTARY_WITNESS`` for ``NOTARY_WITNESSES``) would otherwise be silently ignored,
and a production leader once certified checkpoints with no witness at all that way. Production
refuses to start on one; development warns. The variables that other programs of the project
read (the SDK's commands, the witness, the test suite) are listed once, in
:data:`OTHER_PROGRAMS_VARIABLES`, with the reason.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ipnotary.sdk.redaction import Redactor
from ipnotary.service.errors import ConfigurationError

__all__ = [
    "OTHER_PROGRAMS_VARIABLES",
    "ChainBackend",
    "ContentBackend",
    "Environment",
    "RetiredIssuerKey",
    "Settings",
    "UnknownVariable",
    "WitnessSetting",
    "development_chain_keys",
    "load_settings",
    "report_unknown_variables",
    "unknown_variables",
]

log = logging.getLogger(__name__)


class Environment(StrEnum):
    development = "development"
    production = "production"


class ChainBackend(StrEnum):
    embedded = "embedded"  # py-evm in process, state under the data directory
    rpc = "rpc"  # any Ethereum JSON-RPC node


class ContentBackend(StrEnum):
    embedded = "embedded"  # content-addressed files under the data directory
    kubo = "kubo"  # a Kubo daemon through its RPC API


class LogFormat(StrEnum):
    json = "json"  # one JSON object a line, for a log pipeline (the production default)
    text = "text"  # one readable line an event, for a terminal (the development default)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# What NOTARY_DATABASE_URL may start with: SQLite, or PostgreSQL under either name psql accepts
# (and SQLAlchemy's explicit driver forms); storage.db maps them all to psycopg 3.
DATABASE_SCHEMES = frozenset(
    {"sqlite", "postgres", "postgresql", "postgresql+psycopg", "postgres+psycopg"}
)


# The mnemonic Hardhat and Anvil derive their accounts from, and geth --dev's fixed key: published
# in their docs, so a gift to thieves anywhere but a developer's machine.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS = 20  # Hardhat's default count (Anvil's 10 are the first of them)
GETH_DEV_KEY = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"


@functools.lru_cache(maxsize=1)
def development_chain_keys() -> frozenset[str]:
    """Every key derived from the development mnemonic (m/44'/60'/0'/0/i), and geth's dev key:
    derived rather than listed, so that no account of the well-known set is forgotten."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()  # BIP-39/32 derivation, used here read-only
    derived = {
        bytes(Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key).hex()
        for i in range(DEV_ACCOUNTS)
    }
    return frozenset(derived | {GETH_DEV_KEY})


class WitnessSetting(BaseModel):
    """One witness the log sends its checkpoints to: its tlog-witness submission prefix and its
    cosignature verifier key (``name+keyid+base64``, type 0x04 Ed25519 or 0x06 ML-DSA-44), both
    given by the witness's operator. The key is the witness's own: the operator never holds its
    private half."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, Field(min_length=8, max_length=500, pattern=r"^https?://")]
    # An ML-DSA-44 vkey is about 1,760 characters (a 1,312-byte key in base64) plus its name.
    key: Annotated[str, Field(min_length=10, max_length=2500)]


# An RFC 3339 UTC time as the policy writes it, in ASCII digits (``\d`` is any script's).
_UTC_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"


class RetiredIssuerKey(BaseModel):
    """An issuer key this deployment signed with before ``NOTARY_ISSUER_KEY_FILE``'s: its public
    half and the end of its validity window, published in the trust policy so that certificates
    it signed keep verifying and nothing it signs later does (rotation, or a compromise)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    public_key: Annotated[str, Field(min_length=40, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")]
    not_after: Annotated[str, Field(pattern=_UTC_TIME)]
    not_before: Annotated[str, Field(pattern=_UTC_TIME)] | None = None
    name: Annotated[str, Field(max_length=200)] = ""


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
    # Where people reach this service (behind its proxy): the links printed on PDF certificates
    # and shared with people who hold no API key start here. Default: the bind address.
    public_url: Annotated[str, Field(max_length=300, pattern=r"^https?://[^\s?#]+$")] | None = None

    # Chain
    chain_backend: ChainBackend = ChainBackend.embedded
    chain_rpc_url: str | None = None
    # Embedded: the chain's id (default 1337). RPC: if set, the node must serve this chain.
    chain_id: Annotated[int, Field(gt=0)] | None = None
    chain_private_key: SecretStr | None = None
    chain_confirmations: Annotated[int, Field(ge=1, le=1000)] = 1
    chain_timeout_seconds: Annotated[float, Field(gt=0)] = 120.0
    # Production: how long a starting process waits for a chain node that does not answer yet
    # before it gives up (it must check the chain is the deployment's before serving).
    startup_timeout_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
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

    # Issuer keys signed with before the current one, as JSON:
    # [{"public_key": "<base64url>", "not_after": "2026-12-01T00:00:00Z"}] (see docs/trust.md).
    issuer_retired_keys: list[RetiredIssuerKey] = Field(default_factory=list, max_length=32)

    # Key files at rest (issuer, log, the embedded chain's signer): encrypted under this
    # passphrase, given directly or as a file (e.g. a mounted secret). Unset: plaintext, mode 0600.
    key_passphrase: SecretStr | None = None
    key_passphrase_file: Path | None = None

    # The log: its origin (a schema-less URL naming this deployment, fixed for the log's life;
    # default derived from the log key) and its checkpoint-signing Ed25519 key (generated in
    # data_dir on first start).
    log_origin: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s+]+$")] | None = (
        None
    )
    log_key_file: Path | None = None

    # Witnesses (C2SP tlog-witness), as JSON: [{"url": "https://w.example/", "key": "<vkey>"}].
    # A certificate waits until witness_quorum of them cosigned its checkpoint (default: all).
    witnesses: list[WitnessSetting] = Field(default_factory=list, max_length=32)
    witness_quorum: Annotated[int, Field(ge=0, le=32)] | None = None
    witness_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    # RFC 3161 time-stamp authorities: URLs, comma-separated or JSON. A certificate waits until
    # tsa_quorum of them stamped its checkpoint (default: all). tsa_ca_file: PEM roots the
    # tokens must chain to (checked on receipt and published in the trust policy).
    tsa_urls: Annotated[list[str], NoDecode] = Field(default_factory=list, max_length=8)
    tsa_quorum: Annotated[int, Field(ge=0, le=8)] | None = None
    tsa_ca_file: Path | None = None
    tsa_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    # Whether the served trust policy suggests the RPC chain as a source of time (a public chain
    # no single party controls). Never for the embedded chain: it is the operator's own.
    chain_trusted_for_time: bool = False

    # Limits (documented in docs/api.md)
    max_upload_bytes: Annotated[int, Field(gt=0)] = 8 * 1024**3
    max_digests_per_request: Annotated[int, Field(ge=1, le=100_000)] = 1_000
    # Every request body except the file uploads (max_upload_bytes, on their routes): refused with
    # 413 from its Content-Length before a byte is read, or as soon as a chunked body passes it.
    max_request_bytes: Annotated[int, Field(ge=64 * 1024, le=1024**3)] = 1024**2
    # Per client (API key, else address) on the public endpoints, in this process: a token bucket
    # refilled at rate_limit_per_minute and holding rate_limit_burst; 0 turns the limit off.
    rate_limit_per_minute: Annotated[int, Field(ge=0, le=1_000_000)] = 1200
    rate_limit_burst: Annotated[int, Field(ge=1, le=100_000)] = 120

    # The people's web app (docs/web.md): a session ends after web_session_idle_minutes without
    # a request and web_session_hours after sign-in; web_sign_in_failures wrong passwords in a row
    # lock an account for web_lockout_minutes; an invitation link lasts web_invitation_hours.
    web_session_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    web_session_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 12
    web_sign_in_failures: Annotated[int, Field(ge=1, le=100)] = 5
    web_lockout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    web_invitation_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 72

    # Logs (notary.observability.logs): the level of every logger of the process, ours and
    # uvicorn's; the format defaults to json in production and text in development.
    log_level: str = "INFO"
    log_format: LogFormat | None = None
    # Who may read GET /metrics besides an admin's API key: addresses or networks (comma-separated
    # or JSON), e.g. the Prometheus servers. Empty: admins only (docs/deployment.md, *Metrics*).
    metrics_allow_from: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list, max_length=64
    )

    # Web-page capture (docs/capture.md). Networks a capture may reach besides the public
    # internet (private, loopback, link-local and other special ranges are refused otherwise),
    # comma-separated or JSON, e.g. 127.0.0.1/32 for a test server on loopback.
    capture_allow: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list, max_length=64
    )
    # DNS servers a capture resolves at (ip or ip:port); empty: /etc/resolv.conf's.
    capture_dns_servers: Annotated[list[str], NoDecode] = Field(default_factory=list, max_length=8)
    capture_chromium: Path = Path("/usr/bin/chromium")
    capture_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    # Bytes all servers may send one capture (the proxy cuts every connection past it).
    capture_max_bytes: Annotated[int, Field(ge=1024**2, le=8 * 1024**3)] = 100 * 1024**2
    # How long a capture waits for the one running before it (one at a time per process).
    capture_queue_seconds: Annotated[float, Field(ge=0, le=600)] = 30.0
    # PEM roots a captured chain may verify to besides the system's (a private CA's sites).
    capture_ca_file: Path | None = None
    # Without a TSA, the clean-environment check compares the clock with this URL's Date header.
    capture_clock_reference: Annotated[str, Field(max_length=500, pattern=r"^https?://")] | None = (
        None
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        if isinstance(value, str):
            level = value.strip().upper()
            if level not in LOG_LEVELS:
                raise ValueError(f"NOTARY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
            return level
        return value

    @property
    def resolved_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.json if self.env is Environment.production else LogFormat.text

    @field_validator("chain_private_key")
    @classmethod
    def _normalise_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        raw = value.get_secret_value().strip().lower().removeprefix("0x")
        if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
            raise ValueError("NOTARY_CHAIN_PRIVATE_KEY must be 32 bytes of hex (64 hex digits)")
        return SecretStr(raw)

    @field_validator("tsa_urls", "metrics_allow_from", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """A list setting written comma-separated, or as JSON."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [u.strip() for u in text.split(",") if u.strip()]
        return value

    @field_validator("capture_allow", "capture_dns_servers", mode="before")
    @classmethod
    def _split_capture_list(cls, value: object) -> object:
        """Capture lists, comma-separated or JSON, as the other list settings."""
        return cls._split_list(value)

    @field_validator("tsa_urls")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")) or len(url) > 500:
                raise ValueError(f"NOTARY_TSA_URLS: {url[:80]!r} is not an http(s) URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        """``postgres://`` and ``postgresql://`` as psql takes them (used through psycopg 3), or
        SQLite; anything else is refused here, in one line, rather than as a driver's error."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"NOTARY_DATABASE_URL must start with postgresql:// (or postgres://), or be "
                f"sqlite:///PATH; {scheme + '://' if scheme else 'a URL without a scheme'} is not "
                "supported"
            )
        return value

    @model_validator(mode="after")
    def _backend_needs(self) -> Settings:
        if self.chain_backend is ChainBackend.rpc and not self.chain_rpc_url:
            raise ValueError("NOTARY_CHAIN_BACKEND=rpc needs NOTARY_CHAIN_RPC_URL")
        if self.chain_backend is ChainBackend.embedded and self.chain_rpc_url:
            # Otherwise the node is silently ignored and the process anchors on a chain of its own
            # (it happened: a production start checked the embedded chain, not the node).
            raise ValueError(
                "NOTARY_CHAIN_RPC_URL is set but NOTARY_CHAIN_BACKEND is embedded: "
                "set NOTARY_CHAIN_BACKEND=rpc to use that node, or unset the URL"
            )
        if self.witness_quorum is not None and self.witness_quorum > len(self.witnesses):
            raise ValueError(
                f"NOTARY_WITNESS_QUORUM is {self.witness_quorum} but only "
                f"{len(self.witnesses)} witness(es) are configured"
            )
        if self.tsa_quorum is not None and self.tsa_quorum > len(self.tsa_urls):
            raise ValueError(
                f"NOTARY_TSA_QUORUM is {self.tsa_quorum} but only "
                f"{len(self.tsa_urls)} TSA URL(s) are configured"
            )
        if self.chain_trusted_for_time and self.chain_backend is ChainBackend.embedded:
            raise ValueError(
                "NOTARY_CHAIN_TRUSTED_FOR_TIME cannot be set for the embedded chain: "
                "it is the operator's own and proves nothing against the operator"
            )
        return self

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        return f"http://{host}:{self.bind_port}"

    @property
    def required_cosignatures(self) -> int:
        return len(self.witnesses) if self.witness_quorum is None else self.witness_quorum

    @property
    def required_timestamps(self) -> int:
        return len(self.tsa_urls) if self.tsa_quorum is None else self.tsa_quorum

    # Derived locations -------------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        """The database URL as SQLAlchemy takes it: PostgreSQL through psycopg 3 whichever of
        psql's spellings was given, SQLite in the data directory by default."""
        if self.database_url:
            scheme, _, rest = self.database_url.partition("://")
            if scheme.lower().startswith("postgres"):
                return f"postgresql+psycopg://{rest}"
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

    def redactor(self) -> Redactor:
        """Cleans text of the secrets of every URL these settings name (chain node, Kubo,
        database, witnesses, TSAs) and of the chain key: what readiness, problems and logs may
        show."""
        key = self.chain_private_key.get_secret_value() if self.chain_private_key else None
        urls = [
            self.chain_rpc_url,
            self.kubo_api_url,
            self.database_url,
            *(w.url for w in self.witnesses),
            *self.tsa_urls,
        ]
        known = Redactor.for_urls(urls).secrets
        return Redactor([*known, key] if key else known)

    @property
    def resolved_key_passphrase(self) -> bytes | None:
        """The passphrase for key files at rest, from the setting or its file (trailing newline
        dropped), or None."""
        if self.key_passphrase is not None and self.key_passphrase_file is not None:
            raise ConfigurationError(
                "give NOTARY_KEY_PASSPHRASE or NOTARY_KEY_PASSPHRASE_FILE, not both"
            )
        if self.key_passphrase is not None:
            value = self.key_passphrase.get_secret_value().encode("utf-8")
        elif self.key_passphrase_file is not None:
            try:
                value = self.key_passphrase_file.read_bytes().rstrip(b"\r\n")
            except OSError as exc:
                raise ConfigurationError(f"NOTARY_KEY_PASSPHRASE_FILE: {exc}") from exc
        else:
            return None
        if len(value) < 12:
            raise ConfigurationError("the key passphrase is shorter than 12 bytes")
        return value

    @property
    def resolved_log_key_file(self) -> Path:
        return self.log_key_file or self.keys_dir / "log-ed25519.pem"

    def check_safety(self) -> None:
        """Refuse settings that are only safe on a developer's machine."""
        if self.env is Environment.development:
            return
        key = self.chain_private_key.get_secret_value() if self.chain_private_key else None
        if key in development_chain_keys():
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
        problems = self._production_problems()
        if problems:
            raise ConfigurationError(
                "NOTARY_ENV=production refuses to invent what every process must share: "
                + "; ".join(problems),
                code="production_settings_missing",
            )

    def _production_problems(self) -> list[str]:
        """What production requires to be set rather than created or deployed on the spot: a
        process that made its own issuer key or registry would silently disagree with the others
        (``notary deploy`` creates them once and prints these settings)."""
        problems = []
        for setting, path in (
            ("NOTARY_ISSUER_KEY_FILE", self.issuer_key_file),
            ("NOTARY_LOG_KEY_FILE", self.log_key_file),
        ):
            if path is None:
                problems.append(f"set {setting}")
            elif not path.is_file():
                problems.append(
                    f"{setting} {path} does not exist (no key is created in "
                    "production: restore it, or run `notary deploy` for a new "
                    "deployment)"
                )
        if self.chain_id is None:
            problems.append("set NOTARY_CHAIN_ID")
        if self.chain_backend is ChainBackend.rpc:
            for setting, value in (
                ("NOTARY_REGISTRY_ADDRESS", self.registry_address),
                ("NOTARY_PLEDGE_REGISTRY_ADDRESS", self.pledge_registry_address),
            ):
                if not value:
                    problems.append(
                        f"set {setting} (no registry is deployed on the spot in production)"
                    )
        return problems


# NOTARY_* variables that are not settings of the service, yet legitimately sit in the environment
# of an operator's or a developer's shell beside them: other programs of the project read them.
# Everything else named NOTARY_* is a mistake (load_settings).
OTHER_PROGRAMS_VARIABLES: Mapping[str, str] = {
    "NOTARY_URL": "the SDK's `notary` commands: the service's base URL (--url)",
    "NOTARY_API_KEY": "the SDK's `notary` commands: the caller's API key (--api-key)",
    "NOTARY_TRUST_POLICY": "`notary verify` and the SDK's checks: the verifier's policy file",
    "NOTARY_KEY_PASSWORD": "`notary keys` and `notary secret`: the password of a holder's keys",
    "NOTARY_DEBUG": "every `notary` command: show the traceback of an error",
    "NOTARY_WITNESS_DIR": "`notary witness`: the witness's directory (--dir)",
    "NOTARY_PG_BIN": "the test suite: where PostgreSQL's server binaries are",
    "NOTARY_OPENSSL": "the test suite: the openssl binary that plays a TSA",
    "NOTARY_IPFS_BIN": "the test suite: the Kubo binary",
    "NOTARY_CHROMIUM": "the test suite: the Chromium the browser tests drive",
    "NOTARY_SPICY_BIN": "the test suite: torchwood's spicy",
    "NOTARY_LITEWITNESS_BIN": "the test suite: torchwood's litewitness",
}


@dataclass(frozen=True)
class UnknownVariable:
    """A ``NOTARY_*`` environment variable that no program of the project reads, and the known
    name nearest to it (a typo's likely intent)."""

    name: str
    nearest: str | None

    def __str__(self) -> str:
        if self.nearest is None:
            return f"{self.name} is not a setting"
        reader = OTHER_PROGRAMS_VARIABLES.get(self.nearest)
        return f"{self.name} is not a setting (did you mean {self.nearest}?" + (
            f" It is read by {reader.split(':', 1)[0]}, not the service)" if reader else ")"
        )


def setting_variables() -> frozenset[str]:
    """The environment variable of every setting (``NOTARY_<FIELD>``)."""
    return frozenset(f"NOTARY_{name.upper()}" for name in Settings.model_fields)


def unknown_variables(environ: Mapping[str, str]) -> list[UnknownVariable]:
    """Every ``NOTARY_*`` variable of ``environ`` that is neither a setting nor read by another
    program of the project (case-insensitive, as the settings are read), with its nearest name."""
    settings = setting_variables()
    known = sorted(settings | OTHER_PROGRAMS_VARIABLES.keys())
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("NOTARY_") or upper in settings:
            continue
        if upper in OTHER_PROGRAMS_VARIABLES:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
        found.append(UnknownVariable(name, close[0] if close else None))
    return found


def report_unknown_variables(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Production: refuse unknown ``NOTARY_*`` variables (:class:`ConfigurationError`
    ``unknown_setting``, one line naming each and its nearest name). Development: one warning line
    each, logged as ``unknown_setting``."""
    unknown = unknown_variables(os.environ if environ is None else environ)
    if not unknown:
        return
    if settings.env is Environment.production:
        raise ConfigurationError(
            "NOTARY_ENV=production refuses NOTARY_* variables it does not know, since a mistyped "
            "setting would be silently ignored: " + "; ".join(str(u) for u in unknown),
            code="unknown_setting",
        )
    for variable in unknown:
        log.warning(
            "%s; it is ignored",
            variable,
            extra={
                "event": "unknown_setting",
                "variable": variable.name,
                "nearest": variable.nearest,
            },
        )


def load_settings(*, report_unknown: bool = True) -> Settings:
    """The settings from the environment, or a :class:`ConfigurationError` naming each bad
    variable in one line. Pydantic's own message spans lines and quotes the input it was given,
    which holds every setting, secrets (the chain key, credentials in URLs) included.

    With ``report_unknown`` (the default), unknown ``NOTARY_*`` variables are refused in
    production and warned about in development (:func:`report_unknown_variables`); ``notary
    serve`` reports them itself once its logging is configured."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = [
            _describe(error) for error in exc.errors(include_input=False, include_url=False)
        ]
        problems += [str(u) for u in unknown_variables(os.environ)]
        raise ConfigurationError("; ".join(problems), code="invalid_settings") from None
    if report_unknown:
        report_unknown_variables(settings)
    return settings


def _describe(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a rule across settings: its message names them
        return message
    name = f"NOTARY_{str(error['loc'][0]).upper()}"
    inner = ".".join(str(part) for part in error["loc"][1:])  # in a JSON setting: where
    where = f"{name} ({inner})" if inner else name
    return message if message.startswith(name) and not inner else f"{where}: {message}"
