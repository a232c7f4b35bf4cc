"""IP pledge registrations (the regulation's Art. 27): assets, parties and terms.

An asset is identified on chain by ``asset_id = SHA-256(tag ‖ type ‖ ":" ‖ number)`` over its
normalised registration number, a party by the hash of its typed identifier, and the terms by
the hash of their canonical JSON. The ``PledgeRegistry`` contract keeps at most one active pledge
per asset; the details behind each hash are published with every answer so anyone can re-hash them.

Every asset has one identity, whatever spelling it arrives in: the number is normalised per type
before anything is hashed, stored or looked up, so the one-active-pledge rule and the status query
see the same asset (docs/pledges.md, *One asset, one identity*). First NFKC (full-width digits and
letters become ASCII), then:

- patent: the CNIPA application number: 12 digits (or 8 for pre-2004 numbers), a dot and a check
  character (the digits weighted 2, 3, ..., 9, 2, 3, ... summed modulo 11; 10 is X). Accepted with
  or without ``ZL``/``CN``, spaces, a middle dot or no dot before the check character, or without
  the check character (computed); a check character that does not match is refused as a typo.
  Canonical: ``201710601862.3``;
- trademark: the registration number, 4 to 9 digits (``第12345678号`` and leading zeros accepted).
  Canonical: the digits without leading zeros;
- copyright: a registration number such as ``国作登字-2021-F-00012345`` or ``2021SR0123456``
  (software), or a work registered on this platform (``wk_`` and 32 hex digits), whose registered
  copyright owner must be the pledgor (``services.pledges``).

``other`` (free ``scheme:value`` text) was accepted before and is now refused: no rule could tell
two spellings of one asset apart, so the one-active-pledge rule would not hold. Pledges stored with
it still load (``PledgeAsset.stored``).

The terms also name ``pledgee_key``, the Ed25519 public key with which the pledgee signs its
consent to a release or an enforcement (``ipnotary.sdk.pledges.sign_pledge_act``): inside the terms
it is hashed into the chain's ``termsDigest``, so nobody can swap it later, and amendments keep it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.numerals import describe_digit, first_foreign_digit
from ipnotary.sdk.pledges import asset_id, consent_digest, party_hash, terms_digest
from ipnotary.sdk.records import PledgeEventRecord, PledgeTransaction
from ipnotary.sdk.signing import public_key_from_b64
from ipnotary.service.domain.identifiers import PartyId
from ipnotary.service.domain.scalars import Hex64, JsonDate

__all__ = [
    "AssetType",
    "PledgeAsset",
    "PledgeTerms",
    "asset_id",
    "build_pledge_event_record",
    "is_valid_patent_number",
    "normalise_registration_number",
    "party_hash",
    "patent_check_character",
    "terms_digest",
]


class AssetType(StrEnum):
    patent = "patent"
    trademark = "trademark"
    copyright = "copyright"
    other = "other"


# [0-9], never \d: a number in another script's digits is another text, so another asset id, and
# the one-active-pledge rule (the contract's too) would not see it as the same asset.
_PATENT = re.compile(r"^([0-9]{12}|[0-9]{8})\.([0-9X])$")
_PATENT_LOOSE = re.compile(r"^(?:ZL|CN)*([0-9]{12}|[0-9]{8})(?:\.?([0-9X]))?$")
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−﹣", "-"))  # noqa: RUF001 - the dashes to fold
_STORED = "stored"  # validation context: a pledge row read back, kept exactly as it was stored


def patent_check_character(digits: str) -> str:
    """The check character of a CNIPA application number's 12 (or 8) digits."""
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(digits))
    rem = total % 11
    return "X" if rem == 10 else str(rem)


def is_valid_patent_number(number: str) -> bool:
    m = _PATENT.match(number)
    return m is not None and m.group(2) == patent_check_character(m.group(1))


def normalise_registration_number(asset_type: AssetType, number: str) -> str:
    """The one canonical spelling of an asset's number, or ``ValueError`` saying what is wrong."""
    value = unicodedata.normalize("NFKC", number).strip()
    foreign = first_foreign_digit(value)
    if foreign is not None:
        raise ValueError(
            f"the registration number holds {describe_digit(foreign[1])}: write it in the digits "
            "0-9 as the register does (full-width digits are accepted and converted)"
        )
    if asset_type is AssetType.patent:
        compact = re.sub(r"[\s]", "", value.upper()).replace("·", ".").replace("・", ".")
        m = _PATENT_LOOSE.match(compact)
        if not m:
            raise ValueError(
                "a patent number is 12 digits (8 before 2004), a dot and a check "
                "character, e.g. ZL201710601862.3"
            )
        digits, check = m.group(1), m.group(2)
        expected = patent_check_character(digits)
        if check is not None and check != expected:
            raise ValueError(
                f"patent number {digits}.{check} fails its check character (expected "
                f"{expected}); check for a typo"
            )
        return f"{digits}.{expected}"
    if asset_type is AssetType.trademark:
        compact = re.sub(r"\s", "", value)
        m = re.fullmatch(r"第?([0-9]{1,12})号?", compact)
        digits = m.group(1).lstrip("0") if m else ""
        if not re.fullmatch(r"[0-9]{4,9}", digits):
            raise ValueError("a trademark registration number is 4 to 9 digits")
        return digits
    if asset_type is AssetType.copyright:
        compact = re.sub(r"\s", "", value.translate(_DASHES))
        if m := re.fullmatch(r"国作登字-?([0-9]{4})-?([A-Za-z])-?([0-9]{8})", compact):
            return f"国作登字-{m.group(1)}-{m.group(2).upper()}-{m.group(3)}"
        if m := re.fullmatch(r"([0-9]{4})SR([0-9]{7})", compact.upper()):
            return f"{m.group(1)}SR{m.group(2)}"
        if re.fullmatch(r"wk_[0-9a-f]{32}", compact.lower()):
            return compact.lower()
        raise ValueError(
            "a copyright registration number looks like 国作登字-2021-F-00012345, "
            "2021SR0123456 (software) or a work id wk_… from this platform"
        )
    raise ValueError(
        "asset type 'other' is no longer accepted: a free-text 'scheme:value' has no "
        "single spelling, so a second pledge on the same asset could not be refused; "
        "use patent, trademark or copyright"
    )


