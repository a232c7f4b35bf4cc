"""``notary verify``: check a certificate under your trust policy, offline or against the chain,
and report what it proves (the report's fields are those of ``--json``). A PDF certificate is
checked as a PDF first (its signature, then its attached certificate: ``ipnotary.sdk.pdf``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import ChainDataOpt, PolicyOpt, RpcOpt
from ipnotary.sdk.cli.output import EXIT_NOT_TRUSTED, err, fail, out, print_invalid

if TYPE_CHECKING:
    from ipnotary.sdk.pdf import PdfSignature
    from ipnotary.sdk.verify import VerificationResult

__all__ = ["verify"]


def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="[FILE] CERT: the notarised file (optional) and the certificate (JSON or PDF)",
            metavar="[FILE] CERT",
        ),
    ],
    policy: PolicyOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    confirmations: Annotated[
        int | None,
        typer.Option(min=1, help="Blocks required on top of the anchor (default: the policy's)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
) -> None:
    """Verify a certificate under your trust policy, offline or against the chain.

    Exit status 0 = valid, 1 = invalid, 2 = could not check, 4 = not trusted (no policy given:
    the certificate is self-consistent, but nobody you trust vouches for it).
    """
    from ipnotary.sdk.errors import ChainReadError, FormatError, VerificationError
    from ipnotary.sdk.pdf import is_pdf, verify_certificate_pdf
    from ipnotary.sdk.policy import TrustPolicy
    from ipnotary.sdk.verify import verify_certificate

    if len(paths) > 2:
        fail("give at most two paths: [FILE] CERT", 2)
    file, cert = (paths[0], paths[1]) if len(paths) == 2 else (None, paths[0])
    try:
        raw = cert.read_bytes()
        trust = TrustPolicy.load(policy) if policy else None
    except OSError as exc:
        fail(f"cannot read {cert}: {exc}", 2)
    except FormatError as exc:
        fail(str(exc), 2)
    chain = None
    signature: PdfSignature | None = None
    try:
        chain = options.open_chain_view(rpc, chain_data)
        if is_pdf(raw):
            verified = verify_certificate_pdf(
                raw, trust, content=file, chain=chain, min_confirmations=confirmations
            )
            result, signature = verified.certificate, verified.signature
        else:
            result = verify_certificate(
                raw, trust, content=file, chain=chain, min_confirmations=confirmations
            )
    except VerificationError as exc:
        if as_json:
            out.print_json(
                data={
                    "verdict": "invalid",
                    "valid": False,
                    "failed_step": exc.step,
                    "reason": exc.reason,
                }
            )
        else:
            print_invalid(exc)
        raise typer.Exit(1) from None
    except ChainReadError as exc:
        fail(f"could not read the chain: {exc}", 2)
    finally:
        if chain is not None:
            chain.close()
    report = _verification_report(result)
    if signature is not None:
        report["pdf"] = _pdf_report(signature)
    if as_json:
        out.print_json(data=report)
    else:
        _print_verification(result, report)
        if signature is not None:
            _print_pdf(signature)
    if not result.trusted:
        raise typer.Exit(EXIT_NOT_TRUSTED)


def _pdf_report(signature: PdfSignature) -> dict[str, Any]:
    return {
        "signer": signature.signer,
        "signer_fingerprint": signature.signer_fingerprint,
        "signer_trusted": signature.trusted,
        "signer_name": signature.signer_name,
        "signed_at": signature.signed_at.isoformat(),
        "timestamp": signature.timestamp.isoformat() if signature.timestamp else None,
        "timestamp_authority": signature.timestamp_authority,
        "steps": list(signature.steps),
        "notes": list(signature.notes),
    }


def _print_pdf(signature: PdfSignature) -> None:
    stamped = (
        f"{signature.timestamp.isoformat()} ({signature.timestamp_authority})"
        if signature.timestamp
        else f"{signature.signed_at.isoformat()} (as the signer states it; no trusted time-stamp)"
    )
    for name, value in (
        ("pdf signed by", f"{signature.signer_name or 'not checked'}: {signature.signer}"),
        ("pdf signer sha256", signature.signer_fingerprint),
        ("pdf signed at", stamped),
        ("pdf steps", ", ".join(signature.steps)),
    ):
        out.print(f"{name:<20} {value}", soft_wrap=True, highlight=False)
    for note in signature.notes:
        err.print(f"[yellow]note:[/yellow] {note}")


def _verification_report(result: VerificationResult) -> dict[str, Any]:
    # Any: the values are JSON scalars and lists of them, printed as JSON or one per line.
    return {
        "verdict": result.verdict.value,
        "valid": result.trusted,
        "record_id": result.record_id,
        "kind": result.kind,
        "certificate_version": result.certificate_version,
        "proven_time": result.proven_time.isoformat(),
        "time_source": result.time_source.value,
        "time_evidence": [
            {"source": e.source.value, "time": e.time.isoformat(), "detail": e.detail}
            for e in result.time_evidence
        ],
        "log_origin": result.log_origin,
        "leaf_index": result.leaf_index,
        "tree_size": result.tree_size,
        "witnesses": list(result.witnesses),
        "chain_id": result.chain_id,
        "contract": result.contract,
        "batch_id": result.batch_id,
        "block_number": result.block_number,
        "anchored_at": result.anchored_at.isoformat(),
        "confirmations": result.confirmations,
        "issuer_key_id": result.issuer_key_id,
        "content_checked": result.content_checked,
        "chain_checked": result.chain_checked,
        "steps": list(result.steps),
        "notes": list(result.notes),
    }


def _print_verification(result: VerificationResult, report: dict[str, Any]) -> None:
    from ipnotary.sdk.verify import TimeSource

    if not result.trusted:
        out.print(
            "[bold yellow]NOT TRUSTED[/bold yellow]: the certificate is self-consistent, but "
            "no trust policy was given, so nobody you trust vouches for it (--policy FILE)"
        )
    elif result.time_source is TimeSource.OPERATOR:
        out.print(
            "[bold green]VALID[/bold green] [yellow](the time rests on the operator alone)[/yellow]"
        )
    else:
        out.print("[bold green]VALID[/bold green]")
    # Plain "name  value" lines, never a table: a table cuts long ids to fit the terminal, and a
    # key id or record id copied from here must be whole.
    lines = [("existed by", f"{report['proven_time']} ({result.time_source.value})")]
    lines += [
        (f"  {e.source.value}", f"{e.time.isoformat()}: {e.detail}") for e in result.time_evidence
    ]
    for key in (
        "record_id",
        "kind",
        "certificate_version",
        "log_origin",
        "leaf_index",
        "tree_size",
        "witnesses",
        "chain_id",
        "contract",
        "block_number",
        "anchored_at",
        "confirmations",
        "issuer_key_id",
        "content_checked",
        "chain_checked",
        "steps",
    ):
        value = report[key]
        lines.append((key, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    for name, value in lines:
        out.print(f"{name:<20} {value}", soft_wrap=True, highlight=False)
    for note in result.notes:
        err.print(f"[yellow]note:[/yellow] {note}")
    if not result.chain_checked:
        err.print(
            "[yellow]The chain was not consulted; pass --rpc (or --chain-data) to check the "
            "anchor on chain.[/yellow]"
        )
