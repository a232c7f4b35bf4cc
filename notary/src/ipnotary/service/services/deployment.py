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

Beside the identity, the fleet records its *trust settings* (:data:`TRUST_FACTS`): the witness set
and quorum, the TSAs, their quorum and roots, and a digest of the policy ``/v1/trust`` serves. A
process that would ask other witnesses, wait for another quorum or serve another policy refuses to
start like one with another key; changing them is an act of its own (``notary trust set``,
:func:`change_trust`), audited as ``deployment.trust_changed``, after which every process still
running the old settings reports itself not ready until restarted (``/readyz`` ``deployment``).
:func:`config_fingerprint` is what ``/readyz`` and ``notary_build_info`` show of all of it, so
that the processes of a rolling restart can be told apart at a glance.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ipnotary.sdk.redaction import redact_url
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
    "TRUST_FACTS",
    "AccountCheck",
    "TrustChange",
    "change_trust",
    "check_anchoring_account",
    "check_facts",
    "config_fingerprint",
    "deployment_facts",
    "preflight",
    "recorded_facts",
    "trust_differences",
    "trust_facts",
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
# The fleet's trust settings, recorded beside its identity: name -> the setting that decides it.
TRUST_FACTS: Mapping[str, str] = {
    "witnesses": "NOTARY_WITNESSES",
    "witness_quorum": "NOTARY_WITNESS_QUORUM",
    "tsa_urls": "NOTARY_TSA_URLS",
    "tsa_quorum": "NOTARY_TSA_QUORUM",
    "tsa_roots": "NOTARY_TSA_CA_FILE",
    "trust_policy": "the policy /v1/trust serves (NOTARY_ISSUER_RETIRED_KEYS, "
    "NOTARY_CHAIN_TRUSTED_FOR_TIME, NOTARY_CHAIN_CONFIRMATIONS, the PDF signing key)",
}
MIN_ANCHORS_AFFORDABLE = 1
"""Fewer anchors than this paid for: not ready (anchoring would stop at the next batch)."""
LOW_ANCHORS_AFFORDABLE = 1000
"""Fewer than this: ready, but readiness and the start-up log say the account runs low."""


