"""The composition root: builds every adapter from :class:`Settings` and wires the service.

Start reading here to see which database, content store and chain a running service uses. Nothing
is created at import time; ``Runtime.start`` is called by the app's lifespan (or a test).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session

from client_sdk.note import NoteSigner
from client_sdk.policy import TrustPolicy
from client_sdk.redaction import Redactor
from client_sdk.signing import key_id
from notary.config import ChainBackend, ContentBackend, Settings
from notary.errors import ChainUnusable, ConfigurationError, DependencyUnavailable
from notary.observability import metrics
from notary.services.anchoring import AnchoringWorker, CertificationRule, certified_log_size
from notary.services.attestation import AttestationLoop, TimestampRequester, WitnessSubmitter
from notary.services.deployment import check_anchoring_account
from notary.services.issuer import Issuer
from notary.services.keys import load_or_create_ed25519_key
from notary.services.leadership import LeaderLock, leader_lock_for
from notary.services.transparency_log import TransparencyLog, log_size
from notary.services.trust import load_tsa_roots, served_policy
from notary.storage.content import ContentStore, EmbeddedContentStore, KuboContentStore
from notary.storage.db import create_db_engine, migrate
from notary.storage.models import Principal

if TYPE_CHECKING:  # only for annotations: web3 is imported when the chain is first used
    from chain import (
        AnchoredBatch,
        AnchoringAccount,
        AnchorReceipt,
        EvidenceRegistryClient,
        PledgeRegistryClient,
    )
    from client_sdk.chain_view import RegistryChainView

__all__ = ["ChainGateway", "PrincipalCache", "Runtime", "redactor_for"]

log = logging.getLogger(__name__)


class ChainGateway:
    """Connects to the chain on first use and again after a failure.

    The service must start, and accept receipts, while the node is down: nothing here connects
    eagerly, and every failure is translated to ``ChainUnusable`` at this boundary, and
    counted there in ``notary_chain_errors`` by operation.
    """

    def __init__(
        self,
        connect: Callable[[], EvidenceRegistryClient],
        *,
        pledge_registry_address: str | None = None,
    ) -> None:
        self._connect = connect
        self._pledge_address = pledge_registry_address
        self._client: EvidenceRegistryClient | None = None
        self._pledges: PledgeRegistryClient | None = None
        self._lock = threading.Lock()

    def client(self) -> EvidenceRegistryClient:
        from chain.errors import ChainError

        with self._lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except ChainError as exc:
                    _count_chain_error("connect", exc)
                    raise ChainUnusable(f"cannot use the chain: {exc}") from exc
            return self._client

    def pledges(self) -> PledgeRegistryClient:
        """The PledgeRegistry client on the same chain, account and sender (deployed on first
        use)."""
        from chain.errors import ChainError
        from chain.errors import ChainUnavailable as NodeDown

        client = self.client()
        with self._lock:
            if self._pledges is None:
                try:
                    self._pledges = client.pledge_registry(self._pledge_address)
                except NodeDown as exc:
                    _count_chain_error("pledge_registry", exc)
                    raise ChainUnusable(f"cannot use the chain: {exc}") from exc
                except ChainError as exc:
                    _count_chain_error("pledge_registry", exc)
                    raise ChainUnusable(f"cannot attach the pledge registry: {exc}") from exc
            return self._pledges

    def anchor_root(self, root: bytes, tree_size: int) -> AnchorReceipt:
        from chain.errors import ChainUnavailable as NodeDown

        client = self.client()
        started = time.perf_counter()
        try:
            receipt = client.anchor_root(root, tree_size)
        except NodeDown as exc:
            _count_chain_error("anchor", exc)
            self.reset()  # reconnect next time: the node may come back on another connection
            raise
        except Exception as exc:
            _count_chain_error("anchor", exc)
            raise
        metrics.ANCHOR_DURATION.observe(time.perf_counter() - started)
        return receipt

    def view(self) -> RegistryChainView:
        """A verifier's read-only view of this chain (``client_sdk.verify.ChainView``)."""
        from client_sdk.chain_view import RegistryChainView

        client = self.client()
        return RegistryChainView(client.w3, endpoint="the service's chain")

    def check(self) -> None:
        from chain.errors import ChainError

        try:
            self.client().check()
        except ChainError as exc:
            _count_chain_error("check", exc)
            self.reset()
            raise ChainUnusable(str(exc)) from exc

    def identity(self) -> tuple[int, str] | None:
        """(chain id, registry address) once connected; None before."""
        client = self._client
        if client is None:
            return None
        return int(client.chain_id), str(client.registry_address)

    def latest_checkpoint(self) -> AnchoredBatch | None:
        """``chain.AnchoredBatch`` the registry anchored last (None before the first)."""
        from chain.errors import ChainError

        try:
            return self.client().latest_checkpoint()
        except ChainError as exc:
            _count_chain_error("latest_checkpoint", exc)
            raise ChainUnusable(f"cannot read the registry's latest checkpoint: {exc}") from exc

    def anchoring_account(self) -> AnchoringAccount:
        """``chain.AnchoringAccount``: can this process's key anchor, and pay for it?"""
        from chain.errors import ChainError

        try:
            return self.client().anchoring_account()
        except ChainError as exc:
            _count_chain_error("account", exc)
            raise ChainUnusable(f"cannot read the anchoring account: {exc}") from exc

    def genesis_hash(self) -> str:
        from chain.errors import ChainError

        try:
            return str(self.client().genesis_hash())
        except ChainError as exc:
            _count_chain_error("genesis", exc)
            raise ChainUnusable(f"cannot read the genesis block: {exc}") from exc

    def reset(self) -> None:
        with self._lock:
            client, self._client, self._pledges = self._client, None, None
        if client is not None:
            try:
                client.close()
            except Exception:
                log.debug("closing the chain client failed", exc_info=True)

    def close(self) -> None:
        self.reset()


