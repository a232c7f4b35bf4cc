"""The verifier's trust policy: whom a verifier trusts, for what, obtained out of band.

A certificate proves nothing by itself: anyone can sign a self-consistent document with their own
keys and their own chain. What makes it evidence is that the verifier checks it against parties it
chose to trust, the way Sigstore verifiers hold a ``trusted_root.json`` and Certificate
Transparency clients a log list. :class:`TrustPolicy` holds:

* ``log``: the log's origin and its checkpoint key(s) (C2SP signed-note verifier keys);
* ``issuers``: the service keys that sign certificates, each with a validity window (rotation);
* ``witnesses``: each witness's name and cosignature key, and the ``quorum`` (k of n) of them
  that must have cosigned a checkpoint (C2SP tlog-policy's threshold, written as JSON);
* ``timestamp_authorities``: RFC 3161 TSAs by their trusted root certificates;
* ``chains``: chains trusted as a source of time (chain id, genesis block hash, registry);
* ``document_signers``: the X.509 certificates whose PAdES signatures on PDF certificates it
  trusts (``ipnotary.sdk.pdf``; optional, so policies written before PDFs still load);
* ``notaries``: notary offices' Ed25519 keys, each with a validity window, whose notarial
  attestations it trusts (``ipnotary.sdk.attestations``; optional, so older policies still load);
* ``require_independent_time``: whether a certificate whose time nobody but the operator
  vouches for may verify at all (a policy for the embedded demo deployment says no);
* ``time_rule`` (with ``tsa_quorum``): which sources must agree on the proven time
  (:class:`TimeRule`): ``earliest``, the earliest of any one trusted source (the default, so
  that any one trusted TSA or chain is enough); ``tsa_quorum``, the k-th earliest of k of the
  policy's TSAs; ``witnesses_and_tsa``, the later of the witness quorum's time and the TSAs'
  (both must vouch);
* ``operator_attested_log_size``: the log's first N entries were certified before the
  deployment had witnesses or TSAs (an upgrade from the embedded default): certificates on a
  checkpoint of at most that size verify with the operator's time alone, reported as such,
  whatever the quorum and ``require_independent_time`` say for every later one (optional).

``docs/trust.md`` says how a verifier assembles one (witness keys from the witnesses themselves,
TSA roots from the national time service, the log key from the operator's published documents).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.certificate import B64, Address, Hex0x32, Origin, Timestamp, parse_time
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.note import AnyCosignatureVerifier, NoteVerifier, cosignature_verifier_from_vkey
from ipnotary.sdk.numerals import parse_decimal
from ipnotary.sdk.signing import key_id, public_key_from_b64

__all__ = [
    "POLICY_MEDIA_TYPE",
    "DocumentSigner",
    "IssuerKey",
    "LogPolicy",
    "NotaryKey",
    "TimeRule",
    "TimestampAuthority",
    "TlogPolicy",
    "TrustPolicy",
    "TrustedChain",
    "Witness",
    "WitnessPolicy",
    "format_tlog_policy",
    "parse_tlog_policy",
]

POLICY_MEDIA_TYPE: Final = "application/vnd.ipnotary.trust-policy+json;version=1"
MAX_POLICY_BYTES = 512 * 1024

VKey = Annotated[str, StringConstraints(min_length=10, max_length=400)]
# A witness's vkey may hold an ML-DSA-44 key (1312 bytes, about 1,750 characters of base64).
WitnessVKey = Annotated[str, StringConstraints(min_length=10, max_length=2400)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Pem = Annotated[str, StringConstraints(min_length=50, max_length=16_384)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRule(StrEnum):
    """Which trusted sources decide the time a record provably existed by."""

    # The earliest time of any one source the policy trusts: the witness quorum's k-th earliest
    # cosignature, one trusted TSA's genTime, a trusted chain's block time. Any one of them, if
    # dishonest, can backdate alone.
    EARLIEST = "earliest"
    # The k-th earliest genTime of ``tsa_quorum`` distinct TSAs of the policy (each TSA counted
    # once, at its earliest token): fewer than k dishonest TSAs cannot backdate.
    TSA_QUORUM = "tsa_quorum"
    # The later of the witness quorum's time and the TSAs' (as for ``tsa_quorum``): backdating
    # takes k witnesses and the TSAs together.
    WITNESSES_AND_TSA = "witnesses_and_tsa"


class LogPolicy(_Strict):
    """The log: its origin and the keys that may sign its checkpoints (named as the origin)."""

    origin: Origin
    keys: Annotated[list[VKey], Field(min_length=1, max_length=8)]

    @model_validator(mode="after")
    def _keys(self) -> LogPolicy:
        for vkey in self.keys:
            verifier = NoteVerifier.from_vkey(vkey)
            if verifier.name != self.origin:
                raise ValueError(
                    f"log key {verifier.name!r} is not named as the origin {self.origin!r}"
                )
        return self

    @functools.cached_property
    def verifiers(self) -> tuple[NoteVerifier, ...]:
        return tuple(NoteVerifier.from_vkey(k) for k in self.keys)


class IssuerKey(_Strict):
    """A key that signs certificates, trusted for certificates issued within its window."""

    public_key: B64
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    not_before: Timestamp | None = None
    not_after: Timestamp | None = None

    @model_validator(mode="after")
    def _usable(self) -> IssuerKey:
        public_key_from_b64(self.public_key)
        if (
            self.not_before
            and self.not_after
            and parse_time(self.not_after) < parse_time(self.not_before)
        ):
            raise ValueError("not_after is before not_before")
        return self

    @functools.cached_property
    def key_id(self) -> str:
        return key_id(public_key_from_b64(self.public_key))

    def covers(self, moment: datetime) -> bool:
        return (self.not_before is None or parse_time(self.not_before) <= moment) and (
            self.not_after is None or moment <= parse_time(self.not_after)
        )


class Witness(_Strict):
    """A witness by its cosignature verifier key: Ed25519 ``cosignature/v1`` (type 0x04) or
    ML-DSA-44 (type 0x06, tlog-cosignature's post-quantum cosignature); ``name`` is for people."""

    name: Name
    key: WitnessVKey

    @functools.cached_property
    def verifier(self) -> AnyCosignatureVerifier:
        return cosignature_verifier_from_vkey(self.key)


class WitnessPolicy(_Strict):
    quorum: Annotated[int, Field(ge=0, le=32)] = 0
    members: Annotated[list[Witness], Field(max_length=32)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> WitnessPolicy:
        if self.quorum > len(self.members):
            raise ValueError(
                f"a quorum of {self.quorum} needs at least that many witnesses, "
                f"{len(self.members)} listed"
            )
        # By public key, not (name, key id): the key id is derived from the name, and an Ed25519
        # cosignature does not sign the name, so one key under two names would let one witness's
        # cosignature, relabelled, count twice towards the quorum.
        seen: dict[bytes, str] = {}
        for w in self.members:
            key = w.verifier.public_key_bytes
            if key in seen:
                raise ValueError(
                    f"witnesses {seen[key]!r} and {w.name!r} have the same public key: one key "
                    "is one witness, and counts once"
                )
            seen[key] = w.name
        return self


class TimestampAuthority(_Strict):
    """An RFC 3161 TSA, trusted through its root certificate(s) (PEM)."""

    name: Name
    certificates: Annotated[list[Pem], Field(min_length=1, max_length=8)]

    @functools.cached_property
    def roots(self) -> tuple[x509.Certificate, ...]:
        return tuple(x509.load_pem_x509_certificate(p.encode("ascii")) for p in self.certificates)

    @model_validator(mode="after")
    def _parse(self) -> TimestampAuthority:
        try:
            _ = self.roots
        except ValueError as exc:
            raise ValueError(
                f"timestamp authority {self.name!r}: not a PEM certificate: {exc}"
            ) from exc
        return self


class DocumentSigner(_Strict):
    """A certificate whose signatures on PDF certificates are trusted within its own validity."""

    name: Name
    certificate: Pem

    @functools.cached_property
    def x509(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate.encode("ascii"))

    @model_validator(mode="after")
    def _parse(self) -> DocumentSigner:
        try:
            _ = self.x509
        except ValueError as exc:
            raise ValueError(
                f"document signer {self.name!r}: not a PEM certificate: {exc}"
            ) from exc
        return self


class NotaryKey(_Strict):
    """A notary office's key, trusted for notarial acts (attestations, refusals, revocations)
    signed within its window, as :class:`IssuerKey` is for certificates."""

    office: Name
    public_key: B64
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    not_before: Timestamp | None = None
    not_after: Timestamp | None = None

    @model_validator(mode="after")
    def _usable(self) -> NotaryKey:
        public_key_from_b64(self.public_key)
        if (
            self.not_before
            and self.not_after
            and parse_time(self.not_after) < parse_time(self.not_before)
        ):
            raise ValueError("not_after is before not_before")
        return self

    @functools.cached_property
    def key_id(self) -> str:
        return key_id(public_key_from_b64(self.public_key))

    def covers(self, moment: datetime) -> bool:
        return (self.not_before is None or parse_time(self.not_before) <= moment) and (
            self.not_after is None or moment <= parse_time(self.not_after)
        )


class TrustedChain(_Strict):
    """A chain whose block times the verifier trusts, with the registry the log anchors in."""

    chain_id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    genesis_hash: Hex0x32
    registry: Address
    min_confirmations: Annotated[int, Field(ge=1, le=100_000)] = 1


class TrustPolicy(_Strict):
    """Everything a verifier trusts. Load with :meth:`load` or :meth:`from_json`."""

    media_type: Literal["application/vnd.ipnotary.trust-policy+json;version=1"] = POLICY_MEDIA_TYPE
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    log: LogPolicy | None = None
    issuers: Annotated[list[IssuerKey], Field(min_length=1, max_length=32)]
    witnesses: WitnessPolicy = Field(default_factory=WitnessPolicy)
    timestamp_authorities: Annotated[list[TimestampAuthority], Field(max_length=16)] = Field(
        default_factory=list
    )
    chains: Annotated[list[TrustedChain], Field(max_length=16)] = Field(default_factory=list)
    document_signers: Annotated[list[DocumentSigner], Field(max_length=16)] = Field(
        default_factory=list
    )
    notaries: Annotated[list[NotaryKey], Field(max_length=64)] = Field(default_factory=list)
    require_independent_time: bool = True
    max_clock_skew_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300
    notice: Annotated[str, StringConstraints(max_length=1000)] | None = None
    time_rule: TimeRule = TimeRule.EARLIEST
    tsa_quorum: Annotated[int, Field(ge=1, le=16)] = 1
    # Earlier records keep the certificates they had when witnesses were turned on: the policy
    # says up to which log size the operator's word is all there is (docs/trust.md, Turning
    # witnesses on).
    operator_attested_log_size: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None

    @model_validator(mode="after")
    def _meaningful(self) -> TrustPolicy:
        if self.witnesses.quorum and self.log is None:
            raise ValueError("a witness quorum needs the log it witnesses")
        if self.operator_attested_log_size is not None and self.log is None:
            raise ValueError("operator_attested_log_size needs the log it counts entries of")
        tsas = len(self.timestamp_authorities)
        if self.time_rule is not TimeRule.EARLIEST and self.tsa_quorum > tsas:
            raise ValueError(
                f"time rule {self.time_rule.value} needs time-stamps from {self.tsa_quorum} "
                f"TSA(s), and the policy lists {tsas}"
            )
        if self.time_rule is TimeRule.WITNESSES_AND_TSA and not self.witnesses.quorum:
            raise ValueError("time rule witnesses_and_tsa needs a witness quorum")
        roots = [r.public_bytes(Encoding.DER) for a in self.timestamp_authorities for r in a.roots]
        if len(set(roots)) != len(roots):
            # A TSA counts once towards tsa_quorum: one root under two names would be two.
            raise ValueError("a TSA root certificate is listed twice; each TSA counts once")
        return self

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> TrustPolicy:
        raw = (
            data
            if isinstance(data, dict)
            else parse_json(data, max_bytes=MAX_POLICY_BYTES, what="trust policy")
        )
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            raise FormatError(f"trust policy is malformed: {problems}") from exc
        except (FormatError, ValueError) as exc:
            raise FormatError(f"trust policy is malformed: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> TrustPolicy:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read the trust policy {path}: {exc}") from exc
        return cls.from_json(data)

    def to_json_bytes(self) -> bytes:
        document = self.model_dump(mode="json", exclude_none=True)
        if not document["notaries"]:
            # A policy without notary keys stays the document it was before they existed, which
            # readers that know nothing of notarial acts (the verification page) still take.
            del document["notaries"]
        if self.time_rule is TimeRule.EARLIEST and self.tsa_quorum == 1:
            # Likewise a policy with the rule every policy had before there was a choice.
            del document["time_rule"], document["tsa_quorum"]
        return canonical_json(document)

    def issuer(self, key_id_hex: str) -> IssuerKey | None:
        return next((k for k in self.issuers if k.key_id == key_id_hex), None)

    def notary(self, key_id_hex: str) -> NotaryKey | None:
        return next((k for k in self.notaries if k.key_id == key_id_hex), None)

    def chain(self, chain_id: int) -> TrustedChain | None:
        return next((c for c in self.chains if c.chain_id == chain_id), None)

    @property
    def independent_sources(self) -> bool:
        """Whether anything but the operator can vouch for a time under this policy."""
        return bool(self.witnesses.quorum or self.timestamp_authorities or self.chains)


# -- C2SP tlog-policy text (c2sp.org/tlog-policy) ------------------------------------------------


@dataclass(frozen=True)
class TlogPolicy:
    """What a C2SP tlog-policy file says, in the terms of a :class:`TrustPolicy`: the log keys,
    the witnesses that count towards the quorum, and the quorum (k of them). The text holds no
    issuer keys, TSAs or chains: a verifier adds those (``notary policy import``)."""

    log_keys: tuple[str, ...]
    witnesses: tuple[Witness, ...]
    quorum: int
    ignored: tuple[str, ...] = ()  # witnesses the quorum does not name: they would not count


_TLOG_SPACE = re.compile(r"[ \t]+")
_TLOG_OCTETS = re.compile(rb"[^\t\n\x20-\x7e\x80-\xff]")
MAX_TLOG_POLICY_BYTES = 256 * 1024


def parse_tlog_policy(data: bytes) -> TlogPolicy:
    """Read a tlog-policy file; ``FormatError`` for anything its spec forbids or our policy
    cannot say (nested groups: a :class:`WitnessPolicy` is one k of n)."""
    if len(data) > MAX_TLOG_POLICY_BYTES:
        raise FormatError(f"a tlog-policy file is at most {MAX_TLOG_POLICY_BYTES} bytes")
    bad = _TLOG_OCTETS.search(data)
    if bad:
        raise FormatError(f"byte 0x{bad.group()[0]:02x} is not allowed in a tlog-policy file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The spec keeps high octets opaque; our names and keys are UTF-8 text.
        raise FormatError(f"the tlog-policy file is not UTF-8: {exc}") from exc
    logs: list[str] = []
    witnesses: dict[str, str] = {}  # name: vkey, in order
    groups: dict[str, tuple[int, tuple[str, ...]]] = {}
    quorum: str | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        words = [w for w in _TLOG_SPACE.split(raw.strip(" \t")) if w]
        if not words or words[0].startswith("#"):
            continue
        keyword, args = words[0], words[1:]
        where = f"line {number}"
        if keyword == "log" and len(args) in (1, 2):
            logs.append(args[0])
        elif keyword == "witness" and len(args) in (2, 3):
            name = args[0]
            if name == "none" or name in witnesses or name in groups:
                raise FormatError(f"{where}: the name {name!r} is reserved or defined already")
            witnesses[name] = args[1]
        elif keyword == "group" and len(args) >= 3:
            name, threshold, members = args[0], args[1], tuple(args[2:])
            if name == "none" or name in witnesses or name in groups:
                raise FormatError(f"{where}: the name {name!r} is reserved or defined already")
            for m in members:
                if m not in witnesses and m not in groups:
                    raise FormatError(f"{where}: group member {m!r} is not defined above")
            if len(set(members)) != len(members):
                raise FormatError(f"{where}: a group lists each member at most once")
            if threshold == "all":
                k = len(members)
            elif threshold == "any":
                k = 1
            else:
                try:
                    k = parse_decimal(threshold, max_digits=3, what="a group threshold")
                except ValueError as exc:
                    raise FormatError(f"{where}: {exc}") from exc
                if not 1 <= k <= len(members):
                    raise FormatError(f"{where}: a threshold is 1 to {len(members)}, not {k}")
            groups[name] = (k, members)
        elif keyword == "quorum" and len(args) == 1:
            if quorum is not None:
                raise FormatError(f"{where}: a policy has exactly one quorum line")
            if args[0] != "none" and args[0] not in witnesses and args[0] not in groups:
                raise FormatError(f"{where}: the quorum {args[0]!r} is not defined above")
            quorum = args[0]
        else:
            raise FormatError(f"{where}: not a log, witness, group or quorum line: {raw[:80]!r}")
    if quorum is None:
        raise FormatError("a tlog-policy file needs a quorum line")
    if quorum == "none":
        k, members = 0, tuple(witnesses)
    elif quorum in witnesses:
        k, members = 1, (quorum,)
    else:
        k, members = groups[quorum]
        nested = [m for m in members if m in groups]
        if nested:
            raise FormatError(
                f"the quorum {quorum!r} has groups as members ({', '.join(nested)}): a trust "
                "policy here is one k of n witnesses, so nested groups cannot be imported"
            )
    try:
        every = {name: Witness(name=name, key=vkey) for name, vkey in witnesses.items()}
        publics = [w.verifier.public_key_bytes for w in every.values()]
        log_publics = [NoteVerifier.from_vkey(k).public_key_bytes for k in logs]
    except (ValidationError, FormatError) as exc:
        raise FormatError(
            f"a witness key is not a cosignature vkey, or a log key not a note key: {exc}"
        ) from exc
    # The spec: two vkeys of the same public key are duplicates, whatever their names.
    if len(set(publics)) != len(publics):
        raise FormatError("two witness lines have the same public key")
    if len(set(log_publics)) != len(log_publics):
        raise FormatError("two log lines have the same public key")
    chosen = tuple(every[m] for m in members)
    ignored = tuple(name for name in witnesses if name not in members)
    return TlogPolicy(tuple(logs), chosen, k, ignored)


def _tlog_token(name: str, taken: set[str]) -> str:
    # Names are whitespace-separated tokens; ours may hold spaces (a person's wording).
    base = _TLOG_SPACE.sub("-", name.strip()) or "witness"
    word, n = base, 1
    while word in taken or word == "none":
        n += 1
        word = f"{base}-{n}"
    taken.add(word)
    return word


def format_tlog_policy(policy: TrustPolicy) -> str:
    """The policy's log, witnesses and quorum as a C2SP tlog-policy file. Issuers, TSAs, chains
    and the time rule have no place in it and are left out (the comment lines say so)."""
    lines = [f"# {policy.name}" if policy.name else "# exported from an ipnotary trust policy"]
    lines.append("# issuer keys, TSAs, chains and the time rule are not part of tlog-policy")
    if policy.log is not None:
        lines += [f"log {key}" for key in policy.log.keys]
    taken: set[str] = set()
    names = [_tlog_token(w.name, taken) for w in policy.witnesses.members]
    lines += [f"witness {n} {w.key}" for n, w in zip(names, policy.witnesses.members, strict=True)]
    if policy.witnesses.quorum == 0:
        lines.append("quorum none")
    else:
        group = _tlog_token("witness-quorum", taken)
        lines.append(f"group {group} {policy.witnesses.quorum} {' '.join(names)}")
        lines.append(f"quorum {group}")
    return "\n".join(lines) + "\n"
