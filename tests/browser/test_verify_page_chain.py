"""The chain steps, given a node: the page reads the anchor through a real JSON-RPC node (a
Hardhat node on loopback, CORS as any node serves it) and must answer as the Python verifier
does through the same node, step by step: ``chain_id``, ``genesis``, ``anchor``, ``transaction``,
``block``, ``confirmations``, and "could not check" (not "invalid") for a node or a contract it
cannot read.

The certificates are the corpus's own (``verify_corpus.synthetic``), anchored here in an
``EvidenceRegistry`` deployed from the committed artifact, then changed where the issuer could lie
about the anchor and re-signed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ipnotary.sdk.certificate import format_timestamp, parse_time
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.errors import ChainReadError, NotTrustedError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import verify_certificate
from tests.browser.conftest import LiveServer, new_page
from tests.browser.verify_corpus import Keys, Synth, at, synthetic, synthetic_policy

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.hardhat

ARTIFACTS = Path(__file__).resolve().parents[2] / "chain/src/ipnotary/chain/artifacts"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.integration.chain_backends import start_hardhat

    process = start_hardhat(tmp_path_factory.mktemp("hardhat"))
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def page_server() -> Iterator[LiveServer]:
    from fastapi import FastAPI

    from ipnotary.service.api.routes import verify_page

    app = FastAPI()
    app.include_router(verify_page.router)
    with LiveServer(app) as server:
        yield server


def _deploy(w3: Any, name: str, *args: Any) -> Any:
    artifact = json.loads((ARTIFACTS / f"{name}.json").read_text())
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    )
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def _root_of(certificate: bytes) -> bytes:
    import base64

    checkpoint = json.loads(certificate)["log"]["checkpoint"]
    return base64.b64decode(checkpoint.split("\n")[2])


def _outcome_python(certificate: bytes, policy: bytes, node: str, now: str) -> tuple[Any, ...]:
    chain = open_chain_view(rpc_url=node)
    try:
        result = verify_certificate(
            certificate, TrustPolicy.from_json(policy), chain=chain, now=parse_time(now)
        )
    except NotTrustedError as exc:
        return ("not_trusted", exc.step)
    except VerificationError as exc:
        return ("invalid", exc.step)
    except ChainReadError as exc:
        found = re.search(r"could not check step '(\w+)'", str(exc))
        return ("error", found.group(1) if found else str(exc))
    finally:
        chain.close()
    return ("valid", result.time_source.value, format_timestamp(result.proven_time))


def test_the_page_reads_the_anchor_from_a_node_as_the_python_verifier_does(
    browser: Browser, page_server: LiveServer, node: str
) -> None:
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(node))
    admin = w3.eth.accounts[0]
    registry = _deploy(w3, "EvidenceRegistry", admin)
    other_contract = _deploy(w3, "PledgeRegistry", admin)
    keys = Keys()
    epoch = int(time.time()) - 20
    now = at(epoch, 3600)
    base = Synth(tokens=())

    def anchored(s: Synth) -> tuple[Synth, dict[str, Any]]:
        """``s`` with the anchor its checkpoint got in the registry."""
        root = _root_of(synthetic(s, keys, None, epoch))
        tx = registry.functions.anchor(root, s.tree_size).transact({"from": admin})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        block = w3.eth.get_block(receipt["blockNumber"])
        batch_id, _ = registry.functions.findRoot(root).call()
        fields = {
            "chain_id": w3.eth.chain_id,
            "contract": registry.address,
            "batch_id": batch_id,
            "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "block_number": receipt["blockNumber"],
            "block_hash": "0x" + bytes(block["hash"]).hex(),
            "block_timestamp": block["timestamp"],
            "block_time": at(0, block["timestamp"]),
        }
        return replace(s, anchor=tuple(fields.items())), fields

    first, anchor = anchored(base)
    second, second_anchor = anchored(replace(base, tree_size=6, leaf_index=5))
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    trusted = {
        "chain_id": anchor["chain_id"],
        "genesis_hash": genesis,
        "registry": registry.address,
    }

    def with_anchor(**changes: Any) -> Synth:
        return replace(first, anchor=tuple({**anchor, **changes}.items()))

    certificates = {
        "anchored": first,
        "anchored-second": second,
        "other-transaction": with_anchor(tx_hash=second_anchor["tx_hash"]),
        "unknown-transaction": with_anchor(tx_hash="0x" + "12" * 32),
        "other-block-hash": with_anchor(block_hash="0x" + "34" * 32),
        "other-batch": with_anchor(batch_id=anchor["batch_id"] + 1),
        "other-block-number": with_anchor(block_number=anchor["block_number"] + 1),
        "other-block-time": with_anchor(
            block_timestamp=anchor["block_timestamp"] - 1,
            block_time=at(0, anchor["block_timestamp"] - 1),
        ),
        "never-anchored": replace(first, leaf_index=1),
        "contract-without-code": with_anchor(contract="0x" + "12" * 20),
        "contract-not-a-registry": with_anchor(contract=other_contract.address),
        "other-chain-id": with_anchor(chain_id=1),
    }
    policies = {
        "no-chain": synthetic_policy(keys, None),
        "chain-trusted": synthetic_policy(keys, None, chains=[trusted]),
        "chain-trusted-only-source": synthetic_policy(
            keys, None, chains=[trusted], quorum=0, timestamp_authorities=[]
        ),
        "other-genesis": synthetic_policy(
            keys, None, chains=[{**trusted, "genesis_hash": "0x" + "00" * 32}]
        ),
        "many-confirmations": synthetic_policy(
            keys, None, chains=[{**trusted, "min_confirmations": 1000}]
        ),
    }
    cases = [
        (f"{name}/{policy}", synthetic(s, keys, None, epoch), policies[policy])
        for name, s in certificates.items()
        for policy in policies
        if not (name == "contract-not-a-registry" and policy != "no-chain")
    ]
    python = [_outcome_python(c, p, node, now) for _, c, p in cases]

    with new_page(browser) as (page, errors):
        page.goto(f"{page_server.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        pages = page.evaluate(
            """async ({cases, rpcUrl, now}) => {
              const out = [];
              for (const [certificate, policy] of cases) {
                const r = await ipnotary.verify({certificate, policy, rpcUrl, now});
                out.push(r.verdict === 'valid'
                  ? [r.verdict, r.result.time_source, r.result.proven_time]
                  : [r.verdict, r.failed_step]);
              }
              return out;
            }""",
            {
                "cases": [[c.decode(), p.decode()] for _, c, p in cases],
                "rpcUrl": node,
                "now": now,
            },
        )
        assert not errors, errors
    disagreements = [
        f"{name}: python {py}, page {tuple(js)}"
        for (name, _, _), py, js in zip(cases, python, pages, strict=True)
        if py != tuple(js)
    ]
    assert not disagreements, "\n".join(disagreements)
    answers = {name: py for (name, _, _), py in zip(cases, python, strict=True)}
    # The cases reach what they are about (a guard against a corpus that tests nothing).
    assert answers["anchored/chain-trusted-only-source"][:2] == ("valid", "chain")
    assert answers["anchored/other-genesis"] == ("invalid", "genesis")
    assert answers["anchored/many-confirmations"] == ("invalid", "confirmations")
    assert answers["other-transaction/no-chain"] == ("invalid", "transaction")
    assert answers["other-block-hash/no-chain"] == ("invalid", "block")
    assert answers["other-batch/no-chain"] == ("invalid", "anchor")
    assert answers["never-anchored/no-chain"] == ("invalid", "anchor")
    assert answers["contract-without-code/no-chain"] == ("error", "anchor")
    assert answers["other-chain-id/no-chain"] == ("invalid", "chain_id")
