"""The service's one door to the chain: connects on first use and again after a failure, and
translates every ``ipnotary.chain.errors.ChainError`` into the service's :class:`ChainUnusable`,
counted in ``notary_chain_errors_total`` by operation. The anchoring worker, the pledge service,
readiness and the deployment checks use the chain only through it.

:class:`ChainPort` is what they need of it; :class:`ChainGateway` is the one the runtime builds
from the settings, and a test hands ``Runtime.build`` another (an in-memory chain).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from ipnotary.service.config import ChainBackend, Settings
from ipnotary.service.errors import ChainUnusable, ConfigurationError
from ipnotary.service.observability import metrics

if TYPE_CHECKING:  # only for annotations: web3 is imported when the chain is first used
    from ipnotary.chain import (
        AnchoredBatch,
        AnchoringAccount,
        AnchorReceipt,
        EvidenceRegistryClient,
        PledgeRegistryClient,
    )
    from ipnotary.sdk.chain_view import RegistryChainView
    from ipnotary.sdk.verify import ChainView
    from ipnotary.service.services.pledges import PledgeLedger

__all__ = ["ChainGateway", "ChainPort", "RegistryConnection", "connect_chain"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class RegistryConnection(Protocol):
    """The connected registry client as the service reads it (``chain.EvidenceRegistryClient``
    fits): its identity, its checkpoints (``services.reconcile.AnchorSource``) and whether this
    process's key can anchor."""

    @property
    def chain_id(self) -> int: ...
    @property
    def registry_address(self) -> str: ...
    def batch_count(self) -> int: ...
    def get_batch(self, batch_id: int) -> AnchoredBatch: ...
    def anchor_receipt_for_root(self, root: bytes) -> AnchorReceipt | None: ...
    def anchoring_account(self) -> AnchoringAccount: ...


class ChainPort(Protocol):
    """What the service needs from its chain (:class:`ChainGateway` fits).

    Its own calls report a chain that cannot be reached or read as ``ChainUnusable``, except
    ``anchor_root``, whose chain errors the anchoring worker sees as they are (it retries them);
    the pledge ledger's calls raise the contract's typed refusals, which ``services.pledges``
    translates.
    """

    def client(self) -> RegistryConnection: ...
    def pledges(self) -> PledgeLedger: ...
    def anchor_root(self, root: bytes, tree_size: int) -> AnchorReceipt: ...
    def latest_checkpoint(self) -> AnchoredBatch | None: ...
    def view(self) -> ChainView: ...
    def check(self) -> None: ...
    def identity(self) -> tuple[int, str] | None: ...
    def anchoring_account(self) -> AnchoringAccount: ...
    def genesis_hash(self) -> str: ...
    def close(self) -> None: ...


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
        from ipnotary.chain.errors import ChainError, WrongChainId

        with self._lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except WrongChainId as exc:  # said in the settings' words, not the chain layer's
                    _count_chain_error("connect", exc)
                    raise ChainUnusable(
                        f"NOTARY_CHAIN_ID is {exc.expected} but the node at NOTARY_CHAIN_RPC_URL "
                        f"serves chain {exc.actual}: point NOTARY_CHAIN_RPC_URL at a node of chain "
                        f"{exc.expected}, or set NOTARY_CHAIN_ID={exc.actual} if that chain is "
                        "the deployment's",
                        code="wrong_chain",
                    ) from exc
                except ChainError as exc:
                    _count_chain_error("connect", exc)
                    raise ChainUnusable(f"cannot use the chain: {exc}") from exc
            return self._client

    def pledges(self) -> PledgeRegistryClient:
        """The PledgeRegistry client on the same chain, account and sender (deployed on first
        use)."""
        from ipnotary.chain.errors import ChainError
        from ipnotary.chain.errors import ChainUnavailable as NodeDown

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
        from ipnotary.chain.errors import ChainUnavailable as NodeDown

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
        """A verifier's read-only view of this chain (``ipnotary.sdk.verify.ChainView``)."""
        from ipnotary.sdk.chain_view import RegistryChainView

        client = self.client()
        return RegistryChainView(client.w3, endpoint="the service's chain")

    def check(self) -> None:
        from ipnotary.chain.errors import ChainError

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
        return self._read(
            "latest_checkpoint",
            "the registry's latest checkpoint",
            lambda client: client.latest_checkpoint(),
        )

    def anchoring_account(self) -> AnchoringAccount:
        """``chain.AnchoringAccount``: can this process's key anchor, and pay for it?"""
        return self._read(
            "account", "the anchoring account", lambda client: client.anchoring_account()
        )

    def genesis_hash(self) -> str:
        return str(self._read("genesis", "the genesis block", lambda client: client.genesis_hash()))

    def _read(self, operation: str, what: str, read: Callable[[EvidenceRegistryClient], T]) -> T:
        """One read through the client: a chain error counted as ``operation`` and translated."""
        from ipnotary.chain.errors import ChainError

        try:
            return read(self.client())
        except ChainError as exc:
            _count_chain_error(operation, exc)
            raise ChainUnusable(f"cannot read {what}: {exc}") from exc

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


def connect_chain(settings: Settings) -> Callable[[], EvidenceRegistryClient]:
    key = settings.chain_private_key.get_secret_value() if settings.chain_private_key else None
    if key is None and settings.chain_backend is ChainBackend.embedded:
        from ipnotary.chain import load_or_create_signer_key
        from ipnotary.chain.errors import ChainError

        try:  # once, here: opening an encrypted key costs scrypt's second
            key = load_or_create_signer_key(
                settings.chain_dir, passphrase=settings.resolved_key_passphrase
            )
        except ChainError as exc:
            raise ConfigurationError(
                f"{exc} (NOTARY_KEY_PASSPHRASE or NOTARY_KEY_PASSPHRASE_FILE)",
                code="chain_key_unreadable",
            ) from exc

    def connect() -> EvidenceRegistryClient:
        from ipnotary.chain import DEFAULT_CHAIN_ID, EvidenceRegistryClient

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
