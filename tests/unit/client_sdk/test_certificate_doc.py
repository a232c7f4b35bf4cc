"""The worked example in docs/certificate.md is a real certificate, and says what is true of it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from ipnotary.sdk.note import parse_note
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import TimeSource, verify_certificate

DOC = Path(__file__).resolve().parents[3] / "docs" / "certificate.md"


def _example() -> tuple[str, TrustPolicy]:
    section = DOC.read_text(encoding="utf-8").split("## Worked example", 1)[1]
    blocks = re.findall(r"```json\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(blocks) >= 2, "the worked example lost its certificate or its policy"
    return blocks[0], TrustPolicy.from_json(blocks[1])


def test_the_worked_example_verifies_under_its_policy_with_the_file() -> None:
    cert, policy = _example()
    result = verify_certificate(cert, policy, content=b"hello world")
    assert result.trusted and result.leaf_index == 2 and result.tree_size == 5
    assert result.time_source is TimeSource.WITNESSES
    assert result.proven_time == datetime(2026, 11, 27, 10, 55, 22, tzinfo=UTC)
    tsa = next(e for e in result.time_evidence if e.source is TimeSource.TIMESTAMP_AUTHORITY)
    assert tsa.time == datetime(2026, 11, 27, 10, 55, 22, 360000, tzinfo=UTC)
    assert set(result.witnesses) == {"Beijing notarial office", "IP court"}


def test_the_hand_checks_in_the_text_are_true() -> None:
    cert = json.loads(_example()[0])
    text = DOC.read_text(encoding="utf-8")
    note = parse_note(cert["log"]["checkpoint"])
    digest = hashlib.sha256(note.text.encode()).hexdigest()
    assert digest.startswith("ea413bad") and digest.endswith("33b8cc") and "ea413bad…33b8cc" in text
    assert note.text.splitlines()[2].startswith("XDDaPtjC")
    for sig in note.signatures[1:]:
        assert (
            f"`{sig.key_id:08x}`" in text and int.from_bytes(sig.signature[:8], "big") == 1795776922
        )
    assert f"`{note.signatures[0].key_id:08x}`" in text
    token = base64.b64decode(cert["timestamps"][0]["token"])
    assert bytes.fromhex(digest) in token  # the token's imprint is the note text's digest
