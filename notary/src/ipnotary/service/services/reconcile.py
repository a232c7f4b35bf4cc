"""After a restore: does the database still account for everything the chain, the witnesses and
the holders saw? (``notary reconcile``; ``docs/deployment.md``, *Backups and restore*.)

Start with :func:`reconcile`. A database restored from a backup may be older than what the world
already holds: checkpoints anchored on chain, checkpoints witnesses cosigned, receipts holders
keep. Anything the database lost is named, from these sources, in four checks:

1. every checkpoint our ``EvidenceRegistry`` anchored (read from the contract: ``batchCount`` and
   ``getBatch``) has a batch of the same tree size and root, and the log's tiles give that root
   at that size (a restored log that forked from the anchored one is caught here);
2. no batch the database calls anchored is missing from the chain;
3. no witness holds a checkpoint larger than the database's log (asked by sending it the
   database's newest checkpoint with ``old`` set to its size: a witness at another size answers
   409 with its own, tlog-witness; one at the same size cosigns the same checkpoint again);
4. every leaf the log holds has its record row;
5. the database server itself, when it is PostgreSQL (:func:`database_findings`): a restored copy
   that still waits for the old synchronous standby (every commit would hang), still recovers,
   still archives into what may be the production archive, or sits on a new timeline that needs
   a new base backup. Each finding is a *problem* (the service cannot run on it as it is) or a
   *notice* (what the operator must do next), named by its code.

What the database cannot account for is one of: anchored batches it does not have, the range of
log entries lost (from its log's size to the largest size the chain or a witness saw), log
entries without a record row. Holders' receipts (:func:`check_receipts`) carry the record body:
a receipt whose leaf the log holds gives its record back at its index (checked: the leaf at that
index is the receipt's leaf hash, and the anchored root is recomputed from the inclusion proof);
one the log never held was still pending and is accepted again, to be anchored; one whose leaf is
in a lost range cannot be placed until that range is restored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import func, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.certificate import Receipt, parse_time, record_leaf_hash
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.merkle import root_from_inclusion_proof
from ipnotary.sdk.note import CosignatureVerifier
from ipnotary.sdk.records import EvidenceRecord, WorkRecord, content_of, parse_record
from ipnotary.sdk.signing import key_id, public_key_from_b64, signature_is_valid
from ipnotary.service.domain.records import dedup_key
from ipnotary.service.domain.tiles import TILE_WIDTH
from ipnotary.service.errors import ChainUnusable
from ipnotary.service.services.transparency_log import inclusion_proof, log_size, tree_root
from ipnotary.service.storage.models import (
    Batch,
    BatchStatus,
    Cosignature,
    LogTile,
    Principal,
    Record,
)

__all__ = [
    "AnchorSource",
    "AnchoredCheckpoint",
    "DatabaseFinding",
    "LogRange",
    "Problem",
    "ReceiptFinding",
    "ReceiptOutcome",
    "ReconcileReport",
    "WitnessView",
    "check_receipts",
    "database_findings",
    "load_receipts",
    "read_anchored_checkpoints",
    "reconcile",
]

# Kinds whose whole state is the record row, so that a receipt restores all of it. The others
# keep rows beside the record that a receipt does not carry (key grants, a credit entry's
# erasable details, a pledge's terms).
RESTORABLE_KINDS = frozenset({RecordKind.evidence, RecordKind.work})
# to prevent an operator's typo (a home directory) from running for hours
MAX_RECEIPT_FILES = 100_000
MAX_RECEIPT_FILE_BYTES = 1024 * 1024
_MAX_GAPS_LISTED = 100


class AnchorSource(Protocol):
    """What reconciling reads from the chain (``chain.AnchorReader`` fits)."""

    @property
    def chain_id(self) -> int: ...

    @property
    def registry_address(self) -> str: ...

    def batch_count(self) -> int: ...

    def get_batch(self, batch_id: int) -> Any: ...

    def anchor_receipt_for_root(self, root: bytes) -> Any: ...


@dataclass(frozen=True)
class AnchoredCheckpoint:
    """One checkpoint of the log as the registry holds it."""

    batch_id: int
    root: str  # hex
    tree_size: int
    block_number: int
    timestamp: int


@dataclass(frozen=True)
class LogRange:
    """Log entries ``[start, end)``."""

    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.start}..{self.end - 1}" if self.count > 1 else str(self.start)


@dataclass(frozen=True)
class Problem:
    """Something the database cannot account for. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WitnessView:
    name: str
    size: int | None  # the size the witness says it holds; None if it could not be asked
    cosigned_in_database: int  # the largest size this database holds its cosignature for
    error: str | None = None


