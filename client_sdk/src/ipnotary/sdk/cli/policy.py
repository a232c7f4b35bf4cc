"""``notary policy``: build a trust policy from keys the verifier obtained itself (``init``),
show every key in the form its owner publishes it so that a person compares them by eye
(``show``), read and write the C2SP tlog-policy text (``import``, ``export``), and fetch the
policy a service suggests (``fetch``, a starting point only)."""

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
        # The public key as the service prints it (GET /v1/trust, base64url), and its key id.
        rows.append(
            {
                "trusts": "issuer",
                "what": f"{issuer.name or 'issuer'} ({window}; key id {issuer.key_id})",
                "key": issuer.public_key,
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
    rule = policy.time_rule.value
    if rule != "earliest":
        rule += f" ({policy.tsa_quorum} of {len(policy.timestamp_authorities)} TSAs)"
    rows.append({"trusts": "time rule", "what": rule, "key": ""})
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


def _issuer_entry(text: str) -> dict[str, str]:
    """``KEY[,from=TIME][,to=TIME]``: an issuer's public key (base64url, as the service prints
    it) and its validity window."""
    key, *window = text.split(",")
    entry = {"public_key": key.strip()}
    for part in window:
        name, sep, value = part.partition("=")
        field = {"from": "not_before", "to": "not_after"}.get(name.strip())
        if not sep or field is None:
            raise typer.BadParameter(
                f"expected KEY[,from=TIME][,to=TIME], got {text!r}", param_hint="--issuer"
            )
        entry[field] = value.strip()
    return entry


def _tsa_entry(text: str) -> dict[str, object]:
    """``[NAME=]FILE``: a TSA by its root certificate(s), PEM, from a file the verifier has."""
    name, sep, path = text.rpartition("=")
    file = Path(path if sep else text)
    try:
        pem = file.read_text("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}", param_hint="--tsa-root") from exc
    marker = "-----END CERTIFICATE-----"
    roots = [p.strip() + "\n" + marker + "\n" for p in pem.split(marker) if p.strip()]
    return {"name": (name if sep else "") or file.stem, "certificates": roots}


def _chain_entry(text: str) -> dict[str, object]:
    """``CHAIN_ID:GENESIS_HASH:REGISTRY[:CONFIRMATIONS]``: a chain trusted for time."""
    from ipnotary.sdk.numerals import parse_decimal

    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise typer.BadParameter(
            "expected CHAIN_ID:GENESIS_HASH:REGISTRY[:CONFIRMATIONS]", param_hint="--chain"
        )
    try:
        entry: dict[str, object] = {
            "chain_id": parse_decimal(parts[0], what="a chain id"),
            "genesis_hash": parts[1].lower(),
            "registry": parts[2],
        }
        if len(parts) == 4:
            entry["min_confirmations"] = parse_decimal(parts[3], what="a confirmation count")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--chain") from exc
    return entry


def _witness_entry(text: str) -> dict[str, str]:
    name, sep, vkey = text.partition("=")
    if not sep or not name.strip() or not vkey.strip():
        raise typer.BadParameter(f"expected NAME=VKEY, got {text[:60]!r}", param_hint="--witness")
    return {"name": name.strip(), "key": vkey.strip()}


def _build(document: dict[str, object], output: Path, *, force: bool) -> TrustPolicy:
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy

    try:
        policy = TrustPolicy.from_json(document)
    except FormatError as exc:
        fail(str(exc), 2)
    if output.exists() and not force:
        fail(f"{output} exists; pass --force to replace it", 2)
    output.write_bytes(policy.to_json_bytes())
    return policy


IssuerOpt = Annotated[
    list[str],
    typer.Option(
        "--issuer",
        metavar="KEY[,from=TIME][,to=TIME]",
        help="An issuer key (base64url, as the operator publishes it), with its window",
    ),
]
TsaOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tsa-root", metavar="[NAME=]FILE", help="A TSA's root certificate(s), PEM (repeat)"
    ),
]
ChainOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--chain",
        metavar="ID:GENESIS:REGISTRY[:CONF]",
        help="A public chain trusted for time: chain id, genesis block hash, registry address",
    ),
]
TimeRuleOpt = Annotated[
    str,
    typer.Option(
        "--time-rule",
        metavar="earliest|tsa_quorum|witnesses_and_tsa",
        help="Which sources decide the proven time (docs/trust.md)",
    ),
]
OutputOpt = Annotated[Path, typer.Option("-o", "--output", help="Where to write the policy")]


