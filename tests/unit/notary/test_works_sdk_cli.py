"""Works through the SDK and the CLI against the in-process service, and every record kind served
where ``RecordKind`` says: register (file or digest), look up who registered a content first, and
the certificate of a work fetched by its id alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ipnotary.sdk import NotaryClient, RecordKind, cli, verify_certificate
from ipnotary.sdk.cli import options
from ipnotary.service.domain.records import new_id
from tests.unit.notary.conftest import Api

WORK = {
    "title": "Moonlight over the river",
    "work_type": "fine_art",
    "authors": [{"name": "Li Hua"}],
    "copyright_owner": {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"},
    "completed_on": "2025-03-01",
}
OTHER_OWNER = {"name": "Wang Fang", "id_type": "cn_resident_id", "id": "11010519491231002X"}


def sdk(api: Api, label: str, name: str) -> NotaryClient:
    api.principal(label, "holder", name)
    return NotaryClient(
        "http://testserver",
        api.keys[label],
        transport=api.client._transport,
        policy=api.runtime.trust_policy(),
    )


@pytest.fixture
def cli_at(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CLI's client talks to the in-process service; the URLs it was given are recorded."""
    urls: list[str] = []

    def client(url: str, key: str | None, policy: Any = None) -> NotaryClient:
        urls.append(url)
        return NotaryClient(url, key, transport=api.client._transport, policy=policy)

    monkeypatch.setattr(options, "open_client", client)
    return urls


def test_register_and_look_up_a_work_through_the_sdk(api: Api) -> None:
    content = b"a painting registered through the SDK" * 50
    sha256 = hashlib.sha256(content).hexdigest()
    with (
        sdk(api, "sdk-first", "First Studio") as first,
        sdk(api, "sdk-second", "Second Studio") as second,
    ):
        assert first.work_registrations(sha256) == ()
        registered = first.register_work(content, WORK, filename="painting.png")
        assert registered.created and registered.id.startswith("wk_")
        assert registered.prior_registrations == ()
        assert registered.receipt.record["content"]["sha256"] == sha256
        again = first.register_work(content, WORK)
        assert (again.id, again.created) == (registered.id, False)

        view = first.wait_anchored(registered.id, timeout=60, poll=0.1)
        assert view["kind"] == "work"
        # found by its id's prefix, checked under the policy
        cert = first.certificate(registered.id)
        verify_certificate(cert, api.runtime.trust_policy(), content=content)

        later = second.register_work_digest(
            {**WORK, "copyright_owner": OTHER_OWNER}, sha256=sha256, size=len(content)
        )
        assert [p["id"] for p in later.prior_registrations] == [registered.id]
        assert later.receipt.record["content"]["declared"] == ["sha256", "size"]

        found = second.work_registrations(sha256.upper())
        assert [(r["id"], r["prior"]) for r in found] == [(registered.id, True), (later.id, False)]
        mine = [r["id"] for r in first.list(kind=RecordKind.work)]
        assert registered.id in mine and later.id not in mine


