"""Reading anchors for the verifier from any node of the chain, or an embedded chain's directory.

This is the verifier's only way to the chain (``verify.ChainView``). It goes through
``chain.AnchorReader``, which refuses an address whose runtime code is not our registry's compiled
code (the checkpoint registry, or the version 1 batch registry for old certificates): a look-alike
contract that "confirms" any root cannot pass as ours. Chain errors become ``ChainReadError``
here; the verifier turns them into a failed step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ipnotary.sdk.errors import ChainReadError
from ipnotary.sdk.redaction import Redactor, redact_url
from ipnotary.sdk.verify import AnchorView

if TYPE_CHECKING:  # web3 is the SDK's `chain` extra: imported when a reader is opened
    from ipnotary.chain import PledgeReader

__all__ = ["RegistryChainView", "open_chain_view", "open_pledge_reader"]

T = TypeVar("T")


class RegistryChainView:
    """A ``ChainView`` over one web3 connection; one ``AnchorReader`` per registry address."""

    def __init__(
        self, w3: Any, *, endpoint: str, embedded: Any = None, owns_embedded: bool = False
    ) -> None:
        self._w3 = w3
        # A node URL may carry credentials (https://user:pass@host/v3/<API key>): never shown.
        self._endpoint = redact_url(endpoint) if "://" in endpoint else endpoint
        provider_url = getattr(getattr(w3, "provider", None), "endpoint_uri", None)
        self._redact = Redactor.for_urls([endpoint, provider_url])
        self._embedded = embedded
        self._owns_embedded = owns_embedded
        self._readers: dict[str, Any] = {}

    def _reader(self, contract: str) -> Any:
        from ipnotary.chain import AnchorReader
        from ipnotary.chain.errors import ChainError

        key = contract.lower()
        if key not in self._readers:
            try:
                self._readers[key] = AnchorReader(
                    self._w3,
                    registry_address=contract,
                    endpoint=self._endpoint,
                    embedded=self._embedded,
                )
            except ChainError as exc:
                raise ChainReadError(str(exc)) from exc
        return self._readers[key]

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        from ipnotary.chain.errors import ChainError

        try:
            return fn(*args)
        except ChainError as exc:
            raise ChainReadError(str(exc)) from exc
        except Exception as exc:
            raise ChainReadError(self._redact(f"cannot read {self._endpoint}: {exc}")) from exc

    def chain_id(self) -> int:
        return self._call(lambda: int(self._w3.eth.chain_id))

    def genesis_hash(self) -> str:
        return self._call(lambda: "0x" + bytes(self._w3.eth.get_block(0)["hash"]).hex())

    def find_anchor(self, contract: str, root: bytes) -> AnchorView | None:
        found = self._call(self._reader(contract).find_root, root)
        if found is None:
            return None
        return AnchorView(
            batch_id=int(found.batch_id),
            tree_size=int(found.tree_size),
            timestamp=int(found.timestamp),
            block_number=int(found.block_number),
            root=bytes(found.root),
        )

    def anchor_in_transaction(self, contract: str, tx_hash: str) -> AnchorView | None:
        from ipnotary.chain.errors import AnchorEventNotFound

        try:
            receipt = self._call(self._reader(contract).anchor_from_transaction, tx_hash)
        except ChainReadError as exc:
            if isinstance(exc.__cause__, AnchorEventNotFound):
                return None
            raise
        return AnchorView(
            batch_id=int(receipt.batch_id),
            tree_size=int(receipt.tree_size),
            timestamp=int(receipt.block_timestamp),
            block_number=int(receipt.block_number),
            root=bytes(receipt.root),
        )

    def block_hash_and_time(self, block_number: int) -> tuple[str, int] | None:
        if not self._readers:
            raise ChainReadError("find_anchor must run before block lookups")
        reader = next(iter(self._readers.values()))
        try:
            info = self._call(reader.block, block_number)
        except ChainReadError as exc:
            if isinstance(exc.__cause__, LookupError):
                return None
            raise
        return str(info.hash), int(info.timestamp)

    def head_block_number(self) -> int:
        if self._readers:
            return int(self._call(next(iter(self._readers.values())).head))
        return self._call(lambda: int(self._w3.eth.block_number))

    def close(self) -> None:
        if self._owns_embedded and self._embedded is not None:
            self._embedded.close()


# What a missing dependency means to someone holding only the SDK.
_NEEDS_WEB3 = (
    "reading a chain needs web3, which this installation lacks ({name} is missing): "
    "pip install 'ip-notary-sdk[chain]'"
)
_NEEDS_PY_EVM = (
    "an embedded chain's directory is read with py-evm ({name} is missing), which "
    "comes with the service (ip-notary), not the SDK; read the chain through any "
    "node of it instead (rpc_url, `--rpc URL`)"
)


@contextmanager
def _chain_access(*, embedded: bool) -> Iterator[None]:
    """Translate what can go wrong opening a chain into :class:`ChainReadError`: a dependency
    this installation lacks (named, with what to install) or the chain layer's own errors."""
    try:
        from ipnotary.chain.errors import ChainError
    except ImportError as exc:
        raise ChainReadError(_NEEDS_WEB3.format(name=exc.name)) from exc
    try:
        yield
    except ImportError as exc:
        raise ChainReadError(
            (_NEEDS_PY_EVM if embedded else _NEEDS_WEB3).format(name=exc.name)
        ) from exc
    except ChainError as exc:
        raise ChainReadError(str(exc)) from exc


def open_chain_view(
    *,
    rpc_url: str | None = None,
    embedded_dir: str | os.PathLike[str] | None = None,
    request_timeout: float = 10.0,
) -> RegistryChainView:
    """A view through a JSON-RPC node (``rpc_url``) or an embedded chain directory, read-only.

    Reading a node needs web3 (``pip install 'ip-notary-sdk[chain]'``); reading an embedded
    chain's directory needs py-evm, which comes with the service only. Either missing raises
    :class:`ChainReadError` saying which to install."""
    if (rpc_url is None) == (embedded_dir is None):
        raise ValueError("give exactly one of rpc_url or embedded_dir")
    with _chain_access(embedded=embedded_dir is not None):
        if rpc_url is not None:
            from web3 import Web3

            w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": request_timeout}))
            return RegistryChainView(w3, endpoint=rpc_url)
        assert embedded_dir is not None
        from ipnotary.chain import EmbeddedChain  # loads py-evm: only for this branch

        chain = EmbeddedChain.open_read_only(embedded_dir)
        return RegistryChainView(
            chain.w3, endpoint=f"embedded chain {embedded_dir}", embedded=chain, owns_embedded=True
        )


def open_pledge_reader(
    *,
    registry_address: str,
    rpc_url: str | None = None,
    embedded_dir: str | os.PathLike[str] | None = None,
) -> PledgeReader:
    """A read-only :class:`~ipnotary.chain.PledgeReader` of the registry at ``registry_address``
    through a node or an embedded chain's directory; missing dependencies and unreadable chains
    raise :class:`ChainReadError` as :func:`open_chain_view` does."""
    if (rpc_url is None) == (embedded_dir is None):
        raise ValueError("give exactly one of rpc_url or embedded_dir")
    with _chain_access(embedded=embedded_dir is not None):
        from ipnotary.chain import PledgeReader

        if rpc_url is not None:
            return PledgeReader.from_rpc(rpc_url, registry_address=registry_address)
        assert embedded_dir is not None
        return PledgeReader.from_embedded(embedded_dir, registry_address=registry_address)
