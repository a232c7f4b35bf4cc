"""The pledge client test suite, written once: :class:`PledgeClientSuite` and its helpers.

It holds every behaviour test of :class:`chain.PledgeRegistryClient` and
:class:`chain.PledgeReader`. A test module subclasses it once per backend and provides a
``backend`` fixture returning a :class:`tests.integration.chain_backends.ChainBackend`:

* ``tests/integration/chain/test_pledge_client.py`` - the embedded py-evm chain;
* ``tests/integration/test_pledge_nodes.py`` - a Hardhat node and geth ``--dev``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ipnotary.chain import (
    EvidenceRegistryClient,
    PledgeAction,
    PledgeRegistryClient,
    PledgeStatus,
    RegistrarFunding,
    errors,
    load_artifact,
)
from ipnotary.chain._deployments import DEPLOYMENTS_FILE
from tests.integration.chain_backends import (
    ADMIN_KEY,
    OTHER,
    OTHER_KEY,
    ChainBackend,
    send_signed,
    unique_root,
)


def h32() -> bytes:
    """A fresh 32-byte commitment (asset id, party hash or terms digest)."""
    return os.urandom(32)


def grant_registrar(pledges: PledgeRegistryClient, account: str) -> None:
    abi = load_artifact("PledgeRegistry").abi
    contract = pledges.w3.eth.contract(address=pledges.registry_address, abi=list(abi))
    role = contract.functions.REGISTRAR_ROLE().call()
    data = contract.encode_abi("grantRole", [role, account])
    send_signed(pledges.w3, ADMIN_KEY, {"to": pledges.registry_address, "data": data})


class PledgeClientSuite:
    """Behaviour of :class:`chain.PledgeRegistryClient` / :class:`chain.PledgeReader` on every
    backend.

    Each test gets a fresh state directory, so ``backend.connect().pledge_registry()``
    deploys a fresh EvidenceRegistry and PledgeRegistry on the (possibly shared) chain.
    """

    register_gas_limit: ClassVar[int] = 240_000
    """Cancun/Prague pricing: about 230,200 for the first pledge, 213,100 after."""
    change_gas_limit: ClassVar[int] = 45_000
    """amend, release, enforce: about 36,000 to 37,500 each."""

    @pytest.fixture
    def registry(self, backend: ChainBackend) -> Iterator[EvidenceRegistryClient]:
        client = backend.connect()
        yield client
        client.close()

    @pytest.fixture
    def pledges(self, registry: EvidenceRegistryClient) -> PledgeRegistryClient:
        return registry.pledge_registry()

    @staticmethod
    def nonce(pledges: PledgeRegistryClient) -> int:
        return int(pledges.w3.eth.get_transaction_count(pledges.account))

    # deploy or attach -----------------------------------------------------------------

    def test_deployed_next_to_the_evidence_registry_and_reused(
        self, backend: ChainBackend, tmp_path: Path
    ) -> None:
        registry = backend.connect()
        pledges = registry.pledge_registry()
        assert pledges.registry_address != registry.registry_address
        assert (pledges.chain_id, pledges.account) == (registry.chain_id, registry.account)
        book = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        entries = book["deployments"][str(backend.chain_id)]
        assert entries["PledgeRegistry"]["address"] == pledges.registry_address
        assert entries["PledgeRegistry"]["genesis_hash"] == pledges.block(0).hash
        assert entries["EvidenceRegistry"]["address"] == registry.registry_address
        pledges.check()

        again = backend.connect().pledge_registry()
        assert again.registry_address == pledges.registry_address
        attached = registry.pledge_registry(pledges.registry_address, state_dir=tmp_path / "unused")
        assert attached.registry_address == pledges.registry_address
        assert not (tmp_path / "unused" / DEPLOYMENTS_FILE).exists()

    def test_pledge_deployment_sent_before_a_crash_is_adopted(self, backend: ChainBackend) -> None:
        first = backend.connect().pledge_registry()
        path = backend.state_dir / DEPLOYMENTS_FILE
        document = json.loads(path.read_text())
        document["deployments"][str(backend.chain_id)]["PledgeRegistry"]["address"] = None
        path.write_text(json.dumps(document))
        assert backend.connect().pledge_registry().registry_address == first.registry_address

    def test_other_code_at_the_pledge_address_is_refused(
        self, registry: EvidenceRegistryClient
    ) -> None:
        with pytest.raises(errors.ContractMismatch, match="is not the PledgeRegistry"):
            registry.pledge_registry(registry.registry_address)
        with pytest.raises(errors.ContractNotFound, match="deployed PledgeRegistry"):
            registry.pledge_registry("0x1234")

    # the life of a pledge ------------------------------------------------------------------

    def test_register_receipt_matches_the_chain(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor, pledgee, terms = h32(), h32(), h32(), h32()
        before = time.time()
        receipt = pledges.register(asset, pledgor, pledgee, terms)

        assert (receipt.pledge_id, receipt.action) == (1, PledgeAction.REGISTERED)
        assert (receipt.asset_id, receipt.terms_digest, receipt.party) == (asset, terms, None)
        assert (receipt.consent_digest, receipt.registrar) == (None, pledges.account)
        assert (receipt.chain_id, receipt.contract) == (pledges.chain_id, pledges.registry_address)
        block = pledges.block(receipt.block_number)
        assert (block.hash, block.timestamp) == (receipt.block_hash, receipt.block_timestamp)
        assert int(before) - 1 <= receipt.block_timestamp <= time.time() + 300
        tx = pledges.w3.eth.get_transaction(receipt.tx_hash)
        assert int(tx["blockNumber"]) == receipt.block_number
        assert 21_000 < receipt.gas_used < self.register_gas_limit

        pledge = pledges.get_pledge(receipt.pledge_id)
        assert (pledge.asset_id, pledge.pledgor, pledge.pledgee, pledge.terms_digest) == (
            asset,
            pledgor,
            pledgee,
            terms,
        )
        assert (pledge.registered_at, pledge.released_at) == (receipt.block_timestamp, None)
        assert pledge.registrar == pledges.account
        assert pledge.status is PledgeStatus.ACTIVE and pledge.active
        assert pledges.active_pledge_of(asset) == 1
        assert pledges.pledges_of(asset) == (1,)
        assert pledges.pledge_count() == 1
        assert pledges.active_pledge_of(h32()) == 0 and pledges.pledges_of(h32()) == ()
        assert pledges.pledge_receipts(1) == (receipt,)

    def test_amend_release_enforce(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor, pledgee, terms, new_terms = h32(), h32(), h32(), h32(), h32()
        registered = pledges.register(asset, pledgor, pledgee, terms)
        amended = pledges.amend(registered.pledge_id, new_terms)
        assert (amended.action, amended.pledge_id, amended.terms_digest) == (
            PledgeAction.AMENDED,
            1,
            new_terms,
        )
        assert amended.gas_used < self.change_gas_limit
        assert pledges.get_pledge(1).terms_digest == new_terms

        consent = h32()
        released = pledges.release(1, pledgee, consent)  # with the pledgee's consent
        assert (released.action, released.party, released.asset_id) == (
            PledgeAction.RELEASED,
            pledgee,
            asset,
        )
        assert released.consent_digest == consent
        assert released.gas_used < self.change_gas_limit
        pledge = pledges.get_pledge(1)
        assert pledge.status is PledgeStatus.RELEASED and not pledge.active
        assert pledge.released_at == released.block_timestamp
        assert pledges.active_pledge_of(asset) == 0

        # The asset is free again: a new pledge, then enforced by its pledgee.
        second = pledges.register(asset, pledgor, pledgee, terms)
        assert second.pledge_id == 2 and second.gas_used < self.register_gas_limit
        enforced = pledges.enforce(2, pledgee, consent)
        assert (enforced.action, enforced.party) == (PledgeAction.ENFORCED, pledgee)
        assert enforced.gas_used < self.change_gas_limit
        assert pledges.get_pledge(2).status is PledgeStatus.ENFORCED
        assert pledges.pledges_of(asset) == (1, 2)
        assert pledges.pledge_receipts(1) == (registered, amended, released)
        assert pledges.pledge_receipts(2) == (second, enforced)

    # refusals ----------------------------------------------------------------------------

    def test_second_pledge_on_an_asset_is_refused(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor = h32(), h32()
        pledges.register(asset, pledgor, h32(), h32())
        nonce = self.nonce(pledges)
        with pytest.raises(errors.AssetAlreadyPledged) as info:
            pledges.register(asset, pledgor, h32(), h32())
        assert (info.value.asset_id, info.value.active_pledge_id) == (asset, 1)
        assert isinstance(info.value, ValueError)
        assert "active pledge 1" in str(info.value) and "release or enforce it" in str(info.value)
        assert info.value.function == "register"
        assert info.value.address == pledges.registry_address
        assert self.nonce(pledges) == nonce  # refused at the estimate: nothing sent

    def test_identical_pledge_with_allow_existing_false_is_refused(
        self, pledges: PledgeRegistryClient
    ) -> None:
        values = (h32(), h32(), h32(), h32())
        pledges.register(*values)
        with pytest.raises(errors.AssetAlreadyPledged):
            pledges.register(*values, allow_existing=False)

    def test_release_by_a_stranger_or_the_pledgor_is_refused(
        self, pledges: PledgeRegistryClient
    ) -> None:
        pledgor = h32()
        pledge_id = pledges.register(h32(), pledgor, h32(), h32()).pledge_id
        stranger = h32()
        with pytest.raises(errors.NotAParty) as info:
            pledges.release(pledge_id, stranger, h32())
        assert (info.value.pledge_id, info.value.party) == (pledge_id, stranger)
        assert isinstance(info.value, PermissionError)
        assert "neither the pledgor nor the pledgee" in str(info.value)
        with pytest.raises(errors.NotPledgee) as not_pledgee:
            pledges.release(pledge_id, pledgor, h32())  # the pledgee consents, not the pledgor
        assert "consent" in str(not_pledgee.value)
        assert pledges.get_pledge(pledge_id).active

    def test_enforce_by_the_pledgor_or_a_stranger_is_refused(
        self, pledges: PledgeRegistryClient
    ) -> None:
        pledgor = h32()
        pledge_id = pledges.register(h32(), pledgor, h32(), h32()).pledge_id
        with pytest.raises(errors.NotPledgee) as info:
            pledges.enforce(pledge_id, pledgor, h32())
        assert info.value.party == pledgor and isinstance(info.value, PermissionError)
        assert "only the pledgee can consent to its release or enforce it" in str(info.value)
        with pytest.raises(errors.NotAParty):
            pledges.enforce(pledge_id, h32(), h32())
        assert pledges.get_pledge(pledge_id).active

    def test_release_without_consent_is_refused(self, pledges: PledgeRegistryClient) -> None:
        pledgee = h32()
        pledge_id = pledges.register(h32(), h32(), pledgee, h32()).pledge_id
        for close in (pledges.release, pledges.enforce):
            with pytest.raises(errors.ZeroPledgeValue) as info:
                close(pledge_id, pledgee, bytes(32))
            assert info.value.field == "consentDigest"
        assert pledges.get_pledge(pledge_id).active

    # registrars ------------------------------------------------------------------------------

    def test_each_registrar_changes_only_its_own_pledges(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        first, second = pledges.for_registrar("prn_first"), pledges.for_registrar("prn_second")
        granted = pledges.provision_registrar("prn_first")
        assert granted.address == first.account != pledges.account
        assert granted.granted_tx is not None and granted.funded_wei > 0
        assert pledges.is_registrar(first.account) and not pledges.is_registrar(second.account)
        pledges.provision_registrar("prn_second")
        # Provisioned already and funded: nothing is sent.
        nonce = self.nonce(pledges)
        assert pledges.provision_registrar("prn_first").granted_tx is None
        assert self.nonce(pledges) == nonce
        assert pledges.for_registrar("prn_first") is first  # one client (one sender) per registrar

        pledgee = h32()
        mine = first.register(h32(), h32(), pledgee, h32())
        assert mine.registrar == first.account
        assert pledges.get_pledge(mine.pledge_id).registrar == first.account
        for change in (
            lambda c: c.amend(mine.pledge_id, h32()),
            lambda c: c.release(mine.pledge_id, pledgee, h32()),
            lambda c: c.enforce(mine.pledge_id, pledgee, h32()),
        ):
            for other in (second, pledges):  # another registrar, or the admin
                with pytest.raises(errors.NotRegistrar) as info:
                    change(other)
                assert (info.value.pledge_id, info.value.registrar, info.value.caller) == (
                    mine.pledge_id,
                    first.account,
                    other.account,
                )
                assert isinstance(info.value, PermissionError)
                assert "only that account" in str(info.value)
        assert first.release(mine.pledge_id, pledgee, h32()).registrar == first.account

    def test_registrar_accounts_are_derived_again_after_a_restart(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        address = pledges.provision_registrar("prn_restart").address
        again = backend.connect().pledge_registry()
        assert again.registrar_address("prn_restart") == address
        assert again.for_registrar("prn_restart").account == address
        assert again.registrar_address("prn_other") != address
        # Another admin key derives other accounts: the derivation is keyed.
        assert (
            backend.connect(private_key=OTHER_KEY)
            .pledge_registry(pledges.registry_address)
            .registrar_address("prn_restart")
            != address
        )

    def test_a_registrar_running_low_is_topped_up(self, pledges: PledgeRegistryClient) -> None:
        funding = RegistrarFunding(gas_per_transaction=300_000, transactions=4, low_water=2)
        first = pledges.provision_registrar("prn_low", funding=funding)
        assert first.granted_tx is not None
        balance = pledges.w3.eth.get_balance(first.address)
        assert balance == first.funded_wei
        # Costlier transactions: what it holds is now under the low-water mark.
        richer = RegistrarFunding(gas_per_transaction=3_000_000, transactions=4, low_water=2)
        topped = pledges.provision_registrar("prn_low", funding=richer)
        assert topped.granted_tx is None and topped.funded_tx is not None
        assert pledges.w3.eth.get_balance(first.address) == balance + topped.funded_wei

    def test_closed_pledge_cannot_change(self, pledges: PledgeRegistryClient) -> None:
        pledgor, pledgee = h32(), h32()
        pledge_id = pledges.register(h32(), pledgor, pledgee, h32()).pledge_id
        pledges.release(pledge_id, pledgee, h32())
        with pytest.raises(errors.PledgeNotActive) as info:
            pledges.amend(pledge_id, h32())
        assert (info.value.pledge_id, info.value.status) == (pledge_id, PledgeStatus.RELEASED)
        assert "already released" in str(info.value) and "register()" in str(info.value)
        with pytest.raises(errors.PledgeNotActive):
            pledges.enforce(pledge_id, pledgee, h32())  # released, so not enforceable
        with pytest.raises(errors.PledgeNotActive):
            pledges.release(pledge_id, pledgee, h32())  # another consent: not a retry

    def test_unknown_pledge(self, pledges: PledgeRegistryClient) -> None:
        with pytest.raises(errors.UnknownPledge) as info:
            pledges.get_pledge(99)
        assert info.value.pledge_id == 99 and isinstance(info.value, LookupError)
        assert "pledge_count()" in str(info.value)
        for call in (
            lambda: pledges.release(99, h32(), h32()),
            lambda: pledges.enforce(99, h32(), h32()),
            lambda: pledges.amend(99, h32()),
        ):
            with pytest.raises(errors.UnknownPledge):
                call()

    @pytest.mark.parametrize("field", ["assetId", "pledgor", "pledgee", "termsDigest"])
    def test_zero_values_are_refused(self, pledges: PledgeRegistryClient, field: str) -> None:
        values = {"assetId": h32(), "pledgor": h32(), "pledgee": h32(), "termsDigest": h32()}
        values[field] = bytes(32)
        with pytest.raises(errors.ZeroPledgeValue) as info:
            pledges.register(*values.values())
        assert info.value.field == field and isinstance(info.value, ValueError)
        assert f"{field} is all zero bytes" in str(info.value)

    def test_zero_terms_in_an_amendment_are_refused(self, pledges: PledgeRegistryClient) -> None:
        pledge_id = pledges.register(h32(), h32(), h32(), h32()).pledge_id
        with pytest.raises(errors.ZeroPledgeValue, match="termsDigest"):
            pledges.amend(pledge_id, bytes(32))

    def test_same_party_on_both_sides_is_refused(self, pledges: PledgeRegistryClient) -> None:
        party = h32()
        with pytest.raises(errors.SameParty) as info:
            pledges.register(h32(), party, party, h32())
        assert info.value.error_args == {"party": party}
        assert "same party" in str(info.value) and isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        "call",
        [
            lambda p: p.register(b"\x01" * 31, h32(), h32(), h32()),
            lambda p: p.register(h32(), "ab" * 32, h32(), h32()),
            lambda p: p.release(-1, h32(), h32()),
            lambda p: p.enforce(2**64, h32(), h32()),
            lambda p: p.release(1, h32(), b"short consent"),
            lambda p: p.for_registrar(""),
            lambda p: p.amend(True, h32()),
            lambda p: p.get_pledge(1, block=-1),
            lambda p: p.active_pledge_of(h32(), block="latest"),
        ],
        ids=[
            "short-asset",
            "str-party",
            "negative-id",
            "id-over-uint64",
            "short-consent",
            "empty-registrar-label",
            "bool-id",
            "negative-block",
            "str-block",
        ],
    )
    def test_malformed_input_is_refused_before_any_rpc(
        self, pledges: PledgeRegistryClient, call: Any
    ) -> None:
        with pytest.raises(errors.InvalidPledgeInput):
            call(pledges)

    def test_missing_registrar_role_names_account_role_and_fix(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        outsider_registry = backend.connect(private_key=OTHER_KEY)
        outsider = outsider_registry.pledge_registry(pledges.registry_address)
        with pytest.raises(errors.MissingRole) as info:
            outsider.register(h32(), h32(), h32(), h32())
        message = str(info.value)
        assert info.value.error_args["account"].lower() == OTHER.lower()
        assert "REGISTRAR_ROLE" in message and "grantRole(" in message
        assert pledges.registry_address in message and "PledgeRegistry" in message
        assert isinstance(info.value, PermissionError)

        grant_registrar(pledges, OTHER)  # the fix the message names works
        backend.fund(OTHER)
        assert outsider.register(h32(), h32(), h32(), h32()).pledge_id == 1

    # retries -------------------------------------------------------------------------------

    def test_register_retry_returns_the_pledge_and_sends_nothing(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        values = (h32(), h32(), h32(), h32())
        first = pledges.register(*values)
        nonce = self.nonce(pledges)
        assert pledges.register(*values) == first
        # A fresh client (e.g. after a crash) gets the same receipt back.
        assert backend.connect().pledge_registry().register(*values) == first
        assert self.nonce(pledges) == nonce
        assert pledges.pledge_count() == 1

    def test_register_after_release_is_a_new_pledge(self, pledges: PledgeRegistryClient) -> None:
        # Not idempotent by design: the chain cannot tell a retry from a new pledge here.
        values = (h32(), h32(), h32(), h32())
        first = pledges.register(*values)
        pledges.release(first.pledge_id, values[2], h32())
        assert pledges.register(*values).pledge_id == first.pledge_id + 1

    def test_release_and_enforce_retries_return_the_first_receipt(
        self, pledges: PledgeRegistryClient
    ) -> None:
        pledgor, pledgee = h32(), h32()
        released_id = pledges.register(h32(), pledgor, pledgee, h32()).pledge_id
        enforced_id = pledges.register(h32(), pledgor, pledgee, h32()).pledge_id
        consent = h32()
        released = pledges.release(released_id, pledgee, consent)
        enforced = pledges.enforce(enforced_id, pledgee, consent)
        nonce = self.nonce(pledges)
        assert pledges.release(released_id, pledgee, consent) == released
        assert pledges.enforce(enforced_id, pledgee, consent) == enforced
        assert self.nonce(pledges) == nonce
        with pytest.raises(errors.PledgeNotActive):
            pledges.release(released_id, pledgee, consent, allow_existing=False)

    def test_amend_retry_returns_the_transaction_that_set_the_terms(
        self, pledges: PledgeRegistryClient
    ) -> None:
        terms, new_terms = h32(), h32()
        registered = pledges.register(h32(), h32(), h32(), terms)
        nonce = self.nonce(pledges)
        # Terms already as asked: the registration set them; nothing is sent.
        assert pledges.amend(registered.pledge_id, terms) == registered
        assert self.nonce(pledges) == nonce
        amended = pledges.amend(registered.pledge_id, new_terms)
        assert pledges.amend(registered.pledge_id, new_terms) == amended
        assert self.nonce(pledges) == nonce + 1

    def test_racing_registrations_of_one_pledge_register_it_once(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        # Separate senders (separate nonce locks) sending the same pledge at once.
        other = backend.connect().pledge_registry()
        values = (h32(), h32(), h32(), h32())
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(pool.map(lambda i: (pledges, other)[i % 2].register(*values), range(4)))
        assert len(set(receipts)) == 1
        assert pledges.pledge_count() == 1

    # state as of a time ------------------------------------------------------------------

    def test_state_as_of_past_blocks_and_times(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor, pledgee, terms, new_terms = h32(), h32(), h32(), h32(), h32()
        a = pledges.register(asset, pledgor, pledgee, terms)
        m = pledges.amend(a.pledge_id, new_terms)
        b = pledges.release(a.pledge_id, pledgee, h32())
        assert a.block_number < m.block_number < b.block_number

        assert pledges.active_pledge_of(asset, block=a.block_number) == a.pledge_id
        assert pledges.active_pledge_of(asset, block=b.block_number) == 0
        assert pledges.active_pledge_of(asset, block=a.block_number - 1) == 0
        assert pledges.get_pledge(a.pledge_id, block=a.block_number).terms_digest == terms
        assert pledges.get_pledge(a.pledge_id, block=m.block_number).terms_digest == new_terms
        at_b = pledges.get_pledge(a.pledge_id, block=b.block_number)
        assert (at_b.status, at_b.released_at) == (PledgeStatus.RELEASED, b.block_timestamp)
        assert pledges.pledge_count(block=a.block_number - 1) == 0
        with pytest.raises(errors.UnknownPledge):
            pledges.get_pledge(a.pledge_id, block=a.block_number - 1)

        # Block times strictly increase, so each receipt's time finds its own block.
        found = pledges.block_at_or_before(a.block_timestamp)
        assert (found.number, found.hash) == (a.block_number, a.block_hash)
        assert pledges.block_at_or_before(b.block_timestamp).number == b.block_number
        before_b = pledges.block_at_or_before(b.block_timestamp - 1)
        assert a.block_number <= before_b.number < b.block_number

        snapshot = pledges.pledge_as_of(asset, a.block_timestamp)
        assert snapshot.block.number == a.block_number
        assert snapshot.pledge is not None and snapshot.pledge.pledgee == pledgee
        assert snapshot.pledge.terms_digest == terms
        assert pledges.pledge_as_of(asset, b.block_timestamp).pledge is None
        assert pledges.pledge_as_of(asset, b.block_timestamp - 1).pledge is not None

    def test_times_outside_the_chain(self, pledges: PledgeRegistryClient) -> None:
        genesis = pledges.block(0)
        with pytest.raises(errors.BlockNotFound, match="genesis block") as info:
            pledges.block_at_or_before(genesis.timestamp - 1)
        assert isinstance(info.value, LookupError)
        assert pledges.block_at_or_before(genesis.timestamp).number == 0
        # "As of" before the chain existed: its first state, where nothing is pledged.
        early = pledges.pledge_as_of(h32(), genesis.timestamp - 86_400)
        assert early.block.number == 0 and early.pledge is None
        head = pledges.block("latest")
        assert pledges.block_at_or_before(head.timestamp + 10**6).number >= head.number
        with pytest.raises(errors.BlockNotFound, match="not on chain"):
            pledges.active_pledge_of(h32(), block=head.number + 1000)

    def test_before_deployment_the_registry_is_empty(self, pledges: PledgeRegistryClient) -> None:
        asset = h32()
        pledges.register(asset, h32(), h32(), h32())
        assert pledges.active_pledge_of(asset, block=0) == 0
        assert pledges.pledges_of(asset, block=0) == ()
        assert pledges.pledge_count(block=0) == 0
        with pytest.raises(errors.UnknownPledge):
            pledges.get_pledge(1, block=0)

    # readers, concurrency, restarts -----------------------------------------------------------

    def test_reader_without_key_reads_pledges_as_of_blocks(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        asset, pledgor, pledgee = h32(), h32(), h32()
        a = pledges.register(asset, pledgor, pledgee, h32())
        b = pledges.enforce(a.pledge_id, pledgee, h32())
        reader = backend.pledge_reader(pledges.registry_address)
        reader.check()
        assert reader.chain_id == pledges.chain_id
        assert reader.get_pledge(a.pledge_id) == pledges.get_pledge(a.pledge_id)
        assert reader.active_pledge_of(asset, block=a.block_number) == a.pledge_id
        assert reader.active_pledge_of(asset, block=b.block_number) == 0
        assert reader.pledges_of(asset, block=a.block_number) == (a.pledge_id,)
        assert reader.block_at_or_before(a.block_timestamp).number == a.block_number
        assert reader.pledge_receipts(a.pledge_id) == (a, b)
        assert not hasattr(reader, "register") and not hasattr(reader, "release")

    def test_anchoring_and_pledging_from_two_threads_share_the_nonces(
        self, registry: EvidenceRegistryClient, pledges: PledgeRegistryClient
    ) -> None:
        assert pledges.account == registry.account
        start = int(registry.w3.eth.get_transaction_count(registry.account))
        count = 6

        def anchor_all() -> list[Any]:
            return [registry.anchor_root(unique_root(), size) for size in range(1, count + 1)]

        def pledge_all() -> list[Any]:
            return [pledges.register(h32(), h32(), h32(), h32()) for _ in range(count)]

        with ThreadPoolExecutor(max_workers=2) as pool:
            anchors, pledged = pool.submit(anchor_all), pool.submit(pledge_all)
            anchor_receipts, pledge_receipts = anchors.result(), pledged.result()

        assert sorted(r.batch_id for r in anchor_receipts) == list(range(1, count + 1))
        assert sorted(r.pledge_id for r in pledge_receipts) == list(range(1, count + 1))
        # One sender, one lock: no nonce was ever taken twice, so none was retried.
        assert registry.sender is pledges._sender
        assert registry.sender.nonce_clashes == 0
        nonces = sorted(
            int(registry.w3.eth.get_transaction(r.tx_hash)["nonce"])
            for r in [*anchor_receipts, *pledge_receipts]
        )
        assert nonces == list(range(start, start + 2 * count))

    def test_restart_continues_with_the_same_pledge_registry(self, backend: ChainBackend) -> None:
        registry = backend.connect()
        pledges = registry.pledge_registry()
        one = pledges.register(h32(), h32(), h32(), h32())
        registry.close()
        restarted = backend.connect().pledge_registry()
        assert restarted.registry_address == one.contract
        assert restarted.get_pledge(one.pledge_id).active
        assert restarted.register(h32(), h32(), h32(), h32()).pledge_id == one.pledge_id + 1
