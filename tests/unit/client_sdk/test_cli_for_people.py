"""What the client commands print for a person: headed sections saying what the record or the
register's answer is, JSON only with ``--json``, the service's warnings shown, and a register key
your policy does not list reported as NOT TRUSTED (exit 4), not INVALID.

The service is replaced by an ``httpx.MockTransport`` answering signed documents (the CLI opens
its client through ``options.open_client``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from ipnotary.sdk.cli import app, options
from ipnotary.sdk.client import NotaryClient
from ipnotary.sdk.credit import CREDIT_STATUS_MEDIA_TYPE
from ipnotary.sdk.pledges import PLEDGE_STATUS_MEDIA_TYPE, asset_id
from ipnotary.sdk.signing import key_id, public_key_to_b64, sign_document

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
REGISTER = Ed25519PrivateKey.generate()
SUBJECT = "uscc:91350100M000100Y43"


def _signed(unsigned: dict[str, Any], key: Ed25519PrivateKey = REGISTER) -> dict[str, Any]:
    issuer = {
        "key_id": key_id(key.public_key()),
        "public_key": public_key_to_b64(key.public_key()),
        "name": "register",
    }
    body = {**unsigned, "issuer": issuer}
    return {**body, "signature": {"alg": "Ed25519", "value": sign_document(key, body)}}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _register(request: httpx.Request) -> httpx.Response:
    doc: dict[str, Any]
    if request.url.path == "/v1/credit/status":
        doc = {
            "media_type": CREDIT_STATUS_MEDIA_TYPE,
            "subject": request.url.params["subject"],
            "as_of": _now(),
            "issued_at": _now(),
            "entries": [],
            "class": "B",
        }
    else:
        asset = {"type": "patent", "registration_number": "ZL201710601862.3"}
        doc = {
            "media_type": PLEDGE_STATUS_MEDIA_TYPE,
            "as_of": _now(),
            "asset": asset,
            "asset_id": asset_id("patent:ZL201710601862.3").hex(),
            "chain": {"chain_id": 1337, "contract": "0x" + "11" * 20, "block_number": 7},
            "pledged": False,
            "pledge": None,
        }
    return httpx.Response(200, json=_signed(doc))


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> None:
    def client(url: str, key: str | None, policy: Any = None) -> NotaryClient:
        return NotaryClient(url, key, transport=httpx.MockTransport(_register), policy=policy)

    monkeypatch.setattr(options, "open_client", client)


def _policy(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    policy = json.loads((V2 / "policy.json").read_text())
    policy["issuers"] = [{"public_key": public_key_to_b64(key.public_key()), "name": "register"}]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    return path


def notary(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], terminal_width=120)


STATUS_COMMANDS = {
    "credit": ("credit", "status", SUBJECT.lower()),
    "pledge": ("pledge", "status", "--asset-type", "patent", "--number", "ZL201710601862.3"),
}


@pytest.mark.parametrize("command", STATUS_COMMANDS)
def test_a_register_answer_is_printed_for_a_person(
    register: None, tmp_path: Path, command: str
) -> None:
    shown = notary(*STATUS_COMMANDS[command], "--policy", _policy(tmp_path, REGISTER))
    assert shown.exit_code == 0, shown.output
    header = {"credit": "Credit status", "pledge": "Pledge status"}[command]
    assert shown.stdout.startswith(f"{header}\n") and "\nChecks\n" in shown.stdout
    assert not shown.stdout.lstrip().startswith("{")
    if command == "credit":
        assert f"subject            {SUBJECT}" in shown.stdout
        assert "class              B: no adverse record" in shown.stdout
    else:
        assert "pledged            no" in shown.stdout and "block 7" in shown.stdout
    as_json = notary(*STATUS_COMMANDS[command], "--policy", _policy(tmp_path, REGISTER), "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)


@pytest.mark.parametrize("command", STATUS_COMMANDS)
def test_a_register_key_your_policy_does_not_list_is_not_trusted(
    register: None, tmp_path: Path, command: str
) -> None:
    other = _policy(tmp_path, Ed25519PrivateKey.generate())
    refused = notary(*STATUS_COMMANDS[command], "--policy", other)
    assert refused.exit_code == 4, refused.output
    assert refused.stdout.startswith("NOT TRUSTED at step issuer") and "INVALID" not in (
        refused.output
    )


def test_an_invalid_subject_could_not_be_checked(register: None) -> None:
    refused = notary("credit", "status", "uscc:91350100M000100Y44")
    assert refused.exit_code == 2 and "check character" in refused.output


@dataclass(frozen=True)
class _Receipt:
    record: dict[str, Any]

    def to_json_bytes(self) -> bytes:
        return json.dumps(self.record).encode()


@dataclass(frozen=True)
class _Submission:
    id: str
    created: bool
    status: str
    receipt: _Receipt
    warnings: tuple[str, ...] = ()


@dataclass
class _Service:
    """Answers each submission with the golden certificate's record, as a record made before."""

    warnings: tuple[str, ...]
    sent: list[dict[str, Any]] = field(default_factory=list)

    def __enter__(self) -> _Service:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit_file(self, path: Path, *, metadata: dict[str, Any], progress: Any) -> _Submission:
        self.sent.append(metadata)
        record = json.loads((V2 / "certificate.json").read_text())["record"]
        return _Submission(record["id"], False, "anchored", _Receipt(record), self.warnings)


WARNING = "the title sent again was not changed: this record keeps the title it was made with"


def test_submit_prints_what_was_recorded_and_the_services_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    service = _Service((WARNING,))
    monkeypatch.setattr(options, "open_client", lambda *a, **k: service)
    shown = notary("submit", V2 / "hello.txt", "--title", "New title", "--receipt-dir", tmp_path)
    assert shown.exit_code == 0, shown.output
    record = json.loads((V2 / "certificate.json").read_text())["record"]
    assert shown.stdout.startswith(f"Evidence {V2 / 'hello.txt'}\n")
    assert "new record         no: this content was submitted before" in shown.stdout
    assert f"record id          {record['id']}" in shown.stdout
    assert record["content"]["sha256"] in shown.stdout and "title              T" in shown.stdout
    assert f"saved to {tmp_path / (record['id'] + '.receipt.json')}" in shown.stdout
    assert f"warning: {V2 / 'hello.txt'}: {WARNING}" in shown.stderr
    as_json = json.loads(notary("submit", V2 / "hello.txt", "--json").stdout)
    assert as_json[0]["warnings"] == [WARNING] and as_json[0]["created"] is False


def test_submit_without_warnings_says_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(options, "open_client", lambda *a, **k: _Service(()))
    shown = notary("submit", V2 / "hello.txt")
    assert shown.exit_code == 0 and "warning" not in shown.output
    assert "warnings" not in json.loads(notary("submit", V2 / "hello.txt", "--json").stdout)[0]


def test_option_help_names_what_to_give_not_python_types() -> None:
    for command in (
        ("submit",),
        ("verify",),
        ("certificate",),
        ("claim-check",),
        ("credit", "status"),
        ("pledge", "status"),
        ("work", "lookup"),
    ):
        text = CliRunner().invoke(app, [*command, "--help"], terminal_width=200).output
        for python_type in ("<bool>", "<str>", "<float>", "<path>", "<list[", "<int>"):
            assert python_type not in text, (command, python_type, text)
    wait = CliRunner().invoke(app, ["certificate", "--help"], terminal_width=200).output
    assert "--wait" in wait and "SECONDS" in wait
