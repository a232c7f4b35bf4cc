"""The in-memory chain the unit tests run the service on (``tests/unit/notary/fakes.py``) answers
as the embedded py-evm chain does: one scenario of anchors and pledges, through the service's
``ChainPort``, gives the same outcomes on both, refusal by refusal.

What the fake leaves out (gas, nonces, top-ups, restarts) is in its docstring; what it keeps is
held to the real contracts here, so a unit test that passes on the fake does not pass only there.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from ipnotary.chain import errors
from ipnotary.service.adapters.chain_gateway import ChainGateway, ChainPort, connect_chain
from ipnotary.service.config import Settings
from tests.unit.notary.fakes import FakeChain


def _h32() -> bytes:
    return os.urandom(32)


class Names:
    """Names for the values a scenario made up (hashes, accounts): the two chains see others, so
    refusals are compared by what they name, not by the bytes."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def __call__(self, name: str, value: Any) -> Any:
        self._names[_key(value)] = name
        return value

    def show(self, value: Any) -> Any:
        if isinstance(value, bytes | str) and _key(value) in self._names:
            return self._names[_key(value)]
        if isinstance(value, bytes):
            return f"<{len(value)} bytes>"
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            return "<another account>"
        return value

    def refusal(self, call: Callable[[], Any]) -> tuple[str, dict[str, Any]]:
        """The chain error ``call`` raises, and what its arguments name."""
        with pytest.raises(errors.ChainError) as info:
            call()
        args = dict(getattr(info.value, "error_args", {}))
        return type(info.value).__name__, {k: self.show(v) for k, v in args.items()}