@policy_app.command("init")
def policy_init(
    output: OutputOpt,
    log_key: Annotated[
        list[str],
        typer.Option(
            "--log-key", metavar="VKEY", help="The log's vkey, as the operator publishes it"
        ),
    ],
    issuer: IssuerOpt,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness", metavar="NAME=VKEY", help="A witness's vkey, as that witness publishes it"
        ),
    ] = None,
    quorum: Annotated[
        int, typer.Option("--quorum", metavar="K", help="How many witnesses must cosign")
    ] = 0,
    tsa_root: TsaOpt = None,
    chain: ChainOpt = None,
    time_rule: TimeRuleOpt = "earliest",
    tsa_quorum: Annotated[
        int, typer.Option("--tsa-quorum", metavar="K", help="TSAs the time rule needs")
    ] = 1,
    name: Annotated[str, typer.Option("--name", help="What the policy is, for people")] = "",
    operator_time: Annotated[
        bool,
        typer.Option(
            "--operator-time",
            help="Accept certificates whose time only the operator attests (a demo deployment)",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file")] = False,
) -> None:
    """Build a trust policy from keys you obtained yourself, from their owners: the log's and
    issuers' from the operator's statement, each witness's from that witness, TSA roots from the
    time service. Nothing is fetched."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.note import NoteVerifier

    try:
        origin = NoteVerifier.from_vkey(log_key[0]).name
    except FormatError as exc:
        fail(f"--log-key: {exc}", 2)
    document: dict[str, object] = {
        "name": name,
        "log": {"origin": origin, "keys": log_key},
        "issuers": [_issuer_entry(i) for i in issuer],
        "witnesses": {"quorum": quorum, "members": [_witness_entry(w) for w in witness or []]},
        "timestamp_authorities": [_tsa_entry(t) for t in tsa_root or []],
        "chains": [_chain_entry(c) for c in chain or []],
        "require_independent_time": not operator_time,
        "time_rule": time_rule,
        "tsa_quorum": tsa_quorum,
    }
    _print_policy(_build(document, output, force=force))
    err.print(f"Written to {output}. Compare each key above with its owner's publication.")


@policy_app.command("export")
def policy_export(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write (default: stdout)")
    ] = None,
) -> None:
    """Write the policy's log, witnesses and quorum as a C2SP tlog-policy file (issuers, TSAs,
    chains and the time rule have no place in it)."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy, format_tlog_policy

    try:
        text = format_tlog_policy(TrustPolicy.load(file))
    except FormatError as exc:
        fail(str(exc), 2)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    err.print(
        "[yellow]Not exported (tlog-policy has no place for them): issuer keys, TSAs, "
        "chains, the time rule.[/yellow]"
    )


@policy_app.command("import")
def policy_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A tlog-policy file")],
    output: OutputOpt,
    issuer: IssuerOpt,
    tsa_root: TsaOpt = None,
    chain: ChainOpt = None,
    time_rule: TimeRuleOpt = "earliest",
    tsa_quorum: Annotated[
        int, typer.Option("--tsa-quorum", metavar="K", help="TSAs the time rule needs")
    ] = 1,
    name: Annotated[str, typer.Option("--name", help="What the policy is, for people")] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file")] = False,
) -> None:
    """Make a trust policy from a C2SP tlog-policy file (log, witnesses, quorum) and the issuer
    keys (and TSAs, chains) it cannot hold."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.note import NoteVerifier
    from ipnotary.sdk.policy import parse_tlog_policy

    try:
        tlog = parse_tlog_policy(file.read_bytes())
        origins = {NoteVerifier.from_vkey(k).name for k in tlog.log_keys}
    except (FormatError, OSError) as exc:
        fail(f"{file}: {exc}", 2)
    if len(origins) != 1:
        fail(f"{file}: a trust policy here trusts one log; the file names {len(origins)}", 2)
    for ignored in tlog.ignored:
        err.print(f"[yellow]witness {ignored} is not in the quorum and is left out[/yellow]")
    document: dict[str, object] = {
        "name": name,
        "log": {"origin": origins.pop(), "keys": list(tlog.log_keys)},
        "issuers": [_issuer_entry(i) for i in issuer],
        "witnesses": {
            "quorum": tlog.quorum,
            "members": [w.model_dump() for w in tlog.witnesses],
        },
        "timestamp_authorities": [_tsa_entry(t) for t in tsa_root or []],
        "chains": [_chain_entry(c) for c in chain or []],
        "time_rule": time_rule,
        "tsa_quorum": tsa_quorum,
    }
    _print_policy(_build(document, output, force=force))
    err.print(f"Written to {output}. Compare each key above with its owner's publication.")
