"""Keys are made only by ``notary deploy`` and by a development service starting on a new data
directory; everything else that finds one missing refuses in one line naming the setting and the
path, and makes nothing. Run from the wrong directory, ``notary log show`` used to make a new log
key and print it as the one to publish."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipnotary.service.config import Settings
from ipnotary.service.errors import ConfigurationError
from ipnotary.service.runtime import Runtime
from tests.unit.notary.conftest import serve
from tests.unit.notary.fakes import FakeChain


def _files(root: Path) -> set[str]:
    """The key files under ``root`` (the chain's and the service's)."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and (p.parent.name == "keys" or p.suffix in (".key", ".pem"))
    }


def _signed_something(data: Path) -> None:
    """A deployment in ``data`` that has issued a receipt: from then on its keys are its own."""
    service = serve(data, chain=FakeChain())
    api = next(service)
    h = api.principal("holder", "holder")
    assert api.client.post("/v1/evidence", headers=h, files={"file": ("a", b"a")}).is_success
    next(service, None)


def _build(data: Path, create_keys: bool | None = None) -> Runtime:
    return Runtime.build(Settings(data_dir=data), chain=FakeChain(), create_keys=create_keys)


def test_log_show_away_from_the_data_refuses_and_makes_no_key(tmp_path: Path) -> None:
    from ipnotary.service.cli import app

    data = tmp_path / "notary-data"
    shown = CliRunner().invoke(app, ["log", "show"], env={"NOTARY_DATA_DIR": str(data)})
    assert shown.exit_code == 2, shown.output
    line = shown.output.strip()
    assert len(line.splitlines()) == 1
    assert "NOTARY_LOG_KEY_FILE" in line and str(data / "keys" / "log-ed25519.pem") in line
    assert not data.exists()


def test_log_show_init_makes_the_key_of_a_new_deployment(tmp_path: Path) -> None:
    """Before the first start, so that witnesses can register the log: the service then starts
    on it and signs with that key."""
    from ipnotary.service.cli import app

    env = {"NOTARY_DATA_DIR": str(tmp_path)}
    shown = CliRunner().invoke(app, ["log", "show", "--json", "--init"], env=env)
    assert shown.exit_code == 0, shown.output
    runtime = _build(tmp_path)
    try:
        assert runtime.log.vkey in shown.output
        assert runtime.certificate_pdf.shared_url("ev_x") is not None  # the rest made at start
    finally:
        runtime.close()


def test_log_show_where_the_service_runs_prints_its_key(tmp_path: Path) -> None:
    from ipnotary.service.cli import app

    runtime = _build(tmp_path)
    try:
        vkey = runtime.log.vkey
    finally:
        runtime.close()
    shown = CliRunner().invoke(
        app, ["log", "show", "--json"], env={"NOTARY_DATA_DIR": str(tmp_path)}
    )
    assert shown.exit_code == 0, shown.output
    assert vkey in shown.output


def test_a_new_development_data_directory_gets_its_keys(tmp_path: Path) -> None:
    """`make run` the first time: nothing to set up."""
    _build(tmp_path).close()
    assert {"keys/issuer-ed25519.pem", "keys/log-ed25519.pem"} <= _files(tmp_path)


def test_a_deployment_that_signed_nothing_yet_still_gets_its_keys(tmp_path: Path) -> None:
    """`notary principal create --init` before the first start made only the database."""
    from ipnotary.service.cli import app

    made = CliRunner().invoke(
        app,
        ["principal", "create", "--name", "Acme", "--role", "holder", "--init"],
        env={"NOTARY_DATA_DIR": str(tmp_path)},
    )
    assert made.exit_code == 0, made.output
    assert not _files(tmp_path)
    _build(tmp_path).close()
    assert {"keys/issuer-ed25519.pem", "keys/log-ed25519.pem"} <= _files(tmp_path)


@pytest.mark.parametrize(
    ("missing", "setting"),
    [
        ("keys/log-ed25519.pem", "NOTARY_LOG_KEY_FILE"),
        ("keys/issuer-ed25519.pem", "NOTARY_ISSUER_KEY_FILE"),
    ],
)
def test_a_key_missing_beside_the_others_is_refused_not_replaced(
    tmp_path: Path, missing: str, setting: str
) -> None:
    _signed_something(tmp_path)
    (tmp_path / missing).unlink()
    before = _files(tmp_path)
    with pytest.raises(ConfigurationError, match=setting) as refused:
        _build(tmp_path)
    assert refused.value.code == "key_missing" and str(tmp_path / missing) in refused.value.detail
    assert _files(tmp_path) == before  # nothing made in its place


def test_pdf_keys_missing_beside_the_others_turn_pdfs_off_and_are_not_made(
    tmp_path: Path,
) -> None:
    """A data directory from before PDFs: everything else starts; the PDF key is not made."""
    _signed_something(tmp_path)
    made = _files(tmp_path)
    for name in made:
        if name.startswith("keys/") and "issuer" not in name and "log" not in name:
            (tmp_path / name).unlink()
    runtime = _build(tmp_path)
    try:
        with pytest.raises(ConfigurationError) as off:
            runtime.certificate_pdf.signer  # noqa: B018 - the property is the check
        assert off.value.code == "pdf_keys_missing"
    finally:
        runtime.close()
    assert not any(
        n.startswith("keys/") and "issuer" not in n and "log" not in n for n in _files(tmp_path)
    )


def test_deploy_makes_what_is_missing(tmp_path: Path) -> None:
    _signed_something(tmp_path)
    (tmp_path / "keys" / "log-ed25519.pem").unlink()
    _build(tmp_path, create_keys=True).close()
    assert (tmp_path / "keys" / "log-ed25519.pem").is_file()
