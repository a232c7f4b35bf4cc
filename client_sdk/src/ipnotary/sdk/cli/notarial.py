"""``notary notarial``: the notary's own key, applications (records a holder shares with a
notary), attestations, refusals and revocations signed here with that key, a record's bundle,
and its verification under your trust policy (``docs/notarisation.md``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import (
    DEFAULT_URL,
    ChainDataOpt,
    KeyOpt,
    PolicyOpt,
    RpcOpt,
    UrlOpt,
)
from ipnotary.sdk.cli.output import EXIT_NOT_TRUSTED, err, fail, out, print_invalid, print_rows

if TYPE_CHECKING:
    from ipnotary.sdk.attestations import NotarialClient, NotarialKey
    from ipnotary.sdk.client import NotaryClient

__all__ = ["notarial_app"]

notarial_app = typer.Typer(
    no_args_is_help=True,
    help="Notarial attestations (Art. 11): signed with the notary's own key, verifiable by anyone.",
)
key_app = typer.Typer(no_args_is_help=True, help="The notary's signing key (kept on this machine).")
notarial_app.add_typer(key_app, name="key")

NotarialKeyOpt = Annotated[
    Path,
    typer.Option(
        "--key",
        exists=True,
        dir_okay=False,
        help="Your notarial key file ('notarial key generate')",
    ),
]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="The notarial date, YYYY-MM-DD (default: today, UTC)")
]


def _key(path: Path) -> NotarialKey:
    from ipnotary.sdk.attestations import NotarialKey
    from ipnotary.sdk.errors import FormatError

    try:
        return NotarialKey.load(path)
    except FormatError as exc:
        fail(str(exc), 2)


def _on(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date takes YYYY-MM-DD, not {text!r}", 2)


def _notarial(client: NotaryClient) -> NotarialClient:
    from ipnotary.sdk.attestations import NotarialClient

    return NotarialClient(client)


@key_app.command("generate")
def key_generate(
    office: Annotated[str, typer.Option(help="The notary office, as your policy entry names it")],
    notary: Annotated[str, typer.Option(help="Your name, as it appears on attestations")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Key file to write (0600)")],
    principal_id: Annotated[
        str | None,
        typer.Option(help="Your principal id (default: asked of the service with your API key)"),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Make a notarial signing key. The private key stays in the file; publish the public key
    (and its id) through your office, so verifiers can add it to their trust policies."""
    from ipnotary.sdk.attestations import NotarialKey

    if output.exists():
        fail(f"{output} exists; a key file is never overwritten", 2)
    if principal_id is None:
        me = options.call(url, api_key, lambda c: c._json("GET", "/v1/principals/me"))
        principal_id = str(me["id"])
    key = NotarialKey.generate(office=office, notary=notary, principal_id=principal_id)
    key.save(output)
    out.print_json(data=_public(key))


def _public(key: NotarialKey) -> dict[str, object]:
    return {
        "office": key.office,
        "notary": key.notary,
        "principal_id": key.principal_id,
        "key_id": key.key_id,
        "policy_entry": key.policy_entry().model_dump(mode="json", exclude_none=True),
    }


@key_app.command("show")
def key_show(key_file: NotarialKeyOpt) -> None:
    """The key's public half, its id, and the entry a verifier adds to its trust policy."""
    out.print_json(data=_public(_key(key_file)))