class ReceiptOutcome(StrEnum):
    present = "present"  # the database has the record, with the receipt's leaf hash
    restorable = "restorable"  # its leaf is in the log; re-inserted at that index with --restore
    pending = "pending"  # never sealed: accepted again with --restore, and anchored
    restored = "restored"
    lost = "lost"  # its leaf is in a lost range of the log: cannot be placed yet
    conflict = "conflict"  # the database holds another record under its id or its leaf
    invalid = "invalid"  # not a receipt, a bad signature, or a leaf hash that does not match
    not_ours = "not_ours"  # signed by a key that is not this deployment's issuer key
    unsupported_kind = "unsupported_kind"
    unknown_holder = "unknown_holder"


# Outcomes that leave a receipted record unaccounted for (the command's exit status 1).
_UNACCOUNTED = frozenset(
    {
        ReceiptOutcome.restorable,
        ReceiptOutcome.pending,
        ReceiptOutcome.lost,
        ReceiptOutcome.conflict,
        ReceiptOutcome.unsupported_kind,
        ReceiptOutcome.unknown_holder,
    }
)


@dataclass(frozen=True)
class ReceiptFinding:
    source: str
    outcome: ReceiptOutcome
    message: str
    record_id: str | None = None
    log_index: int | None = None


@dataclass(frozen=True)
class DatabaseFinding:
    """Something about the database server the operator must fix (``problem``: the service
    cannot run on it as it is) or do next (``notice``)."""

    code: str
    severity: str  # "problem" or "notice"
    message: str


