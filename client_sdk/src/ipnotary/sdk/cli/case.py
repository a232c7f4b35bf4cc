"""``notary case``: arbitration cases (Art. 10): open one, invite parties, submit exhibits,
statements and trade-secret disclosures, share with the parties, close, export the bundle and its
evidence index, and verify a bundle offline under your trust policy (``docs/arbitration.md``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import (
    DEFAULT_URL,
    ChainDataOpt,
    JsonFile,
    KeyOpt,
    PolicyOpt,
    RpcOpt,
    UrlOpt,
)
from ipnotary.sdk.cli.output import EXIT_NOT_TRUSTED, err, fail, out, print_invalid

if TYPE_CHECKING:
    from ipnotary.sdk.arbitration import CasesClient
    from ipnotary.sdk.client import NotaryClient

__all__ = ["case_app"]

case_app = typer.Typer(
    no_args_is_help=True,
    help="Arbitration cases (Art. 10): evidence and disclosures for the tribunal, one bundle.",
)
TitleOpt = Annotated[str, typer.Option("--title", help="How the exhibit is named in the index")]


def _cases(client: NotaryClient) -> CasesClient:
    from ipnotary.sdk.arbitration import CasesClient

    return CasesClient(client)


def _submitted(answer: dict[str, object]) -> None:
    out.print_json(data={"id": answer["id"], "status": answer["status"]})


@case_app.command("open")
def open_case(file: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Open a case (an arbitrator): the JSON file holds commission, case_number, parties (label,
    name, id_type, id) and the tribunal's principal ids. Prints the case."""
    body = json.loads(file.read_text(encoding="utf-8"))
    answer = options.call(
        url,
        api_key,
        lambda c: _cases(c).open(
            commission=body["commission"],
            case_number=body["case_number"],
            parties=body["parties"],
            tribunal=body["tribunal"],
        ),
    )
    out.print_json(data=answer["case"])


@case_app.command("show")
def show(case_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """The case as you see it: parties, tribunal, the submissions and acts you may read."""
    out.print_json(data=options.call(url, api_key, lambda c: _cases(c).case(case_id)))


@case_app.command("list")
def list_cases(url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """The cases you are in."""
    out.print_json(data=options.call(url, api_key, lambda c: _cases(c).cases()))


@case_app.command("invite")
def invite(
    case_id: str,
    label: Annotated[str, typer.Option(help="The party's label, as the opening names it")],
    principal_id: Annotated[str, typer.Option(help="The principal that acts for the party")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Invite a party (the tribunal): it then sees the case's public acts."""
    _submitted(options.call(url, api_key, lambda c: _cases(c).invite(case_id, label, principal_id)))


@case_app.command("exhibit")
def exhibit(
    case_id: str,
    record_id: str,
    title: TitleOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Put one of your records before the tribunal: its certificate is the exhibit."""
    _submitted(
        options.call(
            url, api_key, lambda c: _cases(c).submit_exhibit(case_id, record_id, title=title)
        )
    )


@case_app.command("statement")
def statement(
    case_id: str,
    document: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, metavar="FILE", help="The document")
    ],
    title: TitleOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Submit a statement (a document, anchored by its digest)."""
    _submitted(
        options.call(
            url, api_key, lambda c: _cases(c).submit_statement(case_id, document, title=title)
        )
    )


@case_app.command("disclosure")
def disclosure(
    case_id: str,
    disclosure_id: Annotated[str, typer.Argument(help="A disclosure you made to a member")],
    title: TitleOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Put a trade-secret disclosure to a member of the tribunal before it ('notary secret
    disclose' first); only the tribunal's copy of the bundle holds the ciphertext."""
    _submitted(
        options.call(
            url, api_key, lambda c: _cases(c).submit_disclosure(case_id, disclosure_id, title=title)
        )
    )


@case_app.command("share")
def share(
    case_id: str,
    number: Annotated[int, typer.Argument(min=1, help="The submission's number")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Show a submission to every party (the tribunal)."""
    _submitted(options.call(url, api_key, lambda c: _cases(c).share(case_id, number)))


@case_app.command("close")
def close(
    case_id: str,
    note: Annotated[str, typer.Option(help="Why, or what was decided")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Close the case (the tribunal); no submission is taken after it."""
    _submitted(options.call(url, api_key, lambda c: _cases(c).close(case_id, note=note)))


@case_app.command("export")
def export(
    case_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to save the ZIP")],
    wait: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Wait up to SECONDS for every act's certificate"),
    ] = 0.0,
    index: Annotated[
        Path | None, typer.Option(help="Also save the evidence index (PDF) here")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Save the case's bundle: the tribunal's copy for the tribunal, yours for a party."""
    import time

    from ipnotary.sdk.errors import APIError, ClientSDKError

    deadline = time.monotonic() + wait
    with options.open_client(url, api_key) as client:
        while True:
            try:
                _cases(client).export(case_id, output)
                if index is not None:
                    _cases(client).evidence_index(case_id, index)
                break
            except APIError as exc:  # 409: an act is not certified yet
                if exc.status != 409 or time.monotonic() >= deadline:
                    fail(str(exc))
                time.sleep(0.5)
            except ClientSDKError as exc:
                fail(str(exc))
    err.print(f"saved {output}" + (f" and {index}" if index else ""))


@case_app.command("verify")
def verify(
    bundle: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, metavar="BUNDLE", help="A case's ZIP")
    ],
    policy: PolicyOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Check a case bundle offline under your policy: the manifest's signature, every act's
    certificate and their chain, every exhibit's certificate and bytes, the disclosed material.
    Exit 0 valid, 1 invalid (naming the exhibit), 2 could not check, 4 no policy."""
    from ipnotary.sdk.arbitration import verify_case_bundle
    from ipnotary.sdk.errors import VerificationError

    trust = options.load_policy(policy)
    if trust is None:
        err.print(
            "[yellow]NOT TRUSTED: give --policy; nothing in a bundle vouches for itself.[/yellow]"
        )
        raise typer.Exit(EXIT_NOT_TRUSTED)
    chain = options.open_chain_view(rpc, chain_data)
    try:
        result = verify_case_bundle(bundle, trust, chain=chain)
    except VerificationError as exc:
        print_invalid(exc)
        raise typer.Exit(1) from None
    finally:
        if chain is not None:
            chain.close()
    if as_json:
        out.print_json(
            data={
                "valid": True,
                "case_id": result.case_id,
                "commission": result.commission,
                "number": result.number,
                "copy": result.copy_for,
                "acts": result.acts,
                "withheld": list(result.withheld),
                "files_checked": result.files_checked,
                "bytes_checked": result.bytes_checked,
                "exhibits": [
                    {
                        "number": e.number,
                        "type": e.type,
                        "title": e.title,
                        "submitter": e.submitter,
                        "sha256": e.sha256,
                        "proven_time": e.proven_time.isoformat(),
                        "time_source": e.time_source.value,
                    }
                    for e in result.exhibits
                ],
            }
        )
        return
    out.print(
        f"[green]VALID[/green] case {result.number} ({result.commission}), the {result.copy_for}'s "
        f"copy: {result.acts} acts, {len(result.exhibits)} submissions, "
        f"{result.files_checked} files checked"
        + (
            f"; acts {', '.join(map(str, result.withheld))} not in this copy"
            if result.withheld
            else ""
        )
    )
    for e in result.exhibits:
        out.print(
            f"  {e.number}. {e.title} ({e.type}, {e.submitter}): in the log by "
            f"{e.proven_time.isoformat()} ({e.time_source.value})",
            soft_wrap=True,
        )