def _key(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value.lower()


def scenario(chain: ChainPort) -> list[Any]:
    """Everything the service relies on, as a list of what a caller sees."""
    seen: list[Any] = []
    times: list[int] = []
    name = Names()
    refused = name.refusal
    name("REGISTRAR_ROLE", keccak(text="REGISTRAR_ROLE"))

    # The EvidenceRegistry: one log, checkpoints that only grow, each root once.
    first, second = name("first root", _h32()), name("second root", _h32())
    anchored = chain.anchor_root(first, 5)
    times.append(anchored.block_timestamp)
    seen.append(("anchored", anchored.batch_id, anchored.tree_size))
    seen.append(("same checkpoint again", chain.anchor_root(first, 5) == anchored))
    seen.append(refused(lambda: chain.anchor_root(first, 6)))
    seen.append(refused(lambda: chain.anchor_root(second, 5)))
    seen.append(refused(lambda: chain.anchor_root(second, 4)))
    seen.append(refused(lambda: chain.anchor_root(bytes(32), 9)))
    grown = chain.anchor_root(second, 9)
    times.append(grown.block_timestamp)
    latest = chain.latest_checkpoint()
    assert latest is not None
    seen.append(("latest", latest.batch_id, latest.tree_size, latest.root == second))
    client = chain.client()
    seen.append(("batches", client.batch_count(), client.get_batch(1).root == first))
    seen.append(("receipt for the root", client.anchor_receipt_for_root(first) == anchored))
    seen.append(("unknown root", client.anchor_receipt_for_root(_h32())))
    account = chain.anchoring_account()
    seen.append(("can anchor", account.has_anchorer_role, (account.anchors_affordable or 0) > 0))

    # What a verifier reads of it.
    view = chain.view()
    contract = str(anchored.contract)
    found = view.find_anchor(contract, first)
    assert found is not None
    seen.append(
        ("found", found.batch_id, found.tree_size, found.block_number == anchored.block_number)
    )
    seen.append(("never anchored", view.find_anchor(contract, _h32())))
    in_tx = view.anchor_in_transaction(contract, str(anchored.tx_hash))
    assert in_tx is not None
    seen.append(("in its transaction", in_tx.root == first, in_tx.timestamp == times[0]))
    block = view.block_hash_and_time(int(anchored.block_number))
    seen.append(("its block", block == (str(anchored.block_hash), anchored.block_timestamp)))
    seen.append(("genesis", view.genesis_hash() == chain.genesis_hash()))
    seen.append(("chain id", view.chain_id() == anchored.chain_id))

    # The PledgeRegistry: each registrar its own account, one active pledge per asset.
    ledger = chain.pledges()
    granted = ledger.provision_registrar("office-a")
    name("office A", str(granted.address))
    seen.append(("granted", granted.granted_tx is not None, granted.funded_wei > 0))
    again = ledger.provision_registrar("office-a")
    seen.append(
        ("granted once", again.granted_tx, again.funded_tx, again.address == granted.address)
    )
    other = ledger.provision_registrar("office-b")
    name("office B", str(other.address))
    seen.append(("own accounts", len({granted.address, other.address}) == 2))
    office_a, office_b = ledger.for_registrar("office-a"), ledger.for_registrar("office-b")
    stranger = ledger.for_registrar("never provisioned")

    asset, pledgor = name("asset", _h32()), name("pledgor", _h32())
    pledgee, terms = name("pledgee", _h32()), name("terms", _h32())
    registered = office_a.register(asset, pledgor, pledgee, terms)
    times.append(registered.block_timestamp)
    seen.append(("registered", str(registered.action), registered.registrar == granted.address))
    seen.append(("retried", office_a.register(asset, pledgor, pledgee, terms) == registered))
    pledge = int(registered.pledge_id)
    seen.append(refused(lambda: office_b.register(asset, pledgor, _h32(), terms)))
    seen.append(refused(lambda: office_a.register(_h32(), pledgor, pledgor, terms)))
    seen.append(refused(lambda: office_a.register(_h32(), pledgor, pledgee, bytes(32))))
    seen.append(refused(lambda: stranger.register(_h32(), pledgor, pledgee, terms)))
    seen.append(
        refused(
            lambda: office_b.amend(pledge, _h32()),
        )
    )
    seen.append(refused(lambda: office_a.amend(pledge + 1, _h32())))

    amended_terms = name("amended terms", _h32())
    amended = office_a.amend(pledge, amended_terms)
    times.append(amended.block_timestamp)
    seen.append(("amended", str(amended.action), office_a.amend(pledge, amended_terms) == amended))
    consent = name("consent", _h32())
    seen.append(refused(lambda: office_a.release(pledge, pledgor, consent)))
    seen.append(refused(lambda: office_a.release(pledge, _h32(), consent)))
    seen.append(refused(lambda: office_a.release(pledge, pledgee, bytes(32))))
    seen.append(
        refused(
            lambda: office_b.release(pledge, pledgee, consent),
        )
    )
    released = office_a.release(pledge, pledgee, consent)
    times.append(released.block_timestamp)
    seen.append(("released", str(released.action), released.consent_digest == consent))
    seen.append(("retried", office_a.release(pledge, pledgee, consent) == released))
    seen.append(refused(lambda: office_a.enforce(pledge, pledgee, consent)))
    seen.append(refused(lambda: office_a.release(pledge, pledgee, _h32())))
    anew = office_b.register(asset, pledgor, _h32(), terms)
    times.append(anew.block_timestamp)
    seen.append(("pledged anew", int(anew.pledge_id) == pledge + 1))

    # The state as of a time: the block stamped at or before it, block 0 before the chain.
    def pledged_at(moment: int) -> tuple[int | None, bytes | None]:
        snapshot = ledger.pledge_as_of(asset, moment)
        held = snapshot.pledge
        return (None, None) if held is None else (int(held.pledge_id), held.terms_digest)

    seen.append(("before", pledged_at(registered.block_timestamp - 1)))
    seen.append(("registered", pledged_at(registered.block_timestamp) == (pledge, terms)))
    seen.append(("amended", pledged_at(amended.block_timestamp) == (pledge, amended_terms)))
    seen.append(("released", pledged_at(released.block_timestamp)))
    genesis = ledger.block(0)
    early = ledger.pledge_as_of(asset, genesis.timestamp - 86_400)
    seen.append(("before the chain", int(early.block.number), early.pledge))
    seen.append(("times grow", all(b > a for a, b in itertools.pairwise(times))))
    head = ledger.block("latest")
    seen.append(("head", int(head.number) >= int(anew.block_number), head.timestamp >= times[-1]))
    return seen


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[ChainGateway]:
    settings = Settings(data_dir=tmp_path)
    gateway = ChainGateway(connect_chain(settings), pledge_registry_address=None)
    yield gateway
    gateway.close()


def test_the_fake_chain_answers_as_the_embedded_chain_does(embedded: ChainGateway) -> None:
    real = scenario(embedded)
    assert scenario(FakeChain()) == real
    # The scenario saw the refusals it is about (not an error of the scenario itself).
    refusals = {entry[0] for entry in real if isinstance(entry[1], dict)}
    assert refusals >= {
        "InvalidAnchorInput",
        "TreeSizeNotGrowing",
        "ZeroRoot",
        "AssetAlreadyPledged",
        "SameParty",
        "ZeroPledgeValue",
        "MissingRole",
        "NotRegistrar",
        "UnknownPledge",
        "NotPledgee",
        "NotAParty",
        "PledgeNotActive",
    }
