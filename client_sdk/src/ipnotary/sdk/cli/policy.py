"""``notary policy``: fetch the trust policy a service suggests, and show what a policy trusts
with the fingerprints to compare out of band."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, UrlOpt
from ipnotary.sdk.cli.output import err, fail, print_rows

if TYPE_CHECKING:
    from cryptography import x509

    from ipnotary.sdk.policy import TrustPolicy

__all__ = ["policy_app"]

policy_app = typer.Typer(no_args_is_help=True, help="Trust policies for verifying certificates.")


@policy_app.command("fetch")
def policy_fetch(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the policy")],
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Save the trust policy a service suggests. Check every key in it out of band before you
    rely on it: taking it from the service is trusting the service (docs/trust.md)."""
    from ipnotary.sdk.errors import ClientSDKError

    try:
        with options.open_client(url, None) as client:
            policy = client.trust_policy()
    except ClientSDKError as exc:
        fail(str(exc))
    output.write_bytes(policy.to_json_bytes())
    _print_policy(policy)
    err.print(
        f"[yellow]Written to {output}. This is what the operator suggests: confirm the log "
        "key with the operator's published statement and each witness key with that "
        "witness before relying on it.[/yellow]"
    )


@policy_app.command("show")
def policy_show(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Show what a trust policy trusts, with the fingerprints to compare out of band."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy

    try:
        policy = TrustPolicy.load(file)
    except FormatError as exc:
        fail(str(exc), 2)
    _print_policy(policy, as_json=as_json)


def _print_policy(policy: TrustPolicy, *, as_json: bool = False) -> None:
    rows: list[dict[str, str]] = []
    if policy.log:
        rows += [
            {"trusts": "log", "what": policy.log.origin, "key": key} for key in policy.log.keys
        ]
    for issuer in policy.issuers:
        window = f"{issuer.not_before or '…'} to {issuer.not_after or '…'}"
        rows.append(
            {
                "trusts": "issuer",
                "what": f"{issuer.name or 'issuer'} ({window})",
                "key": issuer.key_id,
            }
        )
    rows += [{"trusts": "witness", "what": w.name, "key": w.key} for w in policy.witnesses.members]
    rows.append(
        {
            "trusts": "quorum",
            "what": f"{policy.witnesses.quorum} of {len(policy.witnesses.members)}",
            "key": "",
        }
    )
    rows += [
        {"trusts": "TSA", "what": tsa.name, "key": _cert_fingerprint(root)}
        for tsa in policy.timestamp_authorities
        for root in tsa.roots
    ]
    rows += [
        {
            "trusts": "chain (time)",
            "what": f"chain {c.chain_id}, registry {c.registry}",
            "key": c.genesis_hash,
        }
        for c in policy.chains
    ]
    print_rows(rows, as_json=as_json, ids=("key",))
    if policy.notice:
        err.print(f"[yellow]{policy.notice}[/yellow]")
    if not policy.require_independent_time:
        err.print(
            "[yellow]This policy accepts certificates whose time only the operator "
            "attests.[/yellow]"
        )


def _cert_fingerprint(certificate: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import hashes

    return "SHA-256 " + certificate.fingerprint(hashes.SHA256()).hex()
