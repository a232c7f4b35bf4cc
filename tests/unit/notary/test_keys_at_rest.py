"""Keys at rest: with a passphrase, the issuer, log and embedded chain keys are never stored in
the clear; without it (or with another) the service does not start, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ipnotary.chain import load_or_create_signer_key
from ipnotary.service.config import Settings
from ipnotary.service.errors import ConfigurationError
from ipnotary.service.runtime import Runtime

PASSPHRASE = "correct horse battery staple"


def _build(data_dir: Path, **settings: object) -> Runtime:
    return Runtime.build(Settings(data_dir=data_dir, **settings))  # type: ignore[arg-type]


def _key_files(data_dir: Path) -> dict[str, bytes]:
    return {
        name: (data_dir / name).read_bytes()
        for name in ("keys/issuer-ed25519.pem", "keys/log-ed25519.pem", "chain/signer.key")
    }


def _raw_secrets(runtime: Runtime) -> list[bytes]:
    """The private key material as it would appear in a plaintext file, in every encoding."""
    issuer = runtime.issuer._key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = load_or_create_signer_key(
        runtime.settings.chain_dir, passphrase=runtime.settings.resolved_key_passphrase
    )
    return [issuer, issuer.hex().encode(), key.encode(), key[2:].encode()]


def test_with_a_passphrase_no_key_is_stored_in_the_clear(tmp_path: Path) -> None:
    runtime = _build(tmp_path, key_passphrase=PASSPHRASE)
    try:
        files = _key_files(tmp_path)
        secrets = _raw_secrets(runtime)
        issuer_id = runtime.issuer.key_id
        log_vkey = runtime.log.vkey
    finally:
        runtime.close()
    assert files["keys/issuer-ed25519.pem"].startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert files["keys/log-ed25519.pem"].startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert json.loads(files["chain/signer.key"])["crypto"]["kdf"] == "scrypt"  # a keystore v3
    for content in files.values():
        assert not any(secret in content for secret in secrets)
    again = _build(tmp_path, key_passphrase=PASSPHRASE)  # the same keys come back
    try:
        assert again.issuer.key_id == issuer_id and again.log.vkey == log_vkey
    finally:
        again.close()


def test_without_the_passphrase_or_with_another_the_service_says_why(tmp_path: Path) -> None:
    _build(tmp_path, key_passphrase=PASSPHRASE).close()
    with pytest.raises(ConfigurationError, match="NOTARY_KEY_PASSPHRASE"):
        _build(tmp_path)
    with pytest.raises(ConfigurationError, match="does not open"):
        _build(tmp_path, key_passphrase="another passphrase, long enough")


def test_plaintext_keys_from_before_are_encrypted_in_place(tmp_path: Path) -> None:
    plain = _build(tmp_path)
    issuer_id, log_vkey = plain.issuer.key_id, plain.log.vkey
    plain.close()
    assert _key_files(tmp_path)["keys/issuer-ed25519.pem"].startswith(
        b"-----BEGIN PRIVATE KEY-----"
    )
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    upgraded = _build(tmp_path, key_passphrase_file=passphrase_file)
    try:
        assert upgraded.issuer.key_id == issuer_id and upgraded.log.vkey == log_vkey
        secrets = _raw_secrets(upgraded)
    finally:
        upgraded.close()
    files = _key_files(tmp_path)
    assert all(not any(s in content for s in secrets) for content in files.values())
    assert (tmp_path / "keys" / "issuer-ed25519.pem").stat().st_mode & 0o077 == 0


def test_a_short_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="shorter than 12"):
        _build(tmp_path, key_passphrase="short")
