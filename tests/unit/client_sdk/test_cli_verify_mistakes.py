"""``notary verify``: a mistake is not a forgery.

INVALID (exit 1) says the evidence was altered. The paths the wrong way round, a file that is no
certificate, a missing file: could not check (exit 2). A policy of another deployment, or one
whose witnesses did not cosign: NOT TRUSTED (exit 4). Each in one line that says what is wrong.
What was certified is printed for a person, under headers; JSON only with ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from ipnotary.sdk.cli import app
from ipnotary.sdk.note import CosignatureSigner, NoteSigner
from ipnotary.sdk.signing import public_key_to_b64

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
CERT, FILE, POLICY = V2 / "certificate.json", V2 / "hello.txt", V2 / "policy.json"


def notary(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], terminal_width=100)


def one_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def _policy(tmp_path: Path, **changes: Any) -> Path:
    policy = {**json.loads(POLICY.read_text()), **changes}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    return path


def test_the_paths_the_wrong_way_round_could_not_be_checked() -> None:
    swapped = notary("verify", CERT, FILE, "--policy", POLICY)
    assert swapped.exit_code == 2, swapped.output
    line = one_line(swapped)
    assert "wrong way round" in line and f"notary verify {FILE} {CERT}" in line
    assert "INVALID" not in swapped.output


def test_a_missing_file_could_not_be_checked(tmp_path: Path) -> None:
    for args in ((tmp_path / "gone.txt", CERT), (tmp_path / "gone.json",)):
        missing = notary("verify", *args, "--policy", POLICY)
        assert missing.exit_code == 2, missing.output
        assert "No such file" in one_line(missing) and "gone" in missing.output


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (b"plain text, not JSON", "not JSON"),
        (json.dumps({"media_type": "application/vnd.ipnotary.receipt+json;version=1"}), "receipt"),
        (POLICY.read_bytes(), "trust policy"),
        (
            json.dumps({"media_type": "application/vnd.ipnotary.certificate+json;version=9"}),
            "update the SDK",
        ),
    ],
)
def test_a_document_that_is_no_certificate_could_not_be_checked(
    tmp_path: Path, document: bytes | str, named: str
) -> None:
    path = tmp_path / "doc"
    path.write_bytes(document if isinstance(document, bytes) else document.encode())
    refused = notary("verify", path, "--policy", POLICY)
    assert refused.exit_code == 2 and named in one_line(refused), refused.output


def test_a_policy_of_another_deployment_is_not_trusted(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    other = _policy(
        tmp_path,
        issuers=[{"public_key": public_key_to_b64(key.public_key()), "name": "other"}],
        log={
            "origin": "other.example/log",
            "keys": [NoteSigner("other.example/log", key).vkey()],
        },
        witnesses={"quorum": 0, "members": []},
    )
    text = notary("verify", FILE, CERT, "--policy", other)
    assert text.exit_code == 4, text.output
    line = one_line(text)
    assert line.startswith("NOT TRUSTED at step checkpoint") and "other.example/log" in line
    report = json.loads(notary("verify", FILE, CERT, "--policy", other, "--json").output)
    assert (report["verdict"], report["failed_step"]) == ("not_trusted", "checkpoint")


def test_a_quorum_the_witnesses_did_not_reach_is_not_trusted(tmp_path: Path) -> None:
    members = json.loads(POLICY.read_text())["witnesses"]["members"]
    stranger = CosignatureSigner("stranger.example/witness", Ed25519PrivateKey.generate())
    stricter = _policy(
        tmp_path,
        witnesses={
            "quorum": len(members) + 1,
            "members": [*members, {"name": "stranger", "key": stranger.vkey()}],
        },
    )
    result = notary("verify", FILE, CERT, "--policy", stricter)
    assert result.exit_code == 4, result.output
    assert one_line(result).startswith("NOT TRUSTED at step witnesses")


def test_an_altered_certificate_is_still_invalid(tmp_path: Path) -> None:
    doc = json.loads(CERT.read_text())
    doc["record"]["metadata"]["title"] = "Altered"
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    result = notary("verify", FILE, altered, "--policy", POLICY)
    assert result.exit_code == 1 and one_line(result).startswith("INVALID at step leaf_hash")


def test_what_was_certified_is_printed_for_a_person() -> None:
    shown = notary("verify", FILE, CERT, "--policy", POLICY)
    assert shown.exit_code == 0, shown.output
    record = json.loads(CERT.read_text())["record"]
    out = shown.stdout
    for header in ("Record", "Proven", "Log and chain", "Checks"):
        assert f"\n{header}\n" in out, out
    assert "title              T" in out and record["holder"]["name"] in out
    assert record["content"]["sha256"] in out and record["content"]["sm3"] in out
    assert "vouched for by     2 of 2 witnesses" in out
    assert not out.lstrip().startswith("{")  # JSON only with --json
