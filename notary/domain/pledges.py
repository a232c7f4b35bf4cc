"""IP pledge registrations (the regulation's Art. 27): assets, parties and terms.

An asset is identified on chain by ``asset_id = SHA-256(tag ‖ type ‖ ":" ‖ number)`` over its
normalised registration number, a party by the hash of its typed identifier, and the terms by
the hash of their canonical JSON. The ``PledgeRegistry`` contract keeps at most one active pledge
per asset; the details behind each hash are published with every answer so anyone can re-hash them.

Registration numbers are validated per type:

- patent: the CNIPA application number behind "ZL": 12 digits (or 8 for pre-2004 numbers), a dot
  and a check character: the digits weighted 2, 3, ..., 9, 2, 3, ... summed modulo 11 (10 is X);
- trademark: the registration number, 4 to 9 digits;
- copyright: a registration number such as ``国作登字-2021-F-00012345`` or ``2021SR0123456``
  (software), or a work registered on this platform (``wk_`` and 32 hex digits);
- other: ``scheme:value``.

The terms also name ``pledgee_key``, the Ed25519 public key with which the pledgee signs its
consent to a release or an enforcement (``client_sdk.pledges.sign_pledge_act``): inside the terms
it is hashed into the chain's ``termsDigest``, so nobody can swap it later, and amendments keep it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

from client_sdk.errors import FormatError
from client_sdk.pledges import asset_id, party_hash, terms_digest
from client_sdk.signing import public_key_from_b64
from notary.domain.identifiers import PartyId

__all__ = [
    "AssetType",
    "PledgeAsset",
    "PledgeTerms",
    "asset_id",
    "is_valid_patent_number",
    "normalise_registration_number",
    "party_hash",
    "terms_digest",
]


class AssetType(StrEnum):
    patent = "patent"
    trademark = "trademark"
    copyright = "copyright"
    other = "other"


_PATENT = re.compile(r"^(\d{12}|\d{8})\.([\dX])$")


def is_valid_patent_number(number: str) -> bool:
    m = _PATENT.match(number)
    if not m:
        return False
    digits, check = m.group(1), m.group(2)
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(digits))
    rem = total % 11
    return check == ("X" if rem == 10 else str(rem))


def normalise_registration_number(asset_type: AssetType, number: str) -> str:
    value = number.strip()
    if asset_type is AssetType.patent:
        value = re.sub(r"[\s]", "", value.upper())
        value = value.removeprefix("ZL").removeprefix("CN")
        if not _PATENT.match(value):
            raise ValueError("a patent number is 12 digits (8 before 2004), a dot and a check "
                             "character, e.g. ZL201710601862.3")
        if not is_valid_patent_number(value):
            raise ValueError(f"patent number {value} fails its check character; check for a typo")
        return value
    if asset_type is AssetType.trademark:
        value = value.replace(" ", "")
        if not re.fullmatch(r"\d{4,9}", value):
            raise ValueError("a trademark registration number is 4 to 9 digits")
        return value
    if asset_type is AssetType.copyright:
        if re.fullmatch(r"国作登字-\d{4}-[A-Z]-\d{8}", value) or re.fullmatch(r"\d{4}SR\d{7}", value) \
                or re.fullmatch(r"wk_[0-9a-f]{32}", value):
            return value
        raise ValueError("a copyright registration number looks like 国作登字-2021-F-00012345, "
                         "2021SR0123456 (software) or a work id wk_… from this platform")
    if not re.fullmatch(r"[a-z][a-z0-9_.-]{1,30}:[^\s:][^\x00-\x1f]{0,98}", value):
        raise ValueError("an 'other' asset is 'scheme:value', e.g. 'plant-variety:CNA20191234.5'")
    return value


class PledgeAsset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: AssetType
    registration_number: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None

    @model_validator(mode="after")
    def _number(self) -> PledgeAsset:
        object.__setattr__(self, "registration_number",
                           normalise_registration_number(self.type, self.registration_number))
        return self

    def key(self) -> str:
        return f"{self.type.value}:{self.registration_number}"


class PledgeTerms(BaseModel):
    """What the pledge secures; hashed into the on-chain ``termsDigest``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pledgor: PartyId
    pledgee: PartyId
    secured_amount: Annotated[str, StringConstraints(pattern=r"^\d{1,15}(\.\d{1,2})?$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    term_start: date
    term_end: date
    contract_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    valuation_report_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    pledgee_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")] | None = None
    """The pledgee's Ed25519 public key (unpadded base64url of its 32 bytes); required to register."""

    @field_validator("pledgee_key")
    @classmethod
    def _ed25519(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                public_key_from_b64(value)
            except (FormatError, ValueError):
                raise ValueError("pledgee_key is an Ed25519 public key: 32 bytes, base64url") from None
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
