"""Free text in records reads the same to a person as to a program: bidirectional controls, other
invisible format characters (Unicode Cf), line and paragraph separators and control characters are
refused in every text field, with a 422 that names the field and the code point."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ipnotary.service.domain.credit import CreditEntryDetails, RepairApplication
from ipnotary.service.domain.records import EvidenceMetadata
from ipnotary.service.domain.text import check_text, first_hidden_character
from ipnotary.service.domain.trade_secrets import FilingRequest
from tests.unit.notary.conftest import Api

# Each is invisible, or moves text around, on screen.
HIDDEN = {
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u202d": "U+202D LEFT-TO-RIGHT OVERRIDE",
    "\u202b": "U+202B RIGHT-TO-LEFT EMBEDDING",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\u2067": "U+2067 RIGHT-TO-LEFT ISOLATE",
    "\u2068": "U+2068 FIRST STRONG ISOLATE",
    "\u2069": "U+2069 POP DIRECTIONAL ISOLATE",
    "\u200e": "U+200E LEFT-TO-RIGHT MARK",
    "\u200f": "U+200F RIGHT-TO-LEFT MARK",
    "\u061c": "U+061C ARABIC LETTER MARK",
    "\u200b": "U+200B ZERO WIDTH SPACE",
    "\u200d": "U+200D ZERO WIDTH JOINER",
    "\u2060": "U+2060 WORD JOINER",
    "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
    "\u00ad": "U+00AD SOFT HYPHEN",
    "\U000e0041": "U+E0041 TAG LATIN CAPITAL LETTER A",
    "\u2028": "U+2028 LINE SEPARATOR",
    "\u2029": "U+2029 PARAGRAPH SEPARATOR",
    "\x1b": "U+001B",
    "\r": "U+000D",
}


@pytest.mark.parametrize("char", sorted(HIDDEN), ids=[HIDDEN[c] for c in sorted(HIDDEN)])
def test_each_hidden_character_is_named(char: str) -> None:
    text = f"invoice{char}gpj.exe"
    assert first_hidden_character(text) == (7, char)
    with pytest.raises(ValueError, match=HIDDEN[char].replace("+", r"\+")):
        EvidenceMetadata(title=text)


def test_every_format_character_is_refused() -> None:
    """All of category Cf, not a list someone has to keep up to date."""
    cf = [chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"]
    assert len(cf) > 150
    assert all(first_hidden_character(f"a{c}b") == (1, c) for c in cf)


def test_visible_text_passes_unchanged() -> None:
    for text in [
        "月光下的河流",
        "Ωmega — “quoted” ½",
        "שלום עולם",
        "line one\nline two\tend",
        "مرحبا",
        "emoji 🎨 alone",
    ]:
        assert check_text(text) == text
        assert EvidenceMetadata(description=text).description == text


def test_evidence_metadata_fields_and_tags() -> None:
    for name in ("title", "description", "case_reference"):
        with pytest.raises(ValidationError) as info:
            EvidenceMetadata.model_validate({name: "a\u202eb"})
        assert info.value.errors()[0]["loc"] == (name,)
        assert info.value.errors()[0]["ctx"]["code_point"] == "U+202E"
    with pytest.raises(ValidationError, match=r"item 1 contains U\+2066"):
        EvidenceMetadata(tags=["ok", "x\u2066y"])


def credit_entry(**changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    base = {
        "subject": {"name": "Shady Trading Co", "id_type": "uscc", "id": "91110108551385082Q"},
        "conduct": "good",
        "category": "licensing",
        "description": "licensed fairly",
        "legal_basis": "Art. 1",
        "deciding_authority": "Bureau",
        "decision_date": today.isoformat(),
        "decision_document_sha256": "ab" * 32,
        "publicity_start": today.isoformat(),
        "publicity_end": (today + timedelta(days=30)).isoformat(),
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"category": "lic\u200bensing"}, ("category",)),
        ({"description": "a\u202eb"}, ("description",)),
        ({"legal_basis": "Art.\u20601"}, ("legal_basis",)),
        ({"deciding_authority": "Bur\u00adeau"}, ("deciding_authority",)),
        (
            {"subject": {"name": "Sh\u2067ady", "id_type": "uscc", "id": "91110108551385082Q"}},
            ("subject", "name"),
        ),
    ],
)
def test_credit_texts(change: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        CreditEntryDetails.model_validate(credit_entry(**change))
    assert info.value.errors()[0]["loc"] == loc
    assert info.value.errors()[0]["type"] == "invisible_character"
    with pytest.raises(ValidationError, match=r"U\+2029"):
        RepairApplication(statement="we\u2029repaired it")


def test_trade_secret_label() -> None:
    base = {"id": "ts_" + "0" * 32, "commitment": "ab" * 32, "holder_wrapped_key": {}}
    assert FilingRequest.model_validate({**base, "label": "recipe"}).label == "recipe"
    with pytest.raises(ValidationError, match=r"U\+202E"):
        FilingRequest.model_validate({**base, "label": "recipe\u202e"})


# ------------------------------------------------------------------------------ through the API --


def test_evidence_json_and_form_name_the_field_and_the_code_point(api: Api) -> None:
    h = api.principal("text-holder", "holder")
    r = api.client.post(
        "/v1/evidence",
        headers=h,
        json={"sha256": "5a" * 32, "size": 1, "metadata": {"title": "contract\u202egpj.exe"}},
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith("body.metadata.title: ") and "U+202E RIGHT-TO-LEFT OVERRIDE" in detail
    r = api.client.post(
        "/v1/evidence",
        headers=h,
        files={"file": ("a.txt", b"hello")},
        data={"case_reference": "(2026)\u200b001", "tags": "a,b\u2066c"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("body.case_reference: ")
    assert "U+200B ZERO WIDTH SPACE" in r.json()["detail"]
    r = api.client.post(
        "/v1/evidence", headers=h, files={"file": ("a.txt", b"hello")}, data={"tags": "a,b\u2066c"}
    )
    assert r.status_code == 422 and "tags: item 1 contains U+2066" in r.json()["detail"]


def test_credit_entry_through_the_api(api: Api) -> None:
    h = api.principal("text-bureau", "credit_authority")
    r = api.client.post(
        "/v1/credit/entries", headers=h, json=credit_entry(description="sold\u202dfakes")
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "description" in detail and "U+202D LEFT-TO-RIGHT OVERRIDE" in detail


def test_trade_secret_label_through_the_api(api: Api) -> None:
    h = api.principal("text-ts", "holder")
    filing = {
        "id": "ts_" + "1" * 32,
        "commitment": "ab" * 32,
        "holder_wrapped_key": {},
        "label": "formula\u2028v2",
    }
    r = api.client.post(
        "/v1/trade-secrets",
        headers=h,
        data={"filing": json.dumps(filing)},
        files={"file": ("c", b"x")},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("body.filing.label: ")
    assert "U+2028 LINE SEPARATOR" in r.json()["detail"]
