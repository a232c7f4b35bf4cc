"""Getting each checkpoint attested by parties other than the operator: witnesses and TSAs.

* :class:`WitnessSubmitter` sends every checkpoint, in order, to one witness over C2SP
  tlog-witness (``POST <prefix>/add-checkpoint`` with a consistency proof from the size the
  witness last cosigned) and keeps the timestamped cosignature it answers with (tlog-cosignature).
  A witness that was down is caught up checkpoint by checkpoint; one that reports another size
  (409) is answered with a proof from that size; one that refuses (403, 404, 422, or 409 on the
  same size: a fork) is reported and retried later, never ignored.
* :class:`TimestampRequester` asks one RFC 3161 TSA for a token over each checkpoint's note text.

Each endpoint runs in its own thread (:class:`AttestationLoop`) on the leader only, so a slow or
dead witness delays nothing but its own cosignatures; the anchoring worker certifies a checkpoint
once enough of them arrived (``anchoring.certify_ready``). Every endpoint keeps an
:class:`EndpointState` for ``/readyz``, and the same state in ``notary_witness_up`` /
``notary_tsa_up``; each request's latency and each failed round are counted
(``ipnotary.service.observability.metrics``), and a failed round logs ``witness_down`` /
``tsa_down``, the first good one after it ``witness_recovered`` / ``tsa_recovered``.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from cryptography import x509
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.note import cosignature_verifier_from_vkey, parse_note, parse_signature_lines
from ipnotary.sdk.redaction import redact_url
from ipnotary.sdk.timestamp import TimestampError, read_token, request_token, verify_token
from ipnotary.service.errors import DependencyUnavailable
from ipnotary.service.observability import metrics
from ipnotary.service.observability.logs import event
from ipnotary.service.services.transparency_log import checkpoint_digest, consistency_proof
from ipnotary.service.storage.models import Batch, Cosignature, TimestampToken

__all__ = [
    "AttestationLoop",
    "EndpointState",
    "TimestampRequester",
    "WitnessRefused",
    "WitnessSubmitter",
]

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
# How many checkpoints one round sends at most, so a far-behind witness yields to shutdown.
ROUND_LIMIT = 500


class WitnessRefused(DependencyUnavailable):
    """The witness answered, and refused to cosign (it is up, but does not accept our log)."""

    code = "witness_refused"


@dataclass
class EndpointState:
    """What ``/readyz`` shows for one witness or TSA."""

    name: str
    url: str
    kind: str  # "witness" or "timestamp_authority"
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    attested_size: int = 0  # the largest checkpoint it attested
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, size: int) -> None:
        with self.lock:
            self.last_ok_at = datetime.now(UTC)
            self.last_error = None
            self.consecutive_failures = 0
            self.attested_size = max(self.attested_size, size)

    def failed(self, message: str) -> None:
        with self.lock:
            self.last_error = message[:500]
            self.last_error_at = datetime.now(UTC)
            self.consecutive_failures += 1

    def report(self) -> dict[str, object]:
        with self.lock:
            return {
                "name": self.name,
                "ok": self.consecutive_failures == 0,
                "attested_size": self.attested_size,
                "last_ok_at": self.last_ok_at.isoformat() if self.last_ok_at else None,
                "last_error": self.last_error,
                "consecutive_failures": self.consecutive_failures,
            }


class WitnessSubmitter:
    """Sends the log's checkpoints to one witness and stores its cosignatures."""

    def __init__(self, engine: Engine, *, url: str, vkey: str, client: httpx.Client) -> None:
        self._engine = engine
        self.verifier = cosignature_verifier_from_vkey(vkey)  # Ed25519 or ML-DSA-44
        self.name = self.verifier.name
        self._endpoint = url.rstrip("/") + "/add-checkpoint"
        self._client = client
        self.state = EndpointState(self.name, url, "witness")
        self._known_size: int | None = None  # the size the witness last told us it holds

    def run_once(self) -> int:
        """Send every checkpoint this witness has not cosigned yet, oldest first."""
        with Session(self._engine) as session:
            if self._known_size is None:
                self._known_size = self._cosigned_size(session)
            pending = session.exec(
                # >=: a witness that reported (409) a size we hold no cosignature for gets
                # that same checkpoint again and cosigns it (tlog-witness allows old == size).
                select(Batch)
                .where(
                    col(Batch.log_size).is_not(None),
                    col(Batch.log_size) >= self._known_size,
                    ~col(Batch.seq).in_(
                        select(Cosignature.batch_seq).where(Cosignature.witness == self.name)
                    ),
                )
                .order_by(col(Batch.log_size))
                .limit(ROUND_LIMIT)
            ).all()
            done = 0
            for batch in pending:
                self._submit(session, batch)
                done += 1
            return done

    def _cosigned_size(self, session: Session) -> int:
        size = session.exec(
            select(Batch.log_size)
            .join(Cosignature, col(Cosignature.batch_seq) == Batch.seq)
            .where(Cosignature.witness == self.name)
            .order_by(col(Batch.log_size).desc())
            .limit(1)
        ).first()
        return int(size or 0)

    def _submit(self, session: Session, batch: Batch) -> None:
        assert batch.log_size is not None and batch.checkpoint is not None
        for _ in range(3):  # a 409 tells us the witness's size; try again from there
            old = self._known_size or 0
            if old > batch.log_size:
                # The witness has moved past this checkpoint: it can no longer cosign it (a later
                # one will carry the records). That is only sound if the size it holds is one of
                # our own checkpoints; otherwise our log is not the one it saw.
                if session.exec(select(Batch.seq).where(Batch.log_size == old)).first() is None:
                    raise WitnessRefused(
                        f"witness {self.name} holds our log at size {old}, a checkpoint this "
                        "database never made: the log has FORKED, or the database was restored "
                        "from an older state (see docs/trust.md)"
                    )
                return
            proof = consistency_proof(session, old, batch.log_size) if old else []
            body = (
                f"old {old}\n"
                + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
                + "\n"
                + batch.checkpoint
            )
            started = time.perf_counter()
            try:
                response = self._client.post(self._endpoint, content=body.encode("utf-8"))
            except httpx.HTTPError as exc:
                raise DependencyUnavailable(
                    f"witness {self.name} at {redact_url(self.state.url)} "
                    f"is unreachable: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                metrics.WITNESS_REQUEST_DURATION.labels(self.name).observe(
                    time.perf_counter() - started
                )
            text = response.text[:MAX_RESPONSE_BYTES]
            if response.status_code == 200:
                self._store(session, batch, text)
                self._known_size = batch.log_size
                self.state.ok(batch.log_size)
                return
            if response.status_code == 409 and response.headers.get("content-type", "").startswith(
                "text/x.tlog.size"
            ):
                try:
                    self._known_size = int(text.strip())
                except ValueError:
                    raise WitnessRefused(
                        f"witness {self.name} answered 409 with a malformed size {text[:40]!r}"
                    ) from None
                if self._known_size == old:
                    raise WitnessRefused(f"witness {self.name} holds size {old} yet refused it")
                continue
            raise WitnessRefused(self._refusal(response.status_code, text, batch.log_size, old))
        raise WitnessRefused(f"witness {self.name} kept changing its size; will retry")

    def _refusal(self, status: int, text: str, size: int, old: int) -> str:
        meaning = {
            400: "it found the request malformed",
            403: "it does not trust our log key (register the log's vkey with the witness)",
            404: "it does not know our log's origin (register the log with the witness)",
            409: "it holds another tree of the same size: the log has FORKED, or our database "
            "was restored from an older state",
            422: f"our consistency proof from size {old} does not verify against what it saw: "
            "the log has FORKED, or our database was restored from an older state",
        }.get(status, "unexpected status")
        return (
            f"witness {self.name} refused checkpoint {size} with {status}: {meaning} "
            f"({text.strip()[:200]!r})"
        )

    def _store(self, session: Session, batch: Batch, response: str) -> None:
        try:
            signatures = parse_signature_lines(response)
        except FormatError as exc:
            raise WitnessRefused(
                f"witness {self.name} answered with no signature lines: {exc}"
            ) from exc
        text = parse_note(batch.checkpoint or "").text
        for sig in signatures:
            if not self.verifier.matches(sig):
                continue  # other keys the witness holds: ignored, as tlog-witness says
            stamp = self.verifier.verify(text, sig)
            if stamp is None:
                raise WitnessRefused(
                    f"witness {self.name}'s cosignature on checkpoint "
                    f"{batch.log_size} does not verify with its configured key"
                )
            session.add(
                Cosignature(
                    batch_seq=batch.seq or 0,
                    witness=self.name,
                    timestamp=stamp,
                    signature_line=sig.line(),
                    received_at=datetime.now(UTC),
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # stored already by an earlier round that crashed after it
            return
        raise WitnessRefused(
            f"witness {self.name} answered without a cosignature by its "
            f"configured key ({self.verifier.name})"
        )


class TimestampRequester:
    """Asks one RFC 3161 TSA for a token over each checkpoint, and keeps it."""

    def __init__(
        self,
        engine: Engine,
        *,
        url: str,
        client: httpx.Client,
        roots: Sequence[x509.Certificate] = (),
        timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self.url = url
        self._client = client
        self._roots = list(roots)
        self._timeout = timeout
        # Named by its whole URL (secrets masked), not its host: two TSAs behind one host are two
        # authorities, with a /readyz entry and metric series each.
        self.state = EndpointState(redact_url(url), url, "timestamp_authority")
        self._stamped_size: int | None = None

    def run_once(self) -> int:
        with Session(self._engine) as session:
            if self._stamped_size is None:  # checkpoints are stamped in order: start after the last
                self._stamped_size = int(
                    session.exec(
                        select(func.max(Batch.log_size))
                        .join(TimestampToken, col(TimestampToken.batch_seq) == Batch.seq)
                        .where(TimestampToken.authority == self.url)
                    ).one()
                    or 0
                )
            pending = session.exec(
                select(Batch)
                .where(col(Batch.log_size) > self._stamped_size)
                .order_by(col(Batch.log_size))
                .limit(ROUND_LIMIT)
            ).all()
            for batch in pending:
                assert batch.checkpoint is not None and batch.log_size is not None
                digest = checkpoint_digest(batch.checkpoint)
                started = time.perf_counter()
                try:
                    try:
                        token = request_token(
                            self.url, digest, timeout=self._timeout, client=self._client
                        )
                    finally:
                        metrics.TSA_REQUEST_DURATION.labels(self.state.name).observe(
                            time.perf_counter() - started
                        )
                    info = (
                        verify_token(token, digest=digest, trusted_roots=self._roots)
                        if self._roots
                        else read_token(token)
                    )
                except (TimestampError, FormatError) as exc:
                    raise DependencyUnavailable(
                        f"time-stamp authority {redact_url(self.url)}: {exc}"
                    ) from exc
                session.add(
                    TimestampToken(
                        batch_seq=batch.seq or 0,
                        authority=self.url,
                        token=token,
                        gen_time=info.gen_time,
                        received_at=datetime.now(UTC),
                    )
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                self._stamped_size = batch.log_size
                self.state.ok(batch.log_size)
            return len(pending)


class AttestationLoop:
    """Runs one endpoint's ``run_once`` in its own thread while this process leads."""

    def __init__(
        self,
        endpoint: WitnessSubmitter | TimestampRequester,
        *,
        poll_seconds: float = 0.25,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self._poll = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._kind = "witness" if isinstance(endpoint, WitnessSubmitter) else "tsa"
        metrics.attestation_registered(self._kind, endpoint.state.name)

    def run(self, stop: threading.Event, is_leader: Callable[[], bool]) -> None:
        backoff = 0.0
        down = False  # a failure was logged and no round has succeeded since
        while not stop.is_set():
            if not is_leader():
                stop.wait(1.0)
                continue
            state = self.endpoint.state
            try:
                self.endpoint.run_once()
            except Exception as exc:  # noqa: BLE001 - an endpoint's outage must not end its loop
                backoff = min(self._max_backoff, max(0.5, backoff * 2))
                down = True
                state.failed(f"{type(exc).__name__}: {exc}")
                refused = isinstance(exc, WitnessRefused)
                metrics.attestation_failed(self._kind, state.name, refused=refused)
                log.warning(
                    "%s %s failed (retrying in %.1fs): %s",
                    state.kind,
                    state.name,
                    backoff,
                    exc,
                    extra=event(
                        f"{self._kind}_down",
                        **{self._kind: state.name},
                        reason=("refused" if refused else "unreachable")
                        if self._kind == "witness"
                        else "failed",
                        consecutive_failures=state.consecutive_failures,
                        backoff_seconds=backoff,
                    ),
                )
                stop.wait(backoff)
                continue
            with state.lock:
                healthy = state.consecutive_failures == 0  # as /readyz judges it
            if healthy:
                metrics.attestation_succeeded(self._kind, state.name)
                if down:
                    log.info(
                        "%s %s attests again (log size %d)",
                        state.kind,
                        state.name,
                        state.attested_size,
                        extra=event(
                            f"{self._kind}_recovered",
                            **{self._kind: state.name},
                            attested_size=state.attested_size,
                        ),
                    )
                down = False
            backoff = 0.0
            stop.wait(self._poll)