@dataclass
class ReconcileReport:
    chain_id: int
    registry: str
    anchored_checkpoints: int
    anchored_size: int  # the largest tree size the registry anchored
    database_log_size: int
    database_batches: int
    pending_records: int
    lost: LogRange | None = None  # log entries the chain or a witness saw and the database lacks
    problems: list[Problem] = field(default_factory=list)
    witnesses: list[WitnessView] = field(default_factory=list)
    receipts: list[ReceiptFinding] = field(default_factory=list)
    database: list[DatabaseFinding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Everything anchored, witnessed and receipted is accounted for, and the database can
        take the service's commits."""
        return (
            not self.problems
            and not any(r.outcome in _UNACCOUNTED for r in self.receipts)
            and not any(f.severity == "problem" for f in self.database)
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["lost"] = (
            {"start": self.lost.start, "end": self.lost.end, "count": self.lost.count}
            if self.lost
            else None
        )
        return data


def read_anchored_checkpoints(anchors: AnchorSource) -> list[AnchoredCheckpoint]:
    """Every checkpoint the registry holds, oldest first. Chain errors: ``ChainUnusable``."""
    from ipnotary.chain.errors import ChainError

    try:
        count = anchors.batch_count()
        found = [anchors.get_batch(i) for i in range(1, count + 1)]
    except ChainError as exc:
        raise ChainUnusable(f"cannot read the registry's checkpoints: {exc}") from exc
    return [
        AnchoredCheckpoint(
            batch_id=int(b.batch_id),
            root=bytes(b.root).hex(),
            tree_size=int(b.tree_size),
            block_number=int(b.block_number),
            timestamp=int(b.timestamp),
        )
        for b in found
    ]


def reconcile(
    session: Session,
    anchors: AnchorSource,
    *,
    witnesses: Sequence[tuple[str, str]] = (),
    http: httpx.Client | None = None,
) -> ReconcileReport:
    """Compare the database with the chain, the witnesses (``(url, vkey)`` each) and its own log.

    Reads only; a witness at the database's size cosigns the same checkpoint again (harmless).
    """
    from ipnotary.chain.errors import ChainError

    anchored = read_anchored_checkpoints(anchors)
    db_size = log_size(session)
    batches = {
        b.log_size: b for b in session.exec(select(Batch).where(col(Batch.log_size).is_not(None)))
    }
    pending = int(
        session.exec(
            select(func.count()).select_from(Record).where(col(Record.batch_seq).is_(None))
        ).one()
    )
    report = ReconcileReport(
        chain_id=int(anchors.chain_id),
        registry=str(anchors.registry_address),
        anchored_checkpoints=len(anchored),
        anchored_size=max((a.tree_size for a in anchored), default=0),
        database_log_size=db_size,
        database_batches=len(batches),
        pending_records=pending,
    )
    seen_end = report.anchored_size

    # 1. Every anchored checkpoint: a batch, and the same root from the tiles.
    previous = 0  # where each checkpoint's own entries begin
    for cp in anchored:
        own_start, previous = previous, max(previous, cp.tree_size)
        where = (
            f"chain batch {cp.batch_id} (log size {cp.tree_size}, root {cp.root}, "
            f"block {cp.block_number})"
        )
        details: dict[str, Any] = asdict(cp)
        batch = batches.get(cp.tree_size)
        if cp.tree_size > db_size:
            try:
                receipt = anchors.anchor_receipt_for_root(bytes.fromhex(cp.root))
                if receipt is not None:
                    details["tx_hash"] = str(receipt.tx_hash)
            except ChainError:
                pass  # the transaction only helps a reader find it; the batch id names it
            report.problems.append(
                Problem(
                    "anchored_batch_missing",
                    f"{where} is anchored but the database's log stops at {db_size}: "
                    f"its entries {LogRange(max(db_size, own_start), cp.tree_size)} "
                    "are not in this database",
                    details,
                )
            )
            continue
        tiles_root = tree_root(session, cp.tree_size).hex()
        if tiles_root != cp.root:
            report.problems.append(
                Problem(
                    "log_root_mismatch",
                    f"{where}: the database's log gives root {tiles_root} at that size: this log "
                    "is not the one anchored (restored from another deployment, or forked)",
                    {**details, "database_root": tiles_root},
                )
            )
        elif batch is None:
            report.problems.append(
                Problem(
                    "anchored_batch_missing",
                    f"{where}: the log holds that root but the database has no batch for it",
                    details,
                )
            )
        elif batch.root != cp.root:
            report.problems.append(
                Problem(
                    "batch_root_mismatch",
                    f"{where}: the database's batch {batch.seq} of that size has root {batch.root}",
                    {**details, "database_root": batch.root, "batch_seq": batch.seq},
                )
            )

    # 2. Batches the database calls anchored that the registry does not hold.
    on_chain = {(cp.tree_size, cp.root) for cp in anchored}
    for size, batch in sorted(batches.items(), key=lambda item: item[0] or 0):
        if batch.status == BatchStatus.anchored and (size, batch.root) not in on_chain:
            report.problems.append(
                Problem(
                    "anchor_not_on_chain",
                    f"batch {batch.seq} (log size {size}) is marked anchored as chain batch "
                    f"{batch.chain_batch_id} of {batch.contract} on chain {batch.chain_id}, but "
                    f"{report.registry} on chain {report.chain_id} does not hold it",
                    {
                        "batch_seq": batch.seq,
                        "log_size": size,
                        "root": batch.root,
                        "chain_batch_id": batch.chain_batch_id,
                        "contract": batch.contract,
                    },
                )
            )

    # 3. Witnesses that saw more of the log than the database holds.
    if witnesses:
        head = batches.get(db_size) if db_size else None
        client = http or httpx.Client(timeout=10.0)
        try:
            for url, vkey in witnesses:
                view = _probe_witness(
                    session,
                    client,
                    url=url,
                    vkey=vkey,
                    checkpoint=head.checkpoint if head else None,
                    size=db_size,
                )
                report.witnesses.append(view)
                if view.size is not None and view.size > db_size:
                    seen_end = max(seen_end, view.size)
                    report.problems.append(
                        Problem(
                            "witness_ahead",
                            f"witness {view.name} cosigned the log at size {view.size}; the "
                            f"database's log stops at {db_size}: entries "
                            f"{LogRange(db_size, view.size)} were lost by the restore",
                            {"witness": view.name, "witness_size": view.size},
                        )
                    )
                elif view.error is not None and view.size == db_size:
                    report.problems.append(
                        Problem(
                            "witness_fork",
                            f"witness {view.name}: {view.error}",
                            {"witness": view.name, "witness_size": view.size},
                        )
                    )
        finally:
            if http is None:
                client.close()

    if seen_end > db_size:
        report.lost = LogRange(db_size, seen_end)

    # 5. The server the database runs on.
    report.database = database_findings(session)

    # 4. Every leaf of the log has its record.
    held = int(
        session.exec(
            select(func.count())
            .select_from(Record)
            .where(col(Record.log_index).is_not(None), col(Record.log_index) < db_size)
        ).one()
    )
    if held < db_size:
        gaps = _gaps(session, db_size)
        shown = ", ".join(str(g) for g in gaps[:_MAX_GAPS_LISTED])
        more = (
            f" and {len(gaps) - _MAX_GAPS_LISTED} more ranges"
            if len(gaps) > _MAX_GAPS_LISTED
            else ""
        )
        report.problems.append(
            Problem(
                "records_missing",
                f"{db_size - held} log entries have no record in the database "
                f"(entries {shown}{more}): receipted records were lost; "
                "their holders' receipts restore them",
                {
                    "count": db_size - held,
                    "ranges": [[g.start, g.end] for g in gaps[:_MAX_GAPS_LISTED]],
                },
            )
        )
    return report


def database_findings(session: Session) -> list[DatabaseFinding]:
    """What a restored (or any) PostgreSQL server is set up to do wrong for the service
    (docs/deployment.md, *Backups and restore*): read from its settings and statistics views;
    nothing on SQLite. A view this role may not read is skipped."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    found: list[DatabaseFinding] = []

    def read(query: str) -> Any:
        try:
            with session.begin_nested():
                return session.execute(text(query)).one()
        except SQLAlchemyError:
            return None

    recovering = read("SELECT pg_is_in_recovery()")
    if recovering is not None and recovering[0]:
        found.append(
            DatabaseFinding(
                "database_in_recovery",
                "problem",
                "the server is still in recovery (or a standby): it takes no writes; wait until "
                "`SELECT pg_is_in_recovery()` answers f, or promote it",
            )
        )
    sync = read(
        "SELECT current_setting('synchronous_standby_names'),"
        " current_setting('synchronous_commit'),"
        " (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))"
    )
    if sync is not None and sync[0].strip() and sync[1] not in ("off", "local") and not sync[2]:
        found.append(
            DatabaseFinding(
                "synchronous_standby_missing",
                "problem",
                f"synchronous_standby_names is {sync[0]!r} but no synchronous standby is "
                "connected: every commit, so every receipt, would wait for ever. On a restored "
                "copy set it to '' (ALTER SYSTEM SET synchronous_standby_names = ''; SELECT "
                "pg_reload_conf()), or start the WAL stream against this server first",
            )
        )
    archiver = read(
        "SELECT current_setting('archive_mode'), current_setting('archive_command'),"
        " last_failed_time > coalesce(last_archived_time, 'epoch'::timestamptz), last_failed_wal"
        " FROM pg_stat_archiver"
    )
    archiving = archiver is not None and archiver[0] != "off" and archiver[1].strip() != ""
    if archiver is not None and not archiving:
        found.append(
            DatabaseFinding(
                "wal_not_archived",
                "notice",
                "archive_mode is off (or archive_command empty): right for a trial restore; "
                "before this server takes production traffic, archive its WAL and take a new "
                "base backup, or a later loss loses everything since",
            )
        )
    if archiving and archiver is not None and archiver[2]:
        found.append(
            DatabaseFinding(
                "wal_archiving_failing",
                "problem",
                f"archive_command fails (last failed segment {archiver[3]}): WAL piles up and "
                "nothing after the last archived segment can be restored",
            )
        )
    timeline = read("SELECT timeline_id FROM pg_control_checkpoint()")
    if timeline is not None and int(timeline[0]) > 1:
        found.append(
            DatabaseFinding(
                "new_timeline",
                "notice",
                f"the server is on timeline {int(timeline[0])} (a restore or a promotion): take "
                "a new base backup once it serves"
                + (
                    "; it archives: if this is a trial restore, stop it, since its timeline "
                    "would be in the production archive"
                    if archiving
                    else ""
                ),
            )
        )
    return found


def _gaps(session: Session, size: int) -> list[LogRange]:
    indices = session.exec(
        select(Record.log_index)
        .where(col(Record.log_index).is_not(None), col(Record.log_index) < size)
        .order_by(col(Record.log_index))
    ).all()
    gaps: list[LogRange] = []
    expected = 0
    for index in indices:
        assert index is not None
        if index > expected:
            gaps.append(LogRange(expected, index))
        expected = index + 1
    if expected < size:
        gaps.append(LogRange(expected, size))
    return gaps


def _probe_witness(
    session: Session,
    client: httpx.Client,
    *,
    url: str,
    vkey: str,
    checkpoint: str | None,
    size: int,
) -> WitnessView:
    name = CosignatureVerifier.from_vkey(vkey).name
    cosigned = int(
        session.exec(
            select(func.max(Batch.log_size))
            .join(Cosignature, col(Cosignature.batch_seq) == Batch.seq)
            .where(Cosignature.witness == name)
        ).one()
        or 0
    )
    if checkpoint is None:
        return WitnessView(name, None, cosigned, "the database has no checkpoint to show it")
    body = f"old {size}\n\n{checkpoint}"
    try:
        response = client.post(url.rstrip("/") + "/add-checkpoint", content=body.encode("utf-8"))
    except httpx.HTTPError as exc:
        return WitnessView(name, None, cosigned, f"unreachable: {type(exc).__name__}")
    text = response.text[:200].strip()
    if response.status_code == 200:
        return WitnessView(name, size, cosigned)
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(
        "text/x.tlog.size"
    ):
        try:
            theirs = int(text)
        except ValueError:
            return WitnessView(name, None, cosigned, f"answered 409 with {text[:40]!r}")
        if theirs == size:
            return WitnessView(
                name,
                theirs,
                cosigned,
                f"holds another tree of size {size}: this log forked from the one it cosigned",
            )
        return WitnessView(name, theirs, cosigned)
    return WitnessView(name, None, cosigned, f"answered {response.status_code}: {text[:120]!r}")


# -- Receipts ---------------------------------------------------------------------------------


def load_receipts(directory: Path) -> Iterable[tuple[str, bytes | None, str | None]]:
    """(file name, its bytes or None, why not) for each ``*.json`` file under ``directory``."""
    paths = sorted(p for p in directory.rglob("*.json") if p.is_file())
    if len(paths) > MAX_RECEIPT_FILES:
        raise ValueError(
            f"{directory} holds {len(paths)} JSON files; at most "
            f"{MAX_RECEIPT_FILES} are read at once"
        )
    for path in paths:
        if path.stat().st_size > MAX_RECEIPT_FILE_BYTES:
            yield str(path), None, f"over {MAX_RECEIPT_FILE_BYTES} bytes"
        else:
            yield str(path), path.read_bytes(), None


def check_receipts(
    session: Session,
    documents: Iterable[tuple[str, bytes | None, str | None]],
    *,
    issuer_keys: Mapping[str, str],
    report: ReconcileReport,
    anchored: Sequence[AnchoredCheckpoint],
    restore: bool = False,
) -> list[ReceiptFinding]:
    """Place each holder's receipt; with ``restore``, re-insert the records it can place.

    ``issuer_keys`` maps the key ids this deployment signs or signed receipts with to their
    public keys (base64url): a receipt signed by any other key is refused, whatever it says.
    ``report`` is :func:`reconcile`'s for this database, ``anchored`` what the registry holds.
    """
    findings: list[ReceiptFinding | None] = []
    parsed: list[tuple[int, str, Receipt]] = []
    for source, data, why_not in documents:
        try:
            if data is None:
                raise FormatError(why_not or "unreadable")
            parsed.append((len(findings), source, _parse_receipt(data)))
            findings.append(None)
        except FormatError as exc:
            findings.append(ReceiptFinding(source, ReceiptOutcome.invalid, str(exc)))
    leaves = _log_leaves(
        session, report.database_log_size, wanted={r.leaf_hash for _, _, r in parsed}
    )
    roots = {cp.tree_size: cp.root for cp in anchored}
    for slot, source, receipt in parsed:
        finding = _place(
            session,
            source,
            receipt,
            issuer_keys=issuer_keys,
            leaves=leaves,
            report=report,
            roots=roots,
        )
        if restore and finding.outcome in (ReceiptOutcome.restorable, ReceiptOutcome.pending):
            _insert(session, receipt, finding.log_index)
            session.commit()
            where = (
                f"at log index {finding.log_index}"
                if finding.log_index is not None
                else "as pending: it will be sealed and anchored"
            )
            finding = ReceiptFinding(
                source,
                ReceiptOutcome.restored,
                f"record {finding.record_id} restored {where}",
                finding.record_id,
                finding.log_index,
            )
        findings[slot] = finding
    return [f for f in findings if f is not None]


def _parse_receipt(data: bytes) -> Receipt:
    """A receipt document, or a submission answer holding one under ``receipt``."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not JSON: {exc}") from exc
    if isinstance(raw, dict) and isinstance(raw.get("receipt"), dict):
        raw = raw["receipt"]
    if not isinstance(raw, dict):
        raise FormatError("a receipt is a JSON object")
    return Receipt.from_json(raw)


def _log_leaves(session: Session, size: int, *, wanted: set[str]) -> dict[str, int]:
    """The index of each ``wanted`` leaf hash the log holds (read from its level-0 tiles)."""
    leaves: dict[str, int] = {}
    if not wanted:
        return leaves
    for tile in session.exec(select(LogTile).where(LogTile.level == 0).order_by(col(LogTile.idx))):
        data = bytes(tile.hashes)
        for i in range(len(data) // 32):
            index = tile.idx * TILE_WIDTH + i
            leaf = data[i * 32 : (i + 1) * 32].hex()
            if index < size and leaf in wanted:
                leaves[leaf] = index
    return leaves


def _place(
    session: Session,
    source: str,
    receipt: Receipt,
    *,
    issuer_keys: Mapping[str, str],
    leaves: Mapping[str, int],
    report: ReconcileReport,
    roots: Mapping[int, str],
) -> ReceiptFinding:
    record = receipt.record
    record_id = str(record.get("id", ""))[:80] or None

    def finding(outcome: ReceiptOutcome, message: str, index: int | None = None) -> ReceiptFinding:
        return ReceiptFinding(source, outcome, message, record_id, index)

    # 1. Ours: signed by one of this deployment's issuer keys, over this record and leaf.
    public = issuer_keys.get(receipt.issuer.key_id)
    if public is None:
        return finding(
            ReceiptOutcome.not_ours,
            f"signed by key {receipt.issuer.key_id}, not this deployment's issuer key",
        )
    if key_id(public_key_from_b64(public)) != receipt.issuer.key_id or not signature_is_valid(
        public_key_from_b64(public), receipt.unsigned_body(), receipt.signature.value
    ):
        return finding(ReceiptOutcome.invalid, "the issuer's signature does not verify")
    try:
        leaf = record_leaf_hash(record).hex()
    except FormatError as exc:
        return finding(ReceiptOutcome.invalid, str(exc))
    if leaf != receipt.leaf_hash:
        return finding(ReceiptOutcome.invalid, "its leaf hash is not its record's")
    # 2. Already here?
    existing = session.exec(select(Record).where(Record.id == record_id)).first()
    if existing is not None:
        if existing.leaf_hash == leaf:
            return finding(ReceiptOutcome.present, "the database holds it", existing.log_index)
        return finding(
            ReceiptOutcome.conflict,
            f"the database holds another record {record_id} (leaf {existing.leaf_hash})",
        )
    other = session.exec(select(Record.id).where(Record.leaf_hash == leaf)).first()
    if other is not None:
        return finding(ReceiptOutcome.conflict, f"record {other} holds the same leaf")
    # 3. Something we can re-insert from the receipt alone?
    kind = str(record.get("kind", ""))
    if kind not in RESTORABLE_KINDS:
        return finding(
            ReceiptOutcome.unsupported_kind,
            f"a {kind!r} record keeps state beside the record that its receipt does "
            "not carry; restore it from a backup",
        )
    holder = record.get("holder")
    holder_id = holder.get("id") if isinstance(holder, dict) else None
    if not isinstance(holder_id, str) or session.get(Principal, holder_id) is None:
        return finding(
            ReceiptOutcome.unknown_holder,
            f"its holder {holder_id!r} is not in this database: restore the principal first",
        )
    # 4. Where is it in the log? Verify it against the anchored root before placing it there.
    index = leaves.get(leaf)
    if index is not None:
        batch = _batch_holding(session, index)
        if batch is None or batch.log_size is None:
            return finding(
                ReceiptOutcome.conflict,
                f"its leaf is at log index {index} but no batch holds that index",
            )
        anchored_root = roots.get(batch.log_size)
        if anchored_root is not None:
            proof = inclusion_proof(session, index, batch.log_size)
            recomputed = root_from_inclusion_proof(
                bytes.fromhex(leaf), index, batch.log_size, proof
            )
            if recomputed.hex() != anchored_root:
                return finding(
                    ReceiptOutcome.conflict,
                    f"its inclusion proof at index {index} does not lead to the root "
                    f"anchored at size {batch.log_size}",
                    index,
                )
            state = f"anchored at size {batch.log_size}"
        else:
            state = f"sealed in batch {batch.seq}, not anchored yet"
        return finding(
            ReceiptOutcome.restorable, f"the log holds its leaf at index {index} ({state})", index
        )
    if report.lost is not None:
        return finding(
            ReceiptOutcome.lost,
            f"its leaf is not in the database's log, which lost entries {report.lost}: "
            "it cannot be placed until they are restored",
        )
    return finding(
        ReceiptOutcome.pending, "never sealed into the log: accepted again, to be anchored"
    )


def _batch_holding(session: Session, index: int) -> Batch | None:
    return session.exec(
        select(Batch).where(col(Batch.log_start) <= index, col(Batch.log_size) > index)
    ).first()


def _insert(session: Session, receipt: Receipt, index: int | None) -> None:
    """The record row, byte for byte what was receipted; at its log index if it has one."""
    body = receipt.record
    typed = parse_record(body)
    # only kinds whose receipt carries all their state are restored (RESTORABLE_KINDS)
    assert isinstance(typed, EvidenceRecord | WorkRecord)
    kind, holder_id = typed.kind, typed.holder.id
    content = content_of(typed)
    sha256 = content.sha256 if content is not None else None
    dedup = dedup_key(kind, holder_id, sha256) if sha256 else None
    if (
        dedup is not None
        and session.exec(select(Record.id).where(Record.dedup_key == dedup)).first() is not None
    ):
        dedup = None  # the holder submitted the same content again since: both records stand
    batch = _batch_holding(session, index) if index is not None else None
    cid = content.cid if content is not None else None
    session.add(
        Record(
            id=str(body["id"]),
            kind=kind,
            owner_id=holder_id,
            dedup_key=dedup,
            body=canonical_json(body).decode("utf-8"),
            leaf_hash=receipt.leaf_hash,
            content_sha256=sha256,
            content_cid=cid,
            received_at=parse_time(typed.received_at),
            batch_seq=batch.seq if batch is not None else None,
            log_index=index,
        )
    )