def trust_facts(runtime: Runtime, *, policy: bool = True) -> dict[str, str]:
    """This process's trust settings as the fleet records them (:data:`TRUST_FACTS`). URLs lose
    their credentials (user-info, token-like segments): the record is shown in error messages.
    ``policy`` False leaves out the served policy's digest (it may need the chain)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from ipnotary.service.services.trust import load_tsa_roots

    settings = runtime.settings
    witnesses = sorted(
        ({"key": w.key, "url": redact_url(w.url)} for w in settings.witnesses),
        key=lambda w: w["key"],
    )
    roots = sorted(
        hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest()[:16]
        for c in load_tsa_roots(settings)
    )
    facts = {
        "witnesses": json.dumps(witnesses, separators=(",", ":")),
        "witness_quorum": str(settings.required_cosignatures),
        "tsa_urls": json.dumps(sorted(redact_url(u) for u in settings.tsa_urls)),
        "tsa_quorum": str(settings.required_timestamps),
        "tsa_roots": ",".join(roots) or "none",
    }
    if policy:
        digest = hashlib.sha256(runtime.trust_policy().to_json_bytes()).hexdigest()
        facts["trust_policy"] = f"sha256:{digest[:32]}"
    return facts


def config_fingerprint(runtime: Runtime) -> str:
    """A short digest of everything the processes of a deployment must agree on that this process
    knows without asking the chain: its keys, origin, chain and registry settings and its trust
    settings. Equal on every process of a fleet that agrees; shown in ``/readyz`` and
    ``notary_build_info``."""
    settings = runtime.settings
    facts = {
        **trust_facts(runtime, policy=False),
        "issuer_key_id": runtime.issuer.key_id,
        "retired_issuer_keys": ",".join(sorted(key_id_of(k) for k in settings.issuer_retired_keys)),
        "log_origin": runtime.log.origin,
        "log_key_id": f"{runtime.log.signer.key_id:08x}",
        "chain_id": str(settings.chain_id),
        "registry_address": (settings.registry_address or "").lower(),
        "pledge_registry_address": (settings.pledge_registry_address or "").lower(),
        "chain_confirmations": str(settings.chain_confirmations),
        "chain_trusted_for_time": str(settings.chain_trusted_for_time),
    }
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
            messages: dict[str, str] = {}
            added: dict[str, str] = {}
            rotating = (
                "issuer_key_id" in recorded
                and facts.get("issuer_key_id", recorded["issuer_key_id"].value)
                != recorded["issuer_key_id"].value
                and recorded["issuer_key_id"].value in retired_issuer_key_ids
            )
            for name, value in facts.items():
                fact = recorded.get(name)
                if fact is None:
                    session.add(DeploymentFact(name=name, value=value, recorded_at=now))
                    added[name] = value
                elif fact.value != value:
                    if name == "trust_policy" and rotating:
                        # The rotated key changes the served policy: recorded with the key.
                        fact.value, fact.recorded_at = value, now
                        session.add(fact)
                        added[name] = value
                        continue
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
                    wrong.append(name)
                    messages[name] = _mismatch(name, value, fact)
            if "trust_policy" in wrong and any(
                n in TRUST_FACTS for n in wrong if n != "trust_policy"
            ):
                wrong.remove("trust_policy")  # it follows from the settings named
            if wrong:
                raise ConfigurationError(
                    "this process does not belong to the deployment its database records: "
                    + "; ".join(messages[n] for n in wrong),
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


def _mismatch(name: str, value: str, fact: DeploymentFact) -> str:
    where = (
        f"{name} is {value} here but {fact.value} in the deployment "
        f"(recorded {fact.recorded_at:%Y-%m-%d})"
    )
    if name in TRUST_FACTS:
        return (
            f"{where}: check {TRUST_FACTS[name]}, or change it for the whole fleet with "
            "`notary trust set` (docs/operations.md)"
        )
    return f"{where}: check {FACTS[name]}"


def recorded_facts(engine: Engine) -> dict[str, str]:
    """Every fact the deployment recorded, identity and trust."""
    with Session(engine) as session:
        return {f.name: f.value for f in session.exec(select(DeploymentFact))}


def trust_differences(runtime: Runtime) -> dict[str, tuple[str, str]]:
    """name -> (here, recorded) for each recorded trust fact this process differs in; empty when
    none is recorded (a development deployment) or all agree."""
    recorded = recorded_facts(runtime.engine)
    if not any(name in recorded for name in TRUST_FACTS):
        return {}
    here = trust_facts(runtime)
    return {
        name: (value, recorded[name])
        for name, value in here.items()
        if name in recorded and recorded[name] != value
    }


@dataclass(frozen=True)
class TrustChange:
    """What ``notary trust set`` changed: name -> (before, after)."""

    changed: dict[str, tuple[str | None, str]]


def change_trust(runtime: Runtime, *, reason: str | None = None) -> TrustChange:
    """Record this process's trust settings as the fleet's: the explicit act that changes the
    witness set, the quorums, the TSAs or the served policy, audited as
    ``deployment.trust_changed`` (from, to, reason). Processes still running the old settings
    then report themselves not ready, and new ones start only with the new settings."""
    facts = trust_facts(runtime)
    now = datetime.now(UTC)
    with Session(runtime.engine) as session:
        recorded = {f.name: f for f in session.exec(select(DeploymentFact))}
        changed: dict[str, tuple[str | None, str]] = {}
        for name, value in facts.items():
            fact = recorded.get(name)
            if fact is not None and fact.value == value:
                continue
            changed[name] = (None if fact is None else fact.value, value)
            if fact is None:
                session.add(DeploymentFact(name=name, value=value, recorded_at=now))
            else:
                fact.value, fact.recorded_at = value, now
                session.add(fact)
        if changed:
            audit(
                session,
                Actor.operator(),
                "deployment.trust_changed",
                target_type="deployment",
                target_id="trust",
                detail={
                    "changed": {n: {"from": old, "to": new} for n, (old, new) in changed.items()},
                    **({"reason": reason} if reason else {}),
                },
            )
            session.commit()
    if changed:
        log.warning(
            "the fleet's trust settings changed: %s",
            "; ".join(f"{n}: {old} -> {new}" for n, (old, new) in changed.items()),
            extra=event("trust_changed", settings=sorted(changed)),
        )
    return TrustChange(changed)


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
        facts = {**deployment_facts(runtime), **trust_facts(runtime)}
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
    from ipnotary.service.errors import LogBehindChain

    # A database behind the chain starts, to answer reads and say why it takes nothing: the halt
    # recorded here (logged as log_halted, reported by /readyz and every refused submission)
    # stops every process from accepting records before any arrive.
    with contextlib.suppress(LogBehindChain):
        runtime.worker.verify_log_against_chain(force=True)
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
