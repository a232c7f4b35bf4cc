"""One deployment, whatever process answers: its identity recorded once and checked at every start.

Processes that share a database must sign with the same issuer key, continue the same log, and
anchor on the same chain in the same registries; one that does not would hand out certificates
that depend on which process answered. In production (``notary serve`` with
``NOTARY_ENV=production``) each process therefore, before it serves anything:

1. requires every setting that would otherwise be invented (``Settings.check_safety``): key files
   that exist, the chain id and, on a node, both registry addresses;
2. connects to the chain (waiting up to ``NOTARY_STARTUP_TIMEOUT_SECONDS`` for a node that does
   not answer yet) and reads its identity: chain id, genesis block hash, the registries' code;
3. compares the facts (:data:`FACTS`) with those recorded in the database (``deployment_fact``);
   the first process of a new deployment records them. A mismatch refuses to start, with one line
   naming the setting and both values;
4. checks that its chain key can anchor (``ANCHORER_ROLE``) and pay for it.

``notary deploy`` creates what a new production deployment needs once (keys, registries, the
recorded facts) and prints the settings every process must then share. An issuer key rotated by
the documented procedure (the old key listed in ``NOTARY_ISSUER_RETIRED_KEYS``) replaces the
recorded one, audited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ipnotary.sdk.signing import key_id
from ipnotary.service.errors import ChainUnusable, ConfigurationError
from ipnotary.service.observability.logs import event
from ipnotary.service.services.principals import Actor, audit
from ipnotary.service.storage.models import DeploymentFact

if TYPE_CHECKING:
    from ipnotary.service.runtime import Runtime

__all__ = [
    "FACTS",
    "MIN_ANCHORS_AFFORDABLE",
    "AccountCheck",
    "check_anchoring_account",
    "check_facts",
    "deployment_facts",
    "preflight",
    "wait_for_chain",
]

log = logging.getLogger(__name__)

# name -> the setting an operator changes to fix a mismatch
FACTS: Mapping[str, str] = {
    "issuer_key_id": "NOTARY_ISSUER_KEY_FILE",
    "log_origin": "NOTARY_LOG_ORIGIN",
    "log_key_id": "NOTARY_LOG_KEY_FILE",
    "chain_id": "NOTARY_CHAIN_ID (or NOTARY_CHAIN_RPC_URL: the node serves another chain)",
    "genesis_hash": "NOTARY_CHAIN_RPC_URL (the node follows another chain with the same id)",
    "registry_address": "NOTARY_REGISTRY_ADDRESS",
    "pledge_registry_address": "NOTARY_PLEDGE_REGISTRY_ADDRESS",
}
MIN_ANCHORS_AFFORDABLE = 1
"""Fewer anchors than this paid for: not ready (anchoring would stop at the next batch)."""
LOW_ANCHORS_AFFORDABLE = 1000
"""Fewer than this: ready, but readiness and the start-up log say the account runs low."""


def deployment_facts(runtime: Runtime) -> dict[str, str]:
    """This process's view of the deployment's identity; connects to the chain (ChainUnusable
    when it cannot)."""
    client = runtime.chain.client()
    pledges = runtime.chain.pledges()
    return {
        "issuer_key_id": runtime.issuer.key_id,
        "log_origin": runtime.log.origin,
        "log_key_id": f"{runtime.log.signer.key_id:08x}",
        "chain_id": str(int(client.chain_id)),
        "genesis_hash": runtime.chain.genesis_hash().lower(),
        "registry_address": str(client.registry_address).lower(),
        "pledge_registry_address": str(pledges.registry_address).lower(),
    }


def check_facts(
    engine: Engine,
    facts: Mapping[str, str],
    *,
    retired_issuer_key_ids: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Compare ``facts`` with the recorded ones, recording those not recorded yet; returns what was
    newly recorded. Raises :class:`ConfigurationError` (``deployment_mismatch``) naming every fact
    that differs."""
    now = datetime.now(UTC)
    for _attempt in range(3):  # two processes of a new deployment may record at once
        with Session(engine) as session:
            recorded = {f.name: f for f in session.exec(select(DeploymentFact))}
            wrong: list[str] = []
            added: dict[str, str] = {}
            for name, value in facts.items():
                fact = recorded.get(name)
                if fact is None:
                    session.add(DeploymentFact(name=name, value=value, recorded_at=now))
                    added[name] = value
                elif fact.value != value:
                    if name == "issuer_key_id" and fact.value in retired_issuer_key_ids:
                        audit(
                            session,
                            Actor.service(),
                            "deployment.issuer_key_rotated",
                            target_type="deployment",
                            target_id=name,
                            detail={"from": fact.value, "to": value},
                        )
                        fact.value, fact.recorded_at = value, now
                        session.add(fact)
                        added[name] = value
                        continue
                    wrong.append(
                        f"{name} is {value} here but {fact.value} in the deployment "
                        f"(recorded {fact.recorded_at:%Y-%m-%d}): check {FACTS[name]}"
                    )
            if wrong:
                raise ConfigurationError(
                    "this process does not belong to the deployment its database records: "
                    + "; ".join(wrong),
                    code="deployment_mismatch",
                )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue  # another process recorded first: compare with what it recorded
            return added
    raise ConfigurationError(
        "could not record the deployment's identity: the database keeps "
        "changing under concurrent starts",
        code="deployment_unrecorded",
    )


