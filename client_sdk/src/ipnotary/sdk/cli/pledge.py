"""``notary pledge``: register, amend, release and enforce IP pledges (the registrar), sign the
pledgee's consent (the pledgee, with a key of its own), and check whether an asset is pledged
under your trust policy."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import (
    DEFAULT_URL,
    AsOfOpt,
    ChainDataOpt,
    JsonFile,
    KeyOpt,
    PasswordOpt,
    PolicyOpt,
    RpcOpt,
    UrlOpt,
)
from ipnotary.sdk.cli.output import (
    Line,
    end_failed_check,
    err,
    exit_if_untrusted,
    fail,
    out,
    print_section,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ipnotary.sdk.client import NotaryClient

__all__ = ["pledge_app"]

pledge_app = typer.Typer(no_args_is_help=True, help="IP pledge registrations (Art. 27).")

PledgeeKeyOpt = Annotated[
    Path,
    typer.Option("--key", help="The pledgee's private signing key file ('notary pledge keygen')"),
]
ConsentOpt = Annotated[
    Path,
    typer.Option(
        "--consent",
        exists=True,
        dir_okay=False,
        help="The pledgee's signed consent ('notary pledge consent' on the pledgee's side)",
    ),
]
# What release and enforce send: the register's JSON answer, and the consent document it signs.
Close = Callable[["NotaryClient", int, dict[str, Any]], dict[str, Any]]


@pledge_app.command("register")
def pledge_register(
    file: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            help="Same on every retry of this registration, new for a new pledge "
            "(default: the file's SHA-256, so re-running the command answers with the first "
            "registration)",
        ),
    ] = None,
) -> None:
    """Register a pledge: --file holds {"asset": {...}, "terms": {...}} (see docs/pledges.md); the
    terms name the pledgee's key (pledgee_key, from 'notary pledge keygen')."""
    import hashlib

    raw = file.read_bytes()
    body = json.loads(raw)
    key = idempotency_key or f"sha256-{hashlib.sha256(raw).hexdigest()}"
    out.print_json(
        data=options.call(
            url,
            api_key,
            lambda c: c.register_pledge(body["asset"], body["terms"], idempotency_key=key),
        )
    )


@pledge_app.command("amend")
def pledge_amend(
    pledge_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The pledge's id in the register", show_default=False),
    ],
    file: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Replace a pledge's terms (--file holds the new terms; the parties and pledgee key cannot
    change)."""
    terms = json.loads(file.read_text())
    out.print_json(data=options.call(url, api_key, lambda c: c.amend_pledge(pledge_id, terms)))


def _load_pledgee_key(path: Path, password: str | None) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password.encode() if password else None)
    except (OSError, ValueError, TypeError) as exc:
        fail(f"cannot load the signing key from {path}: {exc}", 2)
    if not isinstance(key, Ed25519PrivateKey):
        fail(f"{path} holds no Ed25519 key", 2)
    return key


@pledge_app.command("keygen")
def pledge_keygen(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Private key file to create (0600)")
    ],
    password: PasswordOpt = None,
) -> None:
    """Create a pledgee's Ed25519 signing key. Prints the public key: put it in the pledge's terms
    as pledgee_key. Releases and enforcements then need a consent signed with this key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        KeySerializationEncryption,
        NoEncryption,
        PrivateFormat,
    )

    from ipnotary.sdk.signing import public_key_to_b64

    key = Ed25519PrivateKey.generate()
    encryption: KeySerializationEncryption = (
        BestAvailableEncryption(password.encode()) if password else NoEncryption()
    )
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{output} exists; choose another file", 2)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    out.print_json(data={"pledgee_key": public_key_to_b64(key.public_key())})
    err.print(f"private key written to {output}; keep it: it alone consents to releases")


