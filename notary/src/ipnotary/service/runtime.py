"""The composition root: builds every adapter from :class:`Settings` and wires the service.

Start reading here to see which database, content store and chain a running service uses. Nothing
is created at import time; ``Runtime.start`` is called by the app's lifespan (or a test).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from ipnotary.sdk._version import __version__
from ipnotary.sdk.note import NoteSigner
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.signing import key_id
from ipnotary.service.adapters.chain_gateway import ChainGateway, ChainPort, connect_chain
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from ipnotary.service.adapters.principal_cache import PrincipalCache
from ipnotary.service.certificates import CertificatePdf
from ipnotary.service.config import ContentBackend, Settings
from ipnotary.service.services.fleet import Fleet
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.transparency_log import TransparencyLog
from ipnotary.service.services.trust import (
    load_tsa_roots,
    operator_attested_log_size,
    served_policy,
)
from ipnotary.service.storage.content import ContentStore, EmbeddedContentStore, KuboContentStore
from ipnotary.service.storage.db import create_db_engine, migrate
from ipnotary.service.worker.anchoring import (
    AnchoringWorker,
    CertificationRule,
)
from ipnotary.service.worker.attestation import (
    AttestationLoop,
    TimestampRequester,
    WitnessSubmitter,
)
from ipnotary.service.worker.housekeeping import housekeep
from ipnotary.service.worker.leadership import LeaderLock, leader_lock_for

__all__ = ["Runtime", "build_log", "is_new_development_deployment"]

log = logging.getLogger(__name__)


def default_log_origin(log_key_id: str) -> str:
    """A development log's origin, derived from its key so two deployments never share one.
    Production sets ``NOTARY_LOG_ORIGIN`` to a URL naming the deployment."""
    return f"ip-notary.local/log/{log_key_id[:16]}"


def build_log(settings: Settings, *, create: bool = True) -> TransparencyLog:
    """The log's identity: its key (created if missing when ``create``, else refused naming
    NOTARY_LOG_KEY_FILE) and origin. Witness operators register exactly this origin and verifier
    key (``notary log show`` prints them)."""
    log_key = load_or_create_ed25519_key(
        settings.resolved_log_key_file,
        purpose="log",
        passphrase=settings.resolved_key_passphrase,
        create=create,
        setting="NOTARY_LOG_KEY_FILE",
    )
    origin = settings.log_origin or default_log_origin(key_id(log_key.public_key()))
    return TransparencyLog(origin, NoteSigner(origin, log_key))


def is_new_development_deployment(settings: Settings, engine: Engine) -> bool:
    """A development deployment that has signed nothing yet (no record in its database): the one
    place, besides ``notary deploy`` and ``notary log show --init``, where keys are made. Once a
    receipt or checkpoint exists, a key found missing is the wrong settings or a lost file, and
    a new one would sign as a different deployment."""
    from ipnotary.service.config import Environment
    from ipnotary.service.storage.models import Record

    if settings.env is not Environment.development:
        return False
    with Session(engine) as session:
        return session.exec(select(Record.seq).limit(1)).first() is None


def _content_store(settings: Settings) -> ContentStore:
    if settings.content_backend is ContentBackend.kubo:
        return KuboContentStore(settings.kubo_api_url)
    return EmbeddedContentStore(settings.content_dir)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    content_store: ContentStore
    chain: ChainPort
    issuer: Issuer
    log: TransparencyLog
    worker: AnchoringWorker
    attestation: list[AttestationLoop]
    leader: LeaderLock
    principals: PrincipalCache
    certificate_pdf: CertificatePdf
    fleet: Fleet
    _http: httpx.Client
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _policy: TrustPolicy | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        chain: ChainPort | None = None,
        create_keys: bool | None = None,
    ) -> Runtime:
        """Everything ``settings`` names; ``chain`` replaces the chain they name (tests pass an
        in-memory one), and then the chain's key is neither read nor created.

        ``create_keys``: whether missing key files are made (``notary deploy`` says yes). By
        default only for a new development deployment (:func:`is_new_development_deployment`:
        ``make run`` the first time): a key missing from a deployment that exists is refused,
        in one line naming its setting and path, never quietly replaced."""
        settings.check_safety()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_db_engine(settings.resolved_database_url)
        migrate(engine, wait_seconds=settings.startup_timeout_seconds)
        if create_keys is None:
            create_keys = is_new_development_deployment(settings, engine)
        if chain is None:
            chain = ChainGateway(
                connect_chain(settings), pledge_registry_address=settings.pledge_registry_address
            )
        log = build_log(settings, create=create_keys)
        with Session(engine) as session:
            log.check_origin(session)
        http = httpx.Client(
            timeout=settings.witness_timeout_seconds,
            limits=httpx.Limits(max_connections=len(settings.witnesses) + 8),
        )
        submitters = [
            WitnessSubmitter(engine, url=w.url, vkey=w.key, client=http) for w in settings.witnesses
        ]
        roots = load_tsa_roots(settings)
        stampers = [
            TimestampRequester(
                engine, url=url, client=http, roots=roots, timeout=settings.tsa_timeout_seconds
            )
            for url in settings.tsa_urls
        ]
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
            issuer=Issuer(
                load_or_create_ed25519_key(
                    settings.resolved_issuer_key_file,
                    purpose="issuer",
                    passphrase=settings.resolved_key_passphrase,
                    create=create_keys,
                    setting="NOTARY_ISSUER_KEY_FILE",
                )
            ),
            log=log,
            worker=worker,
            attestation=[
                *(AttestationLoop(w) for w in submitters),
                *(AttestationLoop(t) for t in stampers),
            ],
            leader=leader_lock_for(engine, settings.data_dir),
            principals=PrincipalCache(engine),
            # Creates the PDF signing key and the share secret where keys are created.
            certificate_pdf=CertificatePdf.for_settings(
                settings, origin=log.origin, create=create_keys
            ),
            fleet=Fleet(engine, url=settings.resolved_public_url, version=__version__),
            _http=http,
        )
        runtime.issuer.policy_source = runtime.trust_policy
        runtime.fleet.attach(runtime)
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
            with Session(self.engine) as session:
                # Certificates from before witnesses were turned on stay valid, for what they
                # are: the policy names the log size up to which the operator alone vouches.
                before = operator_attested_log_size(session)
            self._policy = served_policy(
                settings=self.settings,
                issuer=self.issuer,
                log=self.log,
                chain=chain,
                operator_attested=before,
            )
        return self._policy

    def start(self) -> None:
        """Start the anchoring loop and the witness/TSA loops (they act only while this process
        leads), the housekeeping, and this process's heartbeat in the fleet's table."""
        if self._threads:
            return
        self._stop.clear()
        self._spawn("fleet-heartbeat", self.fleet.run, self._stop)
        if self.settings.run_anchoring_worker:
            self._spawn(
                "anchoring-worker",
                self.worker.run_forever,
                self._stop,
                is_leader=self.leader.try_acquire,
            )
            for loop in self.attestation:
                self._spawn(
                    f"attest-{loop.endpoint.state.name}",
                    loop.run,
                    self._stop,
                    lambda: self.worker.is_leader,
                )
            self._spawn(
                "housekeeping", housekeep, self.engine, self._stop, lambda: self.worker.is_leader
            )

    def _spawn(self, name: str, target: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

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