def _count_chain_error(operation: str, exc: BaseException) -> None:
    metrics.CHAIN_ERRORS.labels(operation, type(exc).__name__).inc()


class PrincipalCache:
    """API key -> principal, for a few seconds, so a request costs no authentication queries.

    Entries are snapshots (new transient objects per request, never shared ORM instances);
    ``invalidate`` drops a principal at once when its keys or state change. Revocation therefore
    takes effect within ``ttl`` seconds at most across processes, at once in this one; a key with
    an expiry is never served from the cache past it.
    """

    def __init__(self, engine: Engine, *, ttl: float = 5.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    def authenticate(self, key: str | None) -> Principal:
        from sqlmodel import Session

        from notary.services.principals import authenticate_key, hash_api_key

        digest = hash_api_key(key) if key else ""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return Principal(**hit[1])
        with Session(self._engine) as session:
            principal, seconds_left = authenticate_key(session, key)
            fields = principal.model_dump()
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (now + min(self._ttl, seconds_left), fields)
        return Principal(**fields)

    def invalidate(self, principal_id: str) -> None:
        with self._lock:
            for digest in [d for d, (_, f) in self._entries.items() if f["id"] == principal_id]:
                del self._entries[digest]


def _connect_chain(settings: Settings) -> Callable[[], EvidenceRegistryClient]:
    key = settings.chain_private_key.get_secret_value() if settings.chain_private_key else None
    if key is None and settings.chain_backend is ChainBackend.embedded:
        from chain import load_or_create_signer_key
        from chain.errors import ChainError

        try:  # once, here: opening an encrypted key costs scrypt's second
            key = load_or_create_signer_key(settings.chain_dir,
                                            passphrase=settings.resolved_key_passphrase)
        except ChainError as exc:
            raise ConfigurationError(f"{exc} (NOTARY_KEY_PASSPHRASE or NOTARY_KEY_PASSPHRASE_FILE)",
                                     code="chain_key_unreadable") from exc

    def connect() -> EvidenceRegistryClient:
        from chain import DEFAULT_CHAIN_ID, EvidenceRegistryClient

        if settings.chain_backend is ChainBackend.embedded:
            return EvidenceRegistryClient.connect_embedded(
                settings.chain_dir,
                chain_id=settings.chain_id or DEFAULT_CHAIN_ID,
                private_key=key,
                registry_address=settings.registry_address,
            )
        assert settings.chain_rpc_url is not None
        if key is None:
            raise ConfigurationError("NOTARY_CHAIN_PRIVATE_KEY is needed to anchor on an RPC chain")
        return EvidenceRegistryClient.connect_rpc(
            settings.chain_rpc_url,
            private_key=key,
            expected_chain_id=settings.chain_id,
            registry_address=settings.registry_address,
            state_dir=settings.chain_dir,
            confirmations=settings.chain_confirmations,
            timeout=settings.chain_timeout_seconds,
        )

    return connect


def redactor_for(settings: Settings) -> Redactor:
    """Cleans text of the secrets of every URL the settings name (chain node, Kubo, database,
    witnesses, TSAs) and of the chain key: what readiness, problems and logs may show."""
    key = settings.chain_private_key.get_secret_value() if settings.chain_private_key else None
    urls = [settings.chain_rpc_url, settings.kubo_api_url, settings.database_url,
            *(w.url for w in settings.witnesses), *settings.tsa_urls]
    known = Redactor.for_urls(urls).secrets
    return Redactor([*known, key] if key else known)


def default_log_origin(log_key_id: str) -> str:
    """A development log's origin, derived from its key so two deployments never share one.
    Production sets ``NOTARY_LOG_ORIGIN`` to a URL naming the deployment."""
    return f"ip-notary.local/log/{log_key_id[:16]}"


def build_log(settings: Settings) -> TransparencyLog:
    """The log's identity: its key (created on first use) and origin. Witness operators register
    exactly this origin and verifier key (``notary log show`` prints them)."""
    log_key = load_or_create_ed25519_key(settings.resolved_log_key_file, purpose="log",
                                         passphrase=settings.resolved_key_passphrase)
    origin = settings.log_origin or default_log_origin(key_id(log_key.public_key()))
    return TransparencyLog(origin, NoteSigner(origin, log_key))


def _content_store(settings: Settings) -> ContentStore:
    if settings.content_backend is ContentBackend.kubo:
        return KuboContentStore(settings.kubo_api_url)
    return EmbeddedContentStore(settings.content_dir)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    content_store: ContentStore
    chain: ChainGateway
    issuer: Issuer
    log: TransparencyLog
    worker: AnchoringWorker
    attestation: list[AttestationLoop]
    leader: LeaderLock
    principals: PrincipalCache
    _http: httpx.Client
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _policy: TrustPolicy | None = None

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.check_safety()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_db_engine(settings.resolved_database_url)
        migrate(engine)
        chain = ChainGateway(_connect_chain(settings),
                             pledge_registry_address=settings.pledge_registry_address)
        log = build_log(settings)
        with Session(engine) as session:
            log.check_origin(session)
        http = httpx.Client(timeout=settings.witness_timeout_seconds,
                            limits=httpx.Limits(max_connections=len(settings.witnesses) + 8))
        submitters = [WitnessSubmitter(engine, url=w.url, vkey=w.key, client=http)
                      for w in settings.witnesses]
        roots = load_tsa_roots(settings)
        stampers = [TimestampRequester(engine, url=url, client=http, roots=roots,
                                       timeout=settings.tsa_timeout_seconds)
                    for url in settings.tsa_urls]
        # The worker talks to the gateway, not a client, so that it reconnects after outages.
        worker = AnchoringWorker(
            engine,
            chain,
            log,
            max_items=settings.batch_max_items,
            interval_seconds=settings.batch_interval_seconds,
            certification=CertificationRule(
                witnesses=frozenset(s.name for s in submitters),
                cosignatures=settings.required_cosignatures,
                authorities=frozenset(settings.tsa_urls),
                timestamps=settings.required_timestamps,
            ),
        )
        runtime = cls(
            settings=settings,
            engine=engine,
            content_store=_content_store(settings),
            chain=chain,
            issuer=Issuer(load_or_create_ed25519_key(settings.resolved_issuer_key_file,
                                                     purpose="issuer",
                                                     passphrase=settings.resolved_key_passphrase)),
            log=log,
            worker=worker,
            attestation=[*(AttestationLoop(w) for w in submitters),
                         *(AttestationLoop(t) for t in stampers)],
            leader=leader_lock_for(engine, settings.data_dir),
            principals=PrincipalCache(engine),
            _http=http,
        )
        runtime.issuer.policy_source = runtime.trust_policy
        return runtime

    def trust_policy(self) -> TrustPolicy:
        """The policy this deployment suggests (``services.trust``); built once. Suggesting the
        chain for time needs its genesis hash, so then the first call needs the chain."""
        if self._policy is None:
            chain = None
            if self.settings.chain_trusted_for_time:
                self.chain.client()  # connects, or 503 chain_unavailable
                ident = self.chain.identity()
                assert ident is not None
                chain = (ident[0], self.chain.genesis_hash(), ident[1])
            self._policy = served_policy(settings=self.settings, issuer=self.issuer, log=self.log,
                                         chain=chain)
        return self._policy

    def start(self) -> None:
        """Start the anchoring loop and the witness/TSA loops (they act only while this process
        leads), and the housekeeping."""
        if self.settings.run_anchoring_worker and not self._threads:
            self._stop.clear()
            self._spawn("anchoring-worker", self.worker.run_forever, self._stop,
                        is_leader=self.leader.try_acquire)
            for loop in self.attestation:
                self._spawn(f"attest-{loop.endpoint.state.name}", loop.run, self._stop,
                            lambda: self.worker.is_leader)
            self._spawn("housekeeping", self._housekeep)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _housekeep(self, period: float = 60.0) -> None:
        """Leader-only periodic duties: erase credit entries whose publicity period has ended
        (their personal data must go even if nobody asks about the subject again)."""
        from sqlmodel import Session

        from notary.services.credit import sweep_expired

        while not self._stop.wait(period):
            if not self.worker.is_leader:
                continue
            try:
                with Session(self.engine) as session:
                    sweep_expired(session)
            except Exception:
                log.warning("erasing expired credit entries failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self.worker.nudge()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        self.leader.release()
        self.chain.close()
        self._http.close()
        self.engine.dispose()

    def readiness(self) -> dict[str, dict[str, Any]]:
        """Each dependency's state; ``ok`` False names what is down. Error texts are cleaned of
        the configured URLs' credentials (:func:`redactor_for`): a node's error quotes its URL."""
        checks = self._readiness()
        cleaned: dict[str, dict[str, Any]] = redactor_for(self.settings).value(checks)
        return cleaned

    def _readiness(self) -> dict[str, dict[str, Any]]:
        checks: dict[str, dict[str, Any]] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["database"] = {"ok": False, "error": _short(exc)}
        try:
            self.content_store.check()
            checks["content_store"] = {"ok": True, "backend": self.settings.content_backend.value}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["content_store"] = {"ok": False, "error": _short(exc)}
        chain_ok = False
        try:
            self.chain.check()
            ident = self.chain.identity()
            # Every process, follower or leader: a key that cannot anchor is found before a
            # failover makes this process the one that must (services.deployment).
            account = check_anchoring_account(self.chain.anchoring_account())
            chain_ok = account.ok
            checks["chain"] = {"ok": account.ok, "chain_id": ident[0] if ident else None,
                               "contract": ident[1] if ident else None, **account.detail}
            if account.problem:
                checks["chain"]["error"] = account.problem
        except (DependencyUnavailable, ConfigurationError) as exc:
            checks["chain"] = {"ok": False, "error": _short(exc)}
        state = self.worker.state
        if chain_ok and self.worker.is_backing_off():
            # The chain answers again: retry now rather than at the end of the backoff, so the
            # backlog clears and this process reports what the others do.
            self.worker.nudge()
        with state.lock:
            # Failures the chain explains are the chain's check, not the worker's: once the
            # chain answers, the leader is as ready as any follower.
            worker_ok = state.consecutive_failures < 3 or (chain_ok and state.last_error_is_chain)
            checks["anchoring"] = {
                "ok": worker_ok,
                "leader": self.worker.is_leader,
                "last_error": state.last_error,
                "consecutive_failures": state.consecutive_failures,
                "anchored_batches": state.anchored_batches,
            }
        try:
            with Session(self.engine) as session:
                # Records between the two sizes are in the log, awaiting anchor, witnesses or TSAs.
                checks["log"] = {"ok": True, "origin": self.log.origin, "size": log_size(session),
                                 "certified_size": certified_log_size(session)}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["log"] = {"ok": False, "error": _short(exc)}
        for check, kind, quorum in (
            ("witnesses", "witness", self.settings.required_cosignatures),
            ("timestamp_authorities", "timestamp_authority", self.settings.required_timestamps),
        ):
            members = [loop.endpoint.state.report() for loop in self.attestation
                       if loop.endpoint.state.kind == kind]
            if members:
                healthy = sum(1 for m in members if m["ok"])
                # Ready while the quorum can still be met: a member that is down is named, but
                # certificates still come.
                checks[check] = {
                    "ok": healthy >= quorum, "quorum": quorum, "healthy": healthy,
                    "down": [m["name"] for m in members if not m["ok"]], "members": members,
                }
        return checks


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
