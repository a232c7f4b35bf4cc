"""``notary verify``: check a certificate under your trust policy, offline or against the chain,
and report what it proves (the report's fields are those of ``--json``). A PDF certificate is
checked as a PDF first (its signature, then its attached certificate: ``ipnotary.sdk.pdf``).

Only an alteration is INVALID (exit 1). A mistake is not a forgery: a missing file, a file that is
no certificate (the two paths the wrong way round, a receipt, a trust policy) could not be
checked (exit 2); a certificate your policy does not vouch for (a policy of another deployment, a
quorum of witnesses not met) is NOT TRUSTED (exit 4), and each says so in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import ChainDataOpt, PolicyOpt, RpcOpt
from ipnotary.sdk.cli.output import (
    EXIT_NOT_TRUSTED,
    Line,
    err,
    fail,
    out,
    print_invalid,
    print_not_trusted,
    print_section,
    record_lines,
)

if TYPE_CHECKING:
    from ipnotary.sdk.capture import CaptureVerification
    from ipnotary.sdk.pdf import PdfSignature
    from ipnotary.sdk.verify import VerificationResult

__all__ = ["verify"]


def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="[FILE] CERT: the notarised file (optional), then its certificate (JSON or PDF)",
            metavar="[FILE] CERT",
            show_default=False,
        ),
    ],
    policy: PolicyOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    confirmations: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="BLOCKS",
            help="Blocks required on top of the anchor (default: the policy's, else 1)",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead")
    ] = False,
) -> None:
    """Verify a certificate under your trust policy, offline or against the chain.

    Exit status 0 = valid, 1 = invalid (the evidence was altered), 2 = could not check (a missing
    or unreadable file, not a certificate, an unreadable chain), 4 = not trusted (no policy given,
    or your policy does not vouch for the certificate's log, issuer or witnesses).
    """
    from ipnotary.sdk.capture import capture_report, is_wacz, verify_capture
    from ipnotary.sdk.errors import ChainReadError, NotTrustedError, VerificationError
    from ipnotary.sdk.pdf import verify_certificate_pdf
    from ipnotary.sdk.verify import verify_certificate

    if len(paths) > 2:
        fail("give at most two paths: [FILE] CERT", 2)
    file, cert = (paths[0], paths[1]) if len(paths) == 2 else (None, paths[0])
    raw = _read(cert, "certificate")
    if file is not None:
        _readable(file)
    problem = _not_a_certificate(raw)
    if file is not None and (problem or _pdf_without_certificate(raw)) and _is_certificate(file):
        fail(
            f"{file} is a certificate and {cert} is not: the paths are the wrong way round; "
            f"give the file first, then its certificate: notary verify {cert} {file}",
            2,
        )
    if problem is not None:
        fail(f"{cert} is {problem}, not a certificate: notary verify [FILE] CERT", 2)
    trust = options.load_policy(policy)
    chain = None
    signature: PdfSignature | None = None
    captured: CaptureVerification | None = None
    try:
        chain = options.open_chain_view(rpc, chain_data)
        if _is_pdf(raw):
            verified = verify_certificate_pdf(
                raw, trust, content=file, chain=chain, min_confirmations=confirmations
            )
            result, signature = verified.certificate, verified.signature
        elif file is not None and is_wacz(file):  # a web-page capture: docs/capture.md
            captured = verify_capture(
                file, raw, trust, chain=chain, min_confirmations=confirmations
            )
            result = captured.certificate
        else:
            result = verify_certificate(
                raw, trust, content=file, chain=chain, min_confirmations=confirmations
            )
    except VerificationError as exc:
        untrusted = isinstance(exc, NotTrustedError)
        if as_json:
            out.print_json(
                data={
                    "verdict": "not_trusted" if untrusted else "invalid",
                    "valid": False,
                    "failed_step": exc.step,
                    "reason": exc.reason,
                }
            )
        elif untrusted:
            print_not_trusted(exc)
        else:
            print_invalid(exc)
        raise typer.Exit(EXIT_NOT_TRUSTED if untrusted else 1) from None
    except ChainReadError as exc:
        fail(f"could not read the chain: {exc}", 2)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    finally:
        if chain is not None:
            chain.close()
    report = _verification_report(result)
    if captured is not None:
        report.update(capture_report(captured))
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


def _read(path: Path, what: str) -> bytes:
    """The bytes at ``path``; exit 2 in one line when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read the {what} {path}: {exc.strerror or exc}", 2)


def _readable(path: Path) -> None:
    """Exit 2 in one line unless ``path`` is a file that can be opened (the notarised file is
    hashed later, as a stream: a missing one must not look like a changed one)."""
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        fail(f"cannot read the file {path}: {exc.strerror or exc}", 2)


def _is_pdf(raw: bytes) -> bool:
    from ipnotary.sdk.pdf import is_pdf

    return is_pdf(raw)


def _pdf_without_certificate(raw: bytes) -> bool:
    """A PDF with no certificate attached: an ordinary PDF (a notarised file, say)."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.pdf import read_attached_certificate

    if not _is_pdf(raw):
        return False
    try:
        read_attached_certificate(raw)
    except FormatError:
        return True
    return False


def _is_certificate(path: Path) -> bool:
    """Whether the file at ``path`` is a JSON certificate (read only if it is small enough to be
    one: the notarised file may be gigabytes)."""
    from ipnotary.sdk.certificate import MAX_CERTIFICATE_BYTES

    try:
        if path.stat().st_size > MAX_CERTIFICATE_BYTES:
            return False
        raw = path.read_bytes()
    except OSError:
        return False
    return not _is_pdf(raw) and _not_a_certificate(raw) is None


def _not_a_certificate(raw: bytes) -> str | None:
    """What ``raw`` is if it is not meant as a certificate (None for a PDF, or JSON naming a
    certificate media type: then any fault in it is the certificate's, and INVALID)."""
    import json

    if _is_pdf(raw):
        return None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return "not JSON"
    if not isinstance(doc, dict):
        return "JSON but not an object"
    from ipnotary.sdk.certificate import CERTIFICATE_MEDIA_TYPE, CERTIFICATE_V1_MEDIA_TYPE

    media_type = str(doc.get("media_type", ""))
    if media_type in (CERTIFICATE_MEDIA_TYPE, CERTIFICATE_V1_MEDIA_TYPE):
        return None
    if media_type.startswith("application/vnd.ipnotary.certificate+json"):
        return (
            f"a certificate of a version this verifier does not know ({media_type[:80]}): "
            "update the SDK"
        )
    if media_type.startswith("application/vnd.ipnotary.receipt+json"):
        return (
            "a receipt (the service's promise to anchor; fetch the certificate with notary "
            "certificate ID once it is anchored)"
        )
    if media_type.startswith("application/vnd.ipnotary.trust-policy+json"):
        return "a trust policy (give it with --policy)"
    if "credentialSubject" in doc:
        return "a Verifiable Credential (docs/credentials.md says how to check one)"
    return f"a JSON document of another kind (media_type {media_type[:80]!r})"


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
    print_section(
        "PDF signature",
        [
            ("pdf signed by", f"{signature.signer_name or 'not checked'}: {signature.signer}"),
            ("pdf signer sha256", signature.signer_fingerprint),
            ("pdf signed at", stamped),
            ("pdf steps", ", ".join(signature.steps)),
        ],
    )
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
        "time_rule": result.time_rule.value,
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
        # Whether anchored_at is proven (a trusted chain read on a node) or the operator's word.
        "anchored_at_proven": _anchor_time_proven(result),
        "confirmations": result.confirmations,
        "issuer_key_id": result.issuer_key_id,
        "content_checked": result.content_checked,
        "chain_checked": result.chain_checked,
        "steps": list(result.steps),
        "notes": list(result.notes),
    }


def _vouched_for_by(result: VerificationResult) -> list[Line]:
    """Who vouches for the proven time, in a person's words, and every source that was checked."""
    from ipnotary.sdk.verify import TimeSource

    if result.time_source is TimeSource.OPERATOR:
        who = "the operator alone (its own chain's block time, as it states it)"
        if result.chain_checked:
            who += "; the chain was read, but your policy does not trust it for time"
        lines: list[Line] = [("vouched for by", who)]
    else:
        # The policy's time rule chose the proven time among the sources; the others are listed.
        best = next(
            (
                e
                for e in result.time_evidence
                if e.time == result.proven_time and e.source is result.time_source
            ),
            min(result.time_evidence, key=lambda e: e.time),
        )
        lines = [("vouched for by", best.detail), ("by the rule", _rule_words(result))]
        lines += [
            ("also", f"{e.time.isoformat()}: {e.detail}")
            for e in sorted(result.time_evidence, key=lambda e: e.time)
            if e is not best
        ]
    return lines


def _rule_words(result: VerificationResult) -> str:
    from ipnotary.sdk.policy import TimeRule

    if result.time_rule is TimeRule.TSA_QUORUM:
        return "tsa_quorum: the time-stamps of k of your policy's TSAs (the k-th earliest)"
    if result.time_rule is TimeRule.WITNESSES_AND_TSA:
        return "witnesses_and_tsa: the witness quorum and your policy's TSAs together (the later)"
    return "earliest: the earliest of any one source your policy trusts"


def _anchor_time_proven(result: VerificationResult) -> bool:
    from ipnotary.sdk.verify import TimeSource

    return any(e.source is TimeSource.CHAIN for e in result.time_evidence)


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
    print_section("Record", record_lines(result.certificate.record))
    print_section(
        "Proven",
        [
            ("existed by", f"{report['proven_time']} ({result.time_source.value})"),
            *_vouched_for_by(result),
            ("issued", str(result.certificate.issued_at)),
            (
                "issuer key",
                f"{result.issuer_key_id}"
                + (" (listed in your policy)" if result.issuer_trusted else ""),
            ),
        ],
    )
    log = (
        [
            ("log", str(result.log_origin)),
            ("position", f"entry {result.leaf_index} of {result.tree_size}"),
            ("witnesses", ", ".join(result.witnesses) or "none of your policy's"),
        ]
        if result.log_origin is not None
        else [("batch", f"entry {result.leaf_index} of {result.tree_size} (version 1, no log)")]
    )
    chain: list[Line] = [
        ("chain", f"{result.chain_id}, registry {result.contract}"),
        (
            "block",
            f"{result.block_number} at {report['anchored_at']} (batch {result.batch_id}; "
            + (
                "a trusted chain, checked on a node)"
                if report["anchored_at_proven"]
                else "the operator's statement, not proven: the proven time is under Proven)"
            ),
        ),
    ]
    if result.confirmations is not None:
        chain.append(("confirmations", str(result.confirmations)))
    print_section("Log and chain", [*log, *chain])
    content = (
        f"this file matches ({', '.join(result.digests_checked) or 'size'})"
        if result.content_checked
        else "no file given: only the certificate was checked"
    )
    print_section(
        "Checks",
        [
            ("content", content),
            ("on chain", "checked on a node" if result.chain_checked else "not consulted"),
            ("steps", ", ".join(result.steps)),
        ],
    )
    for note in result.notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    if not result.chain_checked:
        err.print(
            "[yellow]The chain was not consulted; pass --rpc (or --chain-data) to check the "
            "anchor on chain.[/yellow]"
        )
