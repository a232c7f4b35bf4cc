"""``notary witness init / add-log / show`` and the key file they manage (``serve`` runs as a real
process in ``tests/integration/test_witness_process.py``)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from typer.testing import CliRunner

from ipnotary.sdk.note import CosignatureSigner, CosignatureVerifier
from ipnotary.witness.cli import witness_app
from ipnotary.witness.errors import WitnessSetupError
from ipnotary.witness.keys import KEY_FILE, load_key_file
from ipnotary.witness.protocol import open_witness
from ipnotary.witness.state import STATE_FILE
from tests.unit.witness.conftest import FakeLog

runner = CliRunner()


def witness(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(witness_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_prints_a_cosignature_vkey_and_keeps_the_key_private(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    code, out, err = witness("init", "--name", "court.example/witness", "--dir", str(directory))
    assert code == 0, err
    verifier = CosignatureVerifier.from_vkey(out.strip())
    assert verifier.name == "court.example/witness"
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    key = load_key_file(directory)
    assert isinstance(key, Ed25519PrivateKey), "the default algorithm is Ed25519"
    assert CosignatureSigner("court.example/witness", key).vkey() == out.strip()


def test_init_refuses_to_replace_a_witness(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    assert witness("init", "--name", "a.example/w", "--dir", str(directory))[0] == 0
    before = (directory / KEY_FILE).read_bytes()
    code, _, err = witness("init", "--name", "b.example/w", "--dir", str(directory))
    assert code == 1 and "exists" in err
    assert (directory / KEY_FILE).read_bytes() == before


def test_init_refuses_a_bad_name_before_writing_anything(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    code, _, err = witness("init", "--name", "has space", "--dir", str(directory))
    assert code == 1 and "name" in err
    assert not (directory / KEY_FILE).exists() and not (directory / STATE_FILE).exists()


def test_add_log_and_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "w"
    monkeypatch.setenv("NOTARY_WITNESS_DIR", str(directory))
    code, vkey, _ = witness("init", "--name", "office.example/witness")
    assert code == 0
    log = FakeLog()
    assert witness("add-log", "--origin", log.origin, "--key", log.signer.vkey())[0] == 0
    open_witness(directory).add_checkpoint(log.body(0, 7))
    code, out, _ = witness("show", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["vkey"] == vkey.strip()
    assert shown["logs"][0]["origin"] == log.origin
    assert shown["logs"][0]["size"] == 7
    assert shown["logs"][0]["keys"] == [log.signer.vkey()]
    code, out, _ = witness("show")
    assert code == 0 and "size 7" in out and vkey.strip() in out


def test_add_log_refuses_a_cosignature_key(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    _, witness_vkey, _ = witness(
        "init", "--name", "office.example/witness", "--dir", str(directory)
    )
    code, _, err = witness(
        "add-log",
        "--origin",
        "office.example/witness",
        "--key",
        witness_vkey.strip(),
        "--dir",
        str(directory),
    )
    assert code == 1 and "0x04" in err


def test_add_log_warns_when_the_key_name_is_not_the_origin(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    witness("init", "--name", "office.example/witness", "--dir", str(directory))
    other = FakeLog(origin="example.com/other-name")
    code, _, err = witness(
        "add-log",
        "--origin",
        "example.com/log",
        "--key",
        other.signer.vkey(),
        "--dir",
        str(directory),
    )
    assert code == 0 and "warning" in err


def test_commands_on_a_missing_directory_say_to_init(tmp_path: Path) -> None:
    code, _, err = witness("show", "--dir", str(tmp_path / "nowhere"))
    assert code == 1 and "notary witness init" in err


def test_serve_rejects_a_malformed_listen_address(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    witness("init", "--name", "office.example/witness", "--dir", str(directory))
    code, _, _ = witness("serve", "--listen", "7380", "--dir", str(directory))
    assert code == 2


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "w"
    witness("init", "--name", "office.example/witness", "--dir", str(directory))
    (directory / KEY_FILE).chmod(0o644)
    with pytest.raises(WitnessSetupError, match="chmod 600"):
        load_key_file(directory)


def test_key_file_of_another_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    key = generate_private_key(SECP256R1())
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(0o600)
    with pytest.raises(WitnessSetupError, match="not an Ed25519"):
        load_key_file(tmp_path)
