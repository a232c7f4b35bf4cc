"""Verification against a chain: the golden version 1 certificate against its own embedded chain,
whose registry is version 1 (``tests/unit/notary/test_certificate_on_chain.py`` does version 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.policy import IssuerKey, TrustPolicy
from ipnotary.sdk.verify import TimeSource, verify_certificate

V1 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v1"


def test_the_golden_v1_certificate_checks_out_on_its_chain(tmp_path: Path) -> None:
    shutil.copytree(V1 / "chain", tmp_path / "chain")  # never open the committed files for writing
    trust = json.loads((V1 / "trust.json").read_text())
    policy = TrustPolicy(
        issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])],
        require_independent_time=False,
    )
    view = open_chain_view(embedded_dir=tmp_path / "chain")
    try:
        result = verify_certificate(
            (V1 / "certificate.json").read_bytes(), policy, content=V1 / "golden.txt", chain=view
        )
    finally:
        view.close()
    assert result.chain_checked and result.confirmations == 1
    assert {"chain_id", "anchor", "transaction", "block", "confirmations"} <= set(result.steps)
    assert result.time_source is TimeSource.OPERATOR  # the embedded chain is nobody's guarantee


def test_an_unreachable_node_is_not_a_forgery() -> None:
    """A node that does not answer makes verification impossible, not the certificate invalid."""
    from ipnotary.sdk.errors import ChainReadError, VerificationError
    from tests.conftest import free_port

    trust = json.loads((V1 / "trust.json").read_text())
    policy = TrustPolicy(
        issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])],
        require_independent_time=False,
    )
    view = open_chain_view(rpc_url=f"http://127.0.0.1:{free_port()}", request_timeout=2)
    try:
        verify_certificate((V1 / "certificate.json").read_bytes(), policy, chain=view)
    except VerificationError as exc:  # pragma: no cover - the failure this test exists for
        raise AssertionError(f"a dead node was reported as a failed step: {exc}") from exc
    except ChainReadError as exc:
        assert "chain_id" in str(exc)
    else:
        raise AssertionError("a dead node verified")


def test_the_cli_says_the_chain_could_not_be_read_with_its_own_exit_status(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ipnotary.service.cli import app
    from tests.conftest import free_port

    trust = json.loads((V1 / "trust.json").read_text())
    policy = tmp_path / "policy.json"
    policy.write_bytes(
        TrustPolicy(
            issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])],
            require_independent_time=False,
        ).to_json_bytes()
    )
    result = CliRunner().invoke(
        app,
        [
            "verify",
            str(V1 / "certificate.json"),
            "--policy",
            str(policy),
            "--rpc",
            f"http://127.0.0.1:{free_port()}",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "could not read the chain" in result.output and "INVALID" not in result.output