@dataclass(frozen=True)
class AccountCheck:
    """Readiness of the anchoring account: ``ok`` False names why it cannot anchor."""

    ok: bool
    detail: dict[str, Any]
    problem: str | None = None


def check_anchoring_account(account: Any) -> AccountCheck:
    """Judge a ``chain.AnchoringAccount``: the role, and the fees for at least one anchor."""
    detail: dict[str, Any] = {
        "account": str(account.address),
        "anchorer_role": bool(account.has_anchorer_role),
        "balance_wei": int(account.balance_wei),
        "anchors_affordable": account.anchors_affordable,
    }
    if not account.has_anchorer_role:
        return AccountCheck(
            False,
            detail,
            f"the chain key's account {account.address} does not "
            "hold ANCHORER_ROLE in the registry: this process "
            "could not anchor if it became the leader; grant the "
            "role or use the deployment's key",
        )
    affordable = account.anchors_affordable
    if affordable is not None and affordable < MIN_ANCHORS_AFFORDABLE:
        return AccountCheck(
            False,
            detail,
            f"the chain key's account {account.address} cannot pay "
            f"for one anchor ({account.balance_wei} wei at "
            f"{account.fee_per_gas} wei per gas): fund it",
        )
    detail["low_funds"] = affordable is not None and affordable < LOW_ANCHORS_AFFORDABLE
    return AccountCheck(True, detail)


def wait_for_chain(runtime: Runtime, timeout: float) -> None:
    """Connect to the chain, retrying a node that does not answer for up to ``timeout`` seconds.
    A node that answers as the wrong chain fails at once (waiting would not change it)."""
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            runtime.chain.check()
            return
        except ChainUnusable as exc:
            cause = exc.__cause__
            from ipnotary.chain.errors import ChainUnavailable as NodeDown

            if not isinstance(cause, NodeDown) or time.monotonic() + delay > deadline:
                raise ConfigurationError(
                    f"cannot check the deployment's chain at start: {exc.detail}",
                    code="chain_unchecked",
                ) from exc
            log.warning(
                "the chain node does not answer yet; retrying in %.1fs",
                delay,
                extra=event("startup_waiting_for_chain", retry_in=delay),
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def preflight(runtime: Runtime) -> dict[str, str]:
    """The production start-up checks (module docstring, 2-4), on a built runtime; returns the
    deployment's facts. Raises :class:`ConfigurationError` with a one-line reason."""
    settings = runtime.settings
    wait_for_chain(runtime, settings.startup_timeout_seconds)
    try:
        facts = deployment_facts(runtime)
        account = check_anchoring_account(runtime.chain.client().anchoring_account())
    except ChainUnusable as exc:
        raise ConfigurationError(
            f"cannot check the deployment's chain at start: {exc.detail}", code="chain_unchecked"
        ) from exc
    retired = frozenset(key_id_of(k) for k in settings.issuer_retired_keys)
    added = check_facts(runtime.engine, facts, retired_issuer_key_ids=retired)
    if added:
        log.info(
            "recorded the deployment's identity: %s",
            ", ".join(f"{k}={v}" for k, v in added.items()),
            extra=event("deployment_recorded", **added),
        )
    if not account.ok:
        raise ConfigurationError(
            account.problem or "the chain key cannot anchor", code="anchoring_account_unusable"
        )
    if account.detail.get("low_funds"):
        log.warning(
            "the anchoring account %s can pay for only %s more anchors",
            account.detail["account"],
            account.detail["anchors_affordable"],
            extra=event("anchoring_funds_low", **account.detail),
        )
    return facts


def key_id_of(retired: Any) -> str:
    """The key id of a ``NOTARY_ISSUER_RETIRED_KEYS`` entry."""
    from ipnotary.sdk.signing import public_key_from_b64

    return key_id(public_key_from_b64(retired.public_key))
