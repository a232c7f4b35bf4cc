"""The trust policy this deployment suggests to its verifiers (served at ``/v1/trust``).

It is a *suggestion*: a verifier who takes it from us trusts us. ``docs/trust.md`` tells
verifiers to check each part out of band (the witness keys with the witnesses themselves, the TSA
roots with the time service, the log key and origin with the operator's published statement)
before relying on it. The service also checks every certificate it issues against this policy.

When nothing independent is configured (no witness quorum, no TSA roots, no chain trusted for
time), the policy says so in its ``notice`` and does not require an independent time: that is the
embedded demo deployment, whose certificates rest on the operator alone.

Turning witnesses (or TSAs) on later keeps what exists: the checkpoints certified before, with no
attestation at all, are the log's operator-attested history (:func:`operator_attested_log_size`).
Their records keep their certificates, byte for byte (``services.records`` builds them without the
cosignatures a witness may add later), and the policy names the size up to which a certificate
rests on the operator alone (``operator_attested_log_size``); every later one needs the quorum.
"""

from __future__ import annotations

from cryptography import x509
from sqlalchemy import ColumnElement, and_, exists, func
from sqlmodel import Session, col, select

from ipnotary.sdk.note import cosignature_verifier_from_vkey
from ipnotary.sdk.policy import (
    IssuerKey,
    LogPolicy,
    TimestampAuthority,
    TrustedChain,
    TrustPolicy,
    Witness,
    WitnessPolicy,
)
from ipnotary.service.certificates.document_signer import trusted_document_signers
from ipnotary.service.config import Settings
from ipnotary.service.errors import ConfigurationError
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.transparency_log import TransparencyLog
from ipnotary.service.storage.models import Batch, Cosignature, TimestampToken

__all__ = [
    "NO_INDEPENDENT_PARTY",
    "certified_without_attestation",
    "load_tsa_roots",
    "operator_attested_log_size",
    "served_policy",
]

NO_INDEPENDENT_PARTY = (
    "This deployment has no witnesses, no time-stamp authority and no chain trusted for time: "
    "nobody but its operator vouches for the times in its certificates, and the operator could "
    "rebuild its own chain backdated. Use it to try the service, not as evidence."
)


def load_tsa_roots(settings: Settings) -> list[x509.Certificate]:
    if settings.tsa_ca_file is None:
        return []
    try:
        return x509.load_pem_x509_certificates(settings.tsa_ca_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"NOTARY_TSA_CA_FILE {settings.tsa_ca_file}: {exc}") from exc


def certified_without_attestation() -> ColumnElement[bool]:
    """The SQL condition "the batch was certified with no cosignature and no time-stamp token
    received by then": certified while the deployment had neither witnesses nor TSAs. What a
    witness or TSA sends later (one turned on afterwards catches up on old checkpoints) does not
    change that, nor the certificates built on it."""
    cosigned = exists().where(
        col(Cosignature.batch_seq) == col(Batch.seq),
        col(Cosignature.received_at) <= col(Batch.certified_at),
    )
    stamped = exists().where(
        col(TimestampToken.batch_seq) == col(Batch.seq),
        col(TimestampToken.received_at) <= col(Batch.certified_at),
    )
    return and_(col(Batch.certified_at).is_not(None), ~cosigned, ~stamped)


def operator_attested_log_size(session: Session) -> int | None:
    """The largest checkpoint certified by the operator alone (:func:`certified_without_
    attestation`), or None when there is none: up to it, a certificate has only the operator's
    word for its time."""
    size = session.exec(
        select(func.max(Batch.log_size)).where(
            col(Batch.log_size).is_not(None), certified_without_attestation()
        )
    ).one()
    return int(size) if size else None


def served_policy(
    *,
    settings: Settings,
    issuer: Issuer,
    log: TransparencyLog,
    chain: tuple[int, str, str] | None,
    operator_attested: int | None = None,
) -> TrustPolicy:
    """The policy for this deployment; ``chain`` is (chain id, genesis hash, registry) when the
    chain is to be suggested as a source of time (``NOTARY_CHAIN_TRUSTED_FOR_TIME``);
    ``operator_attested`` the :func:`operator_attested_log_size`, named in the policy once
    certificates wait for witnesses or TSAs."""
    from cryptography.hazmat.primitives.serialization import Encoding

    members = [
        Witness(name=cosignature_verifier_from_vkey(w.key).name, key=w.key)
        for w in settings.witnesses
    ]
    roots = load_tsa_roots(settings)
    authorities = (
        [
            TimestampAuthority(
                name="configured time-stamp authorities",
                certificates=[c.public_bytes(Encoding.PEM).decode("ascii") for c in roots],
            )
        ]
        if roots and settings.tsa_urls
        else []
    )
    chains = (
        [
            TrustedChain(
                chain_id=chain[0],
                genesis_hash=chain[1],
                registry=chain[2],
                min_confirmations=settings.chain_confirmations,
            )
        ]
        if chain is not None
        else []
    )
    quorum = settings.required_cosignatures
    independent = bool(quorum or authorities or chains)
    return TrustPolicy(
        name=f"suggested by the operator of {log.origin}",
        log=LogPolicy(origin=log.origin, keys=[log.vkey]),
        issuers=[
            IssuerKey(public_key=issuer.public_key_b64, name=issuer.name),
            *(
                IssuerKey(
                    public_key=k.public_key,
                    name=k.name or f"{issuer.name} (retired)",
                    not_before=k.not_before,
                    not_after=k.not_after,
                )
                for k in settings.issuer_retired_keys
                if k.public_key != issuer.public_key_b64
            ),
        ],
        witnesses=WitnessPolicy(quorum=quorum, members=members),
        timestamp_authorities=authorities,
        chains=chains,
        document_signers=trusted_document_signers(settings, name=issuer.name),
        require_independent_time=independent,
        notice=None if independent else NO_INDEPENDENT_PARTY,
        # Only once certificates wait for attestation: before, every certificate is the
        # operator's word, and the policy already says so.
        operator_attested_log_size=(
            operator_attested
            if settings.required_cosignatures or settings.required_timestamps
            else None
        ),
    )
