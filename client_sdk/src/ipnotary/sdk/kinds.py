"""The kinds of record the notary keeps, declared once (each kind's name, id prefix and API path),
and the states a record moves through.

A record's ``kind`` field, the prefix of its id (``wk_…``) and the collection that serves it
(``/v1/works``) are three spellings of one thing; :class:`RecordKind` holds all three so that the
service (``ipnotary.service.domain.records.new_id``, ``ipnotary.service.api.routes``) and the SDK
(``NotaryClient.get(record_id, kind=...)``) cannot disagree. The service imports this module, never
the other way round.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RecordKind", "RecordStatus"]


class RecordStatus(StrEnum):
    """Where a record is on its way to a certificate, as ``GET /v1/<kind>/{id}`` reports it."""

    pending = "pending"  # received and receipted, waiting for a batch
    batched = "batched"  # sealed into the log; its checkpoint awaits the chain, witnesses, TSAs
    anchored = "anchored"  # certified: its certificate can be fetched


class RecordKind(StrEnum):
    """A kind of anchored record; its value is the record body's ``kind``."""

    evidence = "evidence"
    work = "work"
    trade_secret = "trade_secret"  # noqa: S105 - a record kind, not a password
    disclosure = "disclosure"
    credit_entry = "credit_entry"
    credit_repair = "credit_repair"
    pledge_event = "pledge_event"
    capture = "capture"  # a web page captured by the service (docs/capture.md)
    # Notarial acts (docs/notarisation.md)
    attestation = "attestation"
    notarial_refusal = "notarial_refusal"
    attestation_revocation = "attestation_revocation"
    # Arbitration cases (docs/arbitration.md)
    case_event = "case_event"
    # E-commerce complaints (docs/complaints.md)
    complaint_event = "complaint_event"

    @property
    def id_prefix(self) -> str:
        """What its ids start with, before the underscore (``wk`` for ``wk_…``)."""
        return _ID_PREFIX[self]

    @property
    def api_path(self) -> str:
        """The collection that serves its records: ``{api_path}/{id}``, ``/receipt``,
        ``/certificate`` and ``/content``."""
        return f"/v1/{_COLLECTION[self]}"

    def record_path(self, record_id: str) -> str:
        return f"{self.api_path}/{record_id}"

    @classmethod
    def of_id(cls, record_id: str) -> RecordKind | None:
        """The kind an id's prefix names, or None for a prefix no kind uses."""
        prefix, sep, _ = record_id.partition("_")
        return _BY_PREFIX.get(prefix) if sep else None

    @classmethod
    def of_api_path(cls, path: str) -> RecordKind:
        """The kind served at ``path`` (``works`` or ``/v1/works``); ``ValueError`` naming the
        known paths otherwise."""
        collection = path.strip("/").removeprefix("v1/")
        for kind, known in _COLLECTION.items():
            if known == collection:
                return kind
        raise ValueError(
            f"no record kind is served at {path!r}; known: "
            + ", ".join(sorted(_COLLECTION.values()))
        )


_ID_PREFIX: dict[RecordKind, str] = {
    RecordKind.evidence: "ev",
    RecordKind.work: "wk",
    RecordKind.trade_secret: "ts",
    RecordKind.disclosure: "ds",
    RecordKind.credit_entry: "ce",
    RecordKind.credit_repair: "cr",
    RecordKind.pledge_event: "pe",
    RecordKind.capture: "wc",
    RecordKind.attestation: "na",
    RecordKind.notarial_refusal: "nr",
    RecordKind.attestation_revocation: "nv",
    RecordKind.case_event: "ae",
    RecordKind.complaint_event: "cp",
}

_COLLECTION: dict[RecordKind, str] = {
    RecordKind.evidence: "evidence",
    RecordKind.work: "works",
    RecordKind.trade_secret: "trade-secrets",
    RecordKind.disclosure: "disclosures",
    RecordKind.credit_entry: "credit/entries",
    RecordKind.credit_repair: "credit/repair-records",
    RecordKind.pledge_event: "pledge-events",
    RecordKind.capture: "captures",
    RecordKind.attestation: "attestations",
    RecordKind.notarial_refusal: "notarial-refusals",
    RecordKind.attestation_revocation: "attestation-revocations",
    RecordKind.case_event: "case-events",
    RecordKind.complaint_event: "complaint-events",
}

_BY_PREFIX: dict[str, RecordKind] = {prefix: kind for kind, prefix in _ID_PREFIX.items()}
