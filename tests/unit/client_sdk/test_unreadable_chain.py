"""A chain that cannot be read makes verification impossible, not the certificate invalid: the
verifier says which step it could not check, and ``notary verify`` exits with its own status."""

from __future__ import annotations

import json
from pathlib import Path

from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.policy import IssuerKey, TrustPolicy
from ipnotary.sdk.verify import verify_certificate

V1 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v1"


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