def test_register_and_look_up_a_work_through_the_cli(
    api: Api, cli_at: list[str], tmp_path: Path
) -> None:
    content = b"a song registered through the CLI" * 50
    sha256 = hashlib.sha256(content).hexdigest()
    (tmp_path / "song.wav").write_bytes(content)
    (tmp_path / "work.json").write_text(json.dumps(WORK))
    (tmp_path / "other.json").write_text(json.dumps({**WORK, "copyright_owner": OTHER_OWNER}))
    api.principal("cli-first", "holder", "First Label")
    api.principal("cli-second", "holder", "Second Label")
    url = ["--url", "http://testserver"]

    def run(*args: str, key: str = "cli-first") -> Any:
        return CliRunner().invoke(cli.app, [*args, *url, "--api-key", api.keys[key]])

    registered = run(
        "work",
        "register",
        str(tmp_path / "song.wav"),
        "--work",
        str(tmp_path / "work.json"),
        "--json",
        "--receipt-dir",
        str(tmp_path / "receipts"),
    )
    assert registered.exit_code == 0, registered.output
    first = json.loads(registered.stdout)
    assert first["id"].startswith("wk_") and first["created"] and first["sha256"] == sha256
    assert first["prior_registrations"] == []
    assert (tmp_path / "receipts" / f"{first['id']}.receipt.json").is_file()
    assert cli_at and set(cli_at) == {"http://testserver"}

    # Piped (not a terminal): one tab-separated line, the id and the digest whole.
    later = run(
        "work",
        "register",
        str(tmp_path / "song.wav"),
        "--work",
        str(tmp_path / "other.json"),
        "--digest-only",
        key="cli-second",
    )
    assert later.exit_code == 0, later.output
    line = later.stdout.strip().split("\t")
    assert line[0] == str(tmp_path / "song.wav") and line[1].startswith("wk_") and line[3] == sha256
    assert f"registered earlier by someone else: {first['id']}" in later.stderr

    by_file = run("work", "lookup", str(tmp_path / "song.wav"), "--json", key="cli-second")
    assert by_file.exit_code == 0, by_file.output
    doc = json.loads(by_file.stdout)
    assert doc["sha256"] == sha256
    assert [(r["id"], r["prior"]) for r in doc["registrations"]] == [
        (first["id"], True),
        (line[1], False),
    ]
    # For a person: one headed section a registration, the first registrant's first.
    rows = run("work", "lookup", "--sha256", sha256.upper(), key="cli-second")
    assert rows.exit_code == 0, rows.output
    assert f"\n1. {first['id']} (registered it first)\n" in rows.stdout
    assert f"\n2. {line[1]}\n" in rows.stdout
    assert "title              Moonlight over the river" in rows.stdout
    # A resident identity number is personal: the first registrant sees the second's masked.
    masked = json.loads(run("work", "lookup", "--sha256", sha256, "--json").stdout)[
        "registrations"
    ][1]
    assert (
        masked["identities_masked"] and masked["work"]["copyright_owner"]["id"] != OTHER_OWNER["id"]
    )

    status = run("status", first["id"])
    assert status.exit_code == 0 and json.loads(status.stdout)["kind"] == "work"


@pytest.mark.parametrize(
    "args",
    [
        ["work", "lookup"],
        ["work", "lookup", "--sha256", "xyz"],
        ["work", "lookup", __file__, "--sha256", "ab" * 32],
    ],
    ids=["neither", "not hex", "both"],
)
def test_work_lookup_refuses_bad_input_in_one_line(args: list[str], cli_at: list[str]) -> None:
    result = CliRunner().invoke(cli.app, [*args, "--url", "http://testserver"])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_work_register_refuses_a_work_file_that_is_not_a_json_object(
    api: Api,
    cli_at: list[str],
    tmp_path: Path,
) -> None:
    (tmp_path / "a.bin").write_bytes(b"x")
    for text in ("not json", "[1, 2]"):
        (tmp_path / "work.json").write_text(text)
        result = CliRunner().invoke(
            cli.app,
            [
                "work",
                "register",
                str(tmp_path / "a.bin"),
                "--work",
                str(tmp_path / "work.json"),
                "--url",
                "http://testserver",
            ],
        )
        assert result.exit_code == 2 and "work.json" in result.stderr, result.output
    # A work the service refuses: its reason, on one line.
    (tmp_path / "work.json").write_text(json.dumps({**WORK, "title": ""}))
    api.principal("cli-bad", "holder")
    refused = CliRunner().invoke(
        cli.app,
        [
            "work",
            "register",
            str(tmp_path / "a.bin"),
            "--work",
            str(tmp_path / "work.json"),
            "--url",
            "http://testserver",
            "--api-key",
            api.keys["cli-bad"],
        ],
    )
    assert refused.exit_code == 1 and "title" in refused.stderr, refused.output
    assert len(refused.stderr.strip().splitlines()) == 1


def test_every_record_kind_is_served_at_its_path(api: Api) -> None:
    # The app's routes as it publishes them (FastAPI's route objects are internal since 0.16x).
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for kind in RecordKind:
        for suffix in ("", "/receipt", "/certificate", "/content"):
            assert "get" in paths.get(f"{kind.api_path}/{{record_id}}{suffix}", {}), (kind, suffix)
        assert new_id(kind).startswith(f"{kind.id_prefix}_")


def test_a_record_of_one_kind_is_not_found_under_another(api: Api) -> None:
    with sdk(api, "kinds", "Kinds Studio") as client:
        sub = client.submit_digest(sha256="12" * 32, size=3)
        assert client.get(sub.id)["kind"] == "evidence"
        from ipnotary.sdk.errors import APIError

        with pytest.raises(APIError) as info:
            client.get(sub.id, kind=RecordKind.work)
        assert info.value.status == 404


def test_a_kind_s_routes_cannot_be_mounted_elsewhere() -> None:
    from fastapi import APIRouter

    from ipnotary.service.api.routes._records import add_record_routes

    with pytest.raises(ValueError, match="/v1/works"):
        add_record_routes(APIRouter(prefix="/v1/work"), kind=RecordKind.work, noun="work")