class PledgeAsset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: AssetType
    registration_number: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None

    @model_validator(mode="after")
    def _number(self, info: ValidationInfo) -> PledgeAsset:
        if isinstance(info.context, dict) and info.context.get(_STORED):
            return self  # normalised when it was registered (by the rules of that day): keep it
        object.__setattr__(
            self,
            "registration_number",
            normalise_registration_number(self.type, self.registration_number),
        )
        return self

    @classmethod
    def stored(cls, text: str) -> PledgeAsset:
        """A pledge row's asset as it was stored, its identity (and so its ``asset_id``)
        unchanged."""
        return cls.model_validate_json(text, context={_STORED: True})

    @property
    def work_id(self) -> str | None:
        """The work registered on this platform that a copyright asset names, if any."""
        number = self.registration_number
        return number if self.type is AssetType.copyright and number.startswith("wk_") else None

    def key(self) -> str:
        return f"{self.type.value}:{self.registration_number}"


class PledgeTerms(BaseModel):
    """What the pledge secures; hashed into the on-chain ``termsDigest``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pledgor: PartyId
    pledgee: PartyId
    secured_amount: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,2})?$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    term_start: JsonDate
    term_end: JsonDate
    contract_sha256: Hex64
    valuation_report_sha256: Hex64
    pledgee_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")] | None = None
    """The pledgee's Ed25519 public key (unpadded base64url of its 32 bytes); required to
    register."""

    @field_validator("pledgee_key")
    @classmethod
    def _ed25519(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                public_key_from_b64(value)
            except (FormatError, ValueError):
                raise ValueError(
                    "pledgee_key is an Ed25519 public key: 32 bytes, base64url"
                ) from None
        return value

    @field_validator("secured_amount")
    @classmethod
    def _positive(cls, value: str) -> str:
        try:
            if Decimal(value) <= 0:
                raise ValueError("the secured amount must be positive")
        except InvalidOperation:
            raise ValueError("the secured amount is a decimal number") from None
        return value

    @model_validator(mode="after")
    def _parties_and_term(self) -> PledgeTerms:
        if self.pledgor.key() == self.pledgee.key():
            raise ValueError("pledgor and pledgee must be different parties")
        if self.term_end <= self.term_start:
            raise ValueError("the term must end after it starts")
        return self

    def as_document(self) -> dict[str, Any]:
        # exclude_none: terms registered before pledgee keys existed keep their digest.
        return self.model_dump(mode="json", exclude_none=True)


def build_pledge_event_record(
    record_id: str,
    received_at: datetime,
    *,
    registrar: Mapping[str, str],
    action: str,
    asset: PledgeAsset,
    transaction: Mapping[str, Any],
    terms: Mapping[str, Any] | None = None,
    party: Mapping[str, Any] | None = None,
    consent: Mapping[str, Any] | None = None,
    ownership: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``pledge_event`` record: one ``PledgeRegistry`` transaction and the details behind its
    hashes, so a certificate re-derives what the chain holds (``ipnotary.sdk.pledges``).

    ``registrar`` is ``{id, name, account}`` (its chain account); ``transaction`` the mined
    transaction (``chain_id``, ``contract``, ``pledge_id``, ``tx_hash``, ``block_number``,
    ``block_timestamp``); ``terms`` as set by a registration or amendment, ``party`` the consenting
    pledgee and ``consent`` its signed act (release, enforcement), ``ownership`` whether the
    pledgor is known to own the asset (registration).
    """
    optional: dict[str, Any] = {}
    if terms is not None:
        optional["terms"] = dict(terms)
    if party is not None:
        optional["party"] = dict(party)
    if consent is not None:
        optional["consent"] = dict(consent)
        optional["consent_digest"] = consent_digest(consent).hex()
    if ownership is not None:
        optional["ownership"] = dict(ownership)
    return PledgeEventRecord(
        id=record_id,
        kind=RecordKind.pledge_event,
        schema_version=1,
        registrar={
            "id": str(registrar["id"]),
            "name": str(registrar["name"]),
            "account": str(registrar["account"]),
        },
        action=action,
        asset=asset.model_dump(mode="json", exclude_none=True),
        pledge=PledgeTransaction(
            chain_id=int(transaction["chain_id"]),
            contract=str(transaction["contract"]),
            pledge_id=int(transaction["pledge_id"]),
            tx_hash=str(transaction["tx_hash"]),
            block_number=int(transaction["block_number"]),
            block_timestamp=int(transaction["block_timestamp"]),
        ),
        **optional,
        received_at=format_timestamp(received_at),
    ).to_json()
