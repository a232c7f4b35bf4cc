"""Regenerate the hostile recipient key documents: ``python -m
tests.assets.trade_secret.make_key_documents``.

Writes ``key-documents/<case>.json``, each a recipient key document as a malicious or careless
operator might serve it in place of the recipient's own, and ``key-documents/manifest.json``: the
signing key id the holder pinned (the recipient's, given out of band) and, for each case, the error
type and the phrase its message must contain (``null`` for the documents that must verify).
Regenerating makes new keys and new bytes; the tests only need the files to agree with each other.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.signing import sign_document
from ipnotary.sdk.trade_secret import RecipientKeys

HERE = Path(__file__).resolve().parent / "key-documents"


def _resign(doc: dict[str, Any], keys: RecipientKeys) -> dict[str, Any]:
    assert keys.signing is not None
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    return {**unsigned, "signature": sign_document(keys.signing, unsigned)}


def main() -> None:
    recipient = RecipientKeys.generate()
    operator = RecipientKeys.generate()
    valid = recipient.public_document()

    stripped = {
        k: v
        for k, v in valid["encryption_key"].items()
        if k not in ("hpke_mlkem768x25519", "key_id")
    }
    stripped["key_id"] = hashlib.sha256(canonical_json(stripped)).hexdigest()
    bad_id = {**valid["encryption_key"], "key_id": "0" * 64}
    # The recipient's own signing key over classic-only encryption keys: genuine, but holders must
    # opt in to classic X25519 before wrapping to it.
    classic = RecipientKeys(
        x25519=RecipientKeys.generate(post_quantum=False).x25519, signing=recipient.signing
    )

    cases: dict[str, tuple[dict[str, Any], str | None, str | None]] = {
        "valid": (valid, None, None),
        "classic-only-signed-by-the-recipient": (classic.public_document(), None, None),
        "unsigned-version-1": (recipient.encryption_document(), "VerificationError", "unsigned"),
        "signed-by-the-operator": (operator.public_document(), "VerificationError", "not by"),
        "encryption-key-swapped": (
            {**valid, "encryption_key": operator.encryption_document()},
            "VerificationError",
            "signature does not verify",
        ),
        "hybrid-key-stripped": (
            {**valid, "encryption_key": stripped},
            "VerificationError",
            "signature does not verify",
        ),
        "signature-truncated": (
            {**valid, "signature": valid["signature"][:-8]},
            "VerificationError",
            "signature does not verify",
        ),
        "signing-key-relabelled": (
            {**valid, "signing_key": operator.public_document()["signing_key"]},
            "VerificationError",
            "not by",
        ),
        "inner-key-id-wrong-resigned": (
            _resign({**valid, "encryption_key": bad_id}, recipient),
            "FormatError",
            "key_id does not match",
        ),
        "unknown-field": (
            _resign({**valid, "comment": "trust me"}, recipient),
            "FormatError",
            "unknown fields",
        ),
        "version-1-media-type-on-signed-layout": (
            {**valid, "media_type": recipient.encryption_document()["media_type"]},
            "VerificationError",
            "unsigned",
        ),
    }
    HERE.mkdir(exist_ok=True)
    manifest: dict[str, Any] = {
        "signing_key_id": recipient.signing_key_id,
        "key_id": recipient.key_id,
        "cases": {},
    }
    for name, (doc, error, phrase) in cases.items():
        (HERE / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        manifest["cases"][name] = {"raises": error, "message": phrase}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