@pledge_app.command("consent")
def pledge_consent(
    pledge_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The pledge's id in the register", show_default=False),
    ],
    action: Annotated[str, typer.Option(help="release or enforce")],
    key: PledgeeKeyOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the consent")],
    party_id_type: Annotated[
        str | None,
        typer.Option(
            "--party-id-type",
            help="Your id type as the pledgee (default: as the register shows it)",
        ),
    ] = None,
    party_id: Annotated[
        str | None,
        typer.Option(
            "--party-id", help="Your id as the pledgee (default: as the register shows it)"
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    chain_id: Annotated[
        int | None, typer.Option(help="Sign offline: the pledge's chain id")
    ] = None,
    contract: Annotated[str | None, typer.Option(help="Sign offline: its registry address")] = None,
    password: PasswordOpt = None,
) -> None:
    """As the pledgee: sign your consent to release (or your demand to enforce) one pledge. The
    consent names the pledge, its registry and chain, so it is good for nothing else; hand the
    file to the pledge registrar ('notary pledge release ID --consent FILE')."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.pledges import pledge_act, sign_pledge_act

    signer = _load_pledgee_key(key, password)
    if None in (chain_id, contract, party_id_type, party_id):
        view = options.call(url, "", lambda c: c.pledge(pledge_id))
        pledgee = view["terms"]["pledgee"]
        chain_id = view["chain_id"] if chain_id is None else chain_id
        contract = view["contract"] if contract is None else contract
        party_id_type = pledgee["id_type"] if party_id_type is None else party_id_type
        party_id = pledgee["id"] if party_id is None else party_id
        err.print(
            f"pledge {pledge_id}: {json.dumps(view['asset'], ensure_ascii=False)}, pledgee "
            f"{pledgee['name']}, status {view['status']}",
            soft_wrap=True,
        )
    assert chain_id is not None and contract is not None
    assert party_id_type is not None and party_id is not None
    try:
        act = pledge_act(
            chain_id=chain_id,
            contract=contract,
            pledge_id=pledge_id,
            action=action,
            party={"id_type": party_id_type, "id": party_id},
        )
    except FormatError as exc:
        fail(str(exc), 2)
    output.write_text(json.dumps(sign_pledge_act(signer, act), indent=2) + "\n")
    out.print_json(data=act)


def _close_pledge(close: Close, pledge_id: int, consent: Path, url: str, api_key: str) -> None:
    signed = json.loads(consent.read_text())
    out.print_json(data=options.call(url, api_key, lambda c: close(c, pledge_id, signed)))


@pledge_app.command("release")
def pledge_release(
    pledge_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The pledge's id in the register", show_default=False),
    ],
    consent: ConsentOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Release a pledge you registered, with the pledgee's signed consent."""
    from ipnotary.sdk.client import NotaryClient

    _close_pledge(NotaryClient.release_pledge, pledge_id, consent, url, api_key)


@pledge_app.command("enforce")
def pledge_enforce(
    pledge_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The pledge's id in the register", show_default=False),
    ],
    consent: ConsentOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Record enforcement of a pledge you registered, on the pledgee's signed demand."""
    from ipnotary.sdk.client import NotaryClient

    _close_pledge(NotaryClient.enforce_pledge, pledge_id, consent, url, api_key)


@pledge_app.command("status")
def pledge_status(
    asset_type: Annotated[
        str,
        typer.Option(metavar="TYPE", help="The asset's kind: patent, trademark or copyright"),
    ],
    number: Annotated[
        str,
        typer.Option(
            metavar="NUMBER", help="Its registration number, e.g. ZL201710601862.3 for a patent"
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    as_of: AsOfOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON")] = False,
) -> None:
    """Is the asset pledged (as of a time), and to whom; verified under your trust policy, on chain
    with --rpc/--chain-data. Exit 0 = verified, 1 = invalid, 2 = could not check, 4 = not trusted
    (no policy given, or your policy does not list the register's key)."""
    from ipnotary.sdk.chain_view import open_pledge_reader
    from ipnotary.sdk.errors import VerificationError
    from ipnotary.sdk.pledges import verify_pledge_status

    trust = options.load_policy(policy)
    source = options.chain_source(rpc, chain_data)
    # The service's signed answer as JSON (verify=False: checked below, against the chain too).
    doc: dict[str, Any] = options.call(
        url, "", lambda c: c.pledge_status(asset_type, number, as_of=as_of, verify=False)
    )
    # An unreadable chain or a missing dependency is a ChainReadError: one line, exit 2 (run()).
    reader = (
        None
        if source is None
        else open_pledge_reader(
            registry_address=doc["chain"]["contract"],
            rpc_url=source.rpc_url,
            embedded_dir=source.embedded_dir,
        )
    )
    try:
        verified = verify_pledge_status(doc, reader=reader, policy=trust)
    except VerificationError as exc:
        end_failed_check(exc, as_json=as_json)
    finally:
        if reader is not None:
            reader.close()
    if as_json:
        out.print_json(
            data={
                "asset": verified.asset_key,
                "as_of": verified.as_of.isoformat(),
                "pledged": verified.pledged,
                "pledge_id": verified.pledge_id,
                "pledgee": verified.pledgee,
                "pledgor": verified.pledgor,
                "block_number": verified.block_number,
                "chain_checked": verified.chain_checked,
                "trusted": trust is not None,
            }
        )
    else:
        lines: list[Line] = [
            ("asset", verified.asset_key),
            ("as of", f"{verified.as_of.isoformat()} (the chain at block {verified.block_number})"),
            ("pledged", "yes" if verified.pledged else "no"),
        ]
        if verified.pledged:
            lines += [
                ("pledge", str(verified.pledge_id)),
                ("pledgor", _party(verified.pledgor)),
                ("pledgee", _party(verified.pledgee)),
            ]
            terms = verified.terms or {}
            for name in ("secured_amount", "currency", "term_start", "term_end"):
                if terms.get(name):
                    lines.append((name.replace("_", " "), str(terms[name])))
            for name in ("contract_sha256", "valuation_report_sha256"):
                if terms.get(name):
                    lines.append(
                        (name.replace("_", " ").replace(" sha256", " SHA-256"), terms[name])
                    )
        print_section("Pledge status", lines)
        print_section(
            "Checks",
            [
                (
                    "on chain",
                    "checked on a node" if verified.chain_checked else "not consulted",
                ),
                ("signed by", "a register key your policy lists" if trust else "not checked"),
            ],
        )
    exit_if_untrusted(trust)


def _party(party: dict[str, Any] | None) -> str:
    if not party:
        return "-"
    name = party.get("name", "")
    return f"{name} ({party['id_type']}:{party['id']})" if party.get("id_type") else str(name)