@key_app.command("register")
def key_register(key_file: NotarialKeyOpt, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Register the key's public half with the service (signed with the key: proof you hold it)."""
    key = _key(key_file)
    out.print_json(data=options.call(url, api_key, lambda c: _notarial(c).register_key(key)))


@notarial_app.command("trust")
def trust(
    policy: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The trust policy to add to")
    ],
    office: Annotated[str, typer.Option(help="The office the key belongs to")],
    public_key: Annotated[str, typer.Option(help="Its public key, as the office published it")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The policy to write")],
    name: Annotated[str, typer.Option(help="The notary's name (for people)")] = "",
    not_before: Annotated[str | None, typer.Option(help="Trusted from (RFC 3339, UTC)")] = None,
    not_after: Annotated[str | None, typer.Option(help="Trusted until (RFC 3339, UTC)")] = None,
) -> None:
    """Add a notary office's key to a trust policy. Take the key from the office itself (its
    letter, its website, in person), never from the service."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy

    current = options.load_policy(policy)
    assert current is not None
    document = json.loads(current.to_json_bytes())
    entry = {"office": office, "public_key": public_key, "name": name}
    entry |= {k: v for k, v in (("not_before", not_before), ("not_after", not_after)) if v}
    document["notaries"] = [*document.get("notaries", []), entry]
    try:
        updated = TrustPolicy.from_json(document)
    except FormatError as exc:
        fail(str(exc), 2)
    output.write_bytes(updated.to_json_bytes())
    key = updated.notaries[-1]
    err.print(f"trusting {key.office}'s key {key.key_id}")


@notarial_app.command("apply")
def apply(
    record_ids: Annotated[list[str], typer.Argument(metavar="RECORD_ID...", help="Your records")],
    to: Annotated[str, typer.Option("--to", help="The notary's principal id")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Apply for notarisation: share your records with a notary (who may then attest or refuse)."""
    rows = options.call(url, api_key, lambda c: [_notarial(c).share(r, to) for r in record_ids])
    print_rows(
        [{"record_id": r["record_id"], "notary": r["recipient_id"]} for r in rows],
        as_json=False,
        ids=("record_id", "notary"),
    )


@notarial_app.command("applications")
def applications(
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Records shared with you (a notary's applications), newest first."""
    rows = options.call(url, api_key, lambda c: _notarial(c).shares(received=True))
    print_rows(
        [
            {
                "record_id": r["record_id"],
                "kind": r["kind"],
                "applicant": r["owner_id"],
                "applicant_name": r["owner_name"],
                "shared_at": r["shared_at"],
            }
            for r in rows
        ],
        as_json=as_json,
        ids=("record_id", "applicant"),
    )


@notarial_app.command("attest")
def attest(
    record_ids: Annotated[list[str], typer.Argument(metavar="RECORD_ID...")],
    key_file: NotarialKeyOpt,
    number: Annotated[str, typer.Option("--number", help="Notarial certificate number")],
    template: Annotated[
        str,
        typer.Option(
            help="evidence_preservation, web_capture_authenticity, file_content_at_time or "
            "custom (with --zh and --en)"
        ),
    ] = "evidence_preservation",
    zh: Annotated[str | None, typer.Option(help="A custom statement, in Chinese")] = None,
    en: Annotated[str | None, typer.Option(help="A custom statement, in English")] = None,
    on: DateOpt = None,
    policy: PolicyOpt = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Examine the records (their certificates, under your policy), sign the attestation with
    your key and anchor it. Prints the attestation's record id and the statement signed."""
    from ipnotary.sdk.attestations import Template

    try:
        chosen = Template(template)
    except ValueError:
        fail(f"unknown template {template!r}; one of {', '.join(t.value for t in Template)}", 2)
    key = _key(key_file)
    doc, answer = options.call(
        url,
        api_key,
        lambda c: _notarial(c).attest(
            key, record_ids, certificate_number=number, template=chosen, on=_on(on), zh=zh, en=en
        ),
        policy=options.load_policy(policy),
    )
    out.print_json(
        data={"id": answer["id"], "certificate_number": number, "statement": doc.statement.en}
    )


@notarial_app.command("refuse")
def refuse(
    record_ids: Annotated[list[str], typer.Argument(metavar="RECORD_ID...")],
    key_file: NotarialKeyOpt,
    reason: Annotated[list[str], typer.Option("--reason", help="A reason (repeat for each)")],
    on: DateOpt = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Refuse an application, with your reasons (signed with your key and anchored)."""
    key = _key(key_file)
    _, answer = options.call(
        url, api_key, lambda c: _notarial(c).refuse(key, record_ids, reasons=reason, on=_on(on))
    )
    out.print_json(data={"id": answer["id"], "reasons": reason})


@notarial_app.command("revoke")
def revoke(
    attestation_id: str,
    key_file: NotarialKeyOpt,
    reason: Annotated[str, typer.Option(help="Why the attestation is withdrawn")],
    on: DateOpt = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Revoke an attestation of your office (signed with your key and anchored); its bundle then
    verifies as revoked, and its credential's status bit is set."""
    key = _key(key_file)
    _, answer = options.call(
        url,
        api_key,
        lambda c: _notarial(c).revoke(key, attestation_id, reason=reason, on=_on(on)),
    )
    out.print_json(data={"id": answer["id"], "revokes": attestation_id, "reason": reason})


@notarial_app.command("bundle")
def bundle(
    record_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to save the bundle")],
    wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Wait up to SECONDS until no attestation on it is pending"
        ),
    ] = 0.0,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Save a record's certificate bundle: its certificate and the attestations on it (one whose
    certificate is not ready yet is listed as pending)."""
    import time

    from ipnotary.sdk.canonical import canonical_json
    from ipnotary.sdk.errors import APIError, ClientSDKError

    deadline = time.monotonic() + wait
    with options.open_client(url, api_key) as client:
        while True:
            try:
                document = _notarial(client).bundle(record_id)
            except APIError as exc:  # 409: the record itself is not anchored yet
                if exc.status != 409 or time.monotonic() >= deadline:
                    fail(str(exc))
                time.sleep(0.5)
                continue
            except ClientSDKError as exc:
                fail(str(exc))
            if not document["pending"] or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    output.write_bytes(canonical_json(document))
    err.print(f"{len(document['attestations'])} attestation(s); {len(document['pending'])} pending")


@notarial_app.command("verify")
def verify(
    bundle_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, metavar="BUNDLE", help="A saved bundle")
    ],
    policy: PolicyOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Verify a record's bundle under your policy: the record's certificate, then each
    attestation's certificate, the notary's signature and key. Exit 0 notarised, 1 invalid,
    revoked or not notarised, 2 could not check, 4 no policy."""
    from ipnotary.sdk.attestations import verify_attestations
    from ipnotary.sdk.errors import FormatError, VerificationError

    trust = options.load_policy(policy)
    if trust is None:
        err.print(
            "[yellow]NOT TRUSTED: notary keys are trusted only as your policy lists them; "
            "give --policy.[/yellow]"
        )
        raise typer.Exit(EXIT_NOT_TRUSTED)
    chain = options.open_chain_view(rpc, chain_data)
    try:
        result = verify_attestations(bundle_file.read_bytes(), trust, chain=chain)
    except VerificationError as exc:
        print_invalid(exc)
        raise typer.Exit(1) from None
    except FormatError as exc:
        fail(str(exc), 2)
    finally:
        if chain is not None:
            chain.close()
    if as_json:
        out.print_json(
            data={
                "record_id": result.record.record_id,
                "notarised": result.notarised,
                "attestations": [
                    {
                        "id": a.attestation_id,
                        "status": a.status,
                        "office": a.office,
                        "notary": a.notary,
                        "certificate_number": a.certificate_number,
                        "date": a.date,
                        "statement": a.statement_en,
                        "proven_time": a.proven_time.isoformat(),
                        "revoked_at": a.revoked_at.isoformat() if a.revoked_at else None,
                        "revocation_date": a.revocation_date,
                        "revocation_reason": a.revocation_reason,
                    }
                    for a in result.attestations
                ],
                "pending": list(result.pending),
            }
        )
    else:
        out.print(f"record {result.record.record_id}: certificate valid")
        for a in result.attestations:
            colour = "green" if a.status == "valid" else "red"
            out.print(f"[{colour}]{a.summary()}[/{colour}]", soft_wrap=True)
        if not result.attestations:
            out.print("[red]NOT NOTARISED[/red]: no attestation on this record")
    if not result.notarised:
        raise typer.Exit(1)
