"""Our W3C Verifiable Credentials checked by an independent verifier: Digital Bazaar's
``@digitalbazaar/vc`` with the ``eddsa-jcs-2022`` cryptosuite and the Bitstring Status List
library (``tests/interop/vc/verify.js``, offline), on the specification's own vector, on the
credential of every record kind a real ``notary serve`` issues, on a tampered one, and on a
revoked one; and by our SDK and the service's VC-API on the same credentials.

Where to start reading: the ``deployment`` fixture (one record of every kind, their credentials,
a credit entry repaired so that its credential is revoked) and :func:`verify_with_digital_bazaar`.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk import CredentialStatus, NotaryClient, TrustPolicy, verify_credential
from ipnotary.sdk.attestations import NotarialKey, Template
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.signing import public_key_to_b64
from ipnotary.sdk.trade_secret import RecipientKeys
from ipnotary.sdk.vc import CONTEXT_URL
from tests.conftest import REPO
from tests.integration.service_process import NOTARY, ServiceProcess
from tests.vc_verifier import node, verify_with_digital_bazaar

VECTORS = REPO / "tests" / "assets" / "vc"
SUBJECT = "uscc:91110108551385082Q"
USCC = "91350100M000100Y43"
# Every kind but a capture, whose credential is checked by the same verifier in
# tests/browser/test_capture.py (a capture needs the browser and the capture site).
KINDS = [kind.value for kind in RecordKind if kind is not RecordKind.capture]
# Kinds whose credentials carry a status entry: a credit entry (its repair) and a notarial
# attestation (its notary's revocation) can be revoked.
REVOCABLE = {"credit_entry", "attestation"}


# -- the specification's vector ------------------------------------------------------------------


def _vector_request() -> tuple[dict[str, Any], dict[str, Any]]:
    signed = json.loads((VECTORS / "eddsa-jcs-2022" / "signedJCS.json").read_bytes())
    key = json.loads((VECTORS / "keyPair.json").read_bytes())["publicKeyMultibase"]
    method, issuer = signed["proof"]["verificationMethod"], signed["issuer"]
    # The vector's issuer is a URL, not the did:key: its controller document (which the W3C
    # does not publish) is what binds the key to it, so the loader serves one saying so.
    documents = {
        method: {
            "@context": "https://w3id.org/security/multikey/v1",
            "id": method,
            "type": "Multikey",
            "controller": issuer,
            "publicKeyMultibase": key,
        },
        issuer: {
            "@context": "https://www.w3.org/ns/did/v1",
            "id": issuer,
            "assertionMethod": [method],
        },
    }
    return signed, {"documents": documents}


def test_the_specifications_vector_verifies_in_digital_bazaars_verifier(tmp_path: Path) -> None:
    signed, request = _vector_request()
    answer = verify_with_digital_bazaar(tmp_path, signed, **request)
    assert answer["verified"] is True, answer
    signed["credentialSubject"]["alumniOf"] = "Another School"
    assert verify_with_digital_bazaar(tmp_path, signed, **request)["verified"] is False


# -- a deployment's credentials ------------------------------------------------------------------


@dataclass
class Deployment:
    svc: ServiceProcess
    policy: TrustPolicy
    context: dict[str, Any]
    admin_key: str
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)  # by record kind
    revoked: dict[str, Any] = field(default_factory=dict)  # a repaired credit entry's credential

    def status_list(self, credential: dict[str, Any]) -> dict[str, Any]:
        url = credential["credentialStatus"]["statusListCredential"]
        assert url.startswith(self.svc.url + "/v1/credentials/status/")
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and response.headers["content-type"] == "application/vc"
        listed: dict[str, Any] = response.json()
        return listed

    def request_for(self, credential: dict[str, Any]) -> dict[str, Any]:
        """The loader's documents for ``credential``: our context as the service serves it, and
        its status list, fetched from the URL it names."""
        documents = {}
        if "credentialStatus" in credential:
            url = credential["credentialStatus"]["statusListCredential"]
            documents[url] = self.status_list(credential)
        return {"contexts": {CONTEXT_URL: self.context}, "documents": documents, "expand": True}


def _principal(svc: ServiceProcess, name: str, role: str, *extra: str) -> str:
    out = subprocess.run(
        [*NOTARY, "principal", "create", "--name", name, "--role", role, *extra],
        env=svc._env(),
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return str(json.loads(out.stdout)["api_key"])


def _credit_entry() -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "subject": {"name": "Shady Trading Co", "id_type": "uscc", "id": SUBJECT.split(":")[1]},
        "conduct": "dishonest",
        "severity": "general",
        "category": "repeated trademark infringement",
        "description": "sold counterfeit goods",
        "legal_basis": "Trademark Law Art. 57",
        "deciding_authority": "City Market Regulation Bureau",
        "decision_date": (today - timedelta(days=10)).isoformat(),
        "decision_document_sha256": "ab" * 32,
        "publicity_start": (today - timedelta(days=10)).isoformat(),
        "publicity_end": (today + timedelta(days=365)).isoformat(),
    }


def _credential(client: NotaryClient, record_id: str, kind: RecordKind) -> dict[str, Any]:
    client.wait_anchored(record_id, kind=kind, timeout=90)
    client.certificate(record_id, kind=kind)  # certified, not only anchored
    response = client._request("GET", f"{kind.record_path(record_id)}/certificate.vc")
    assert response.headers["content-type"] == "application/vc"
    credential: dict[str, Any] = response.json()
    return credential


def _id(client: NotaryClient) -> str:
    return str(client._json("GET", "/v1/principals/me")["id"])


def _notarial_acts(clients: dict[str, NotaryClient], evidence: str) -> dict[RecordKind, str]:
    """A notary's attestation of ``evidence``, a refusal, and a revocation (of a second
    attestation, so that the first one's credential stays active)."""
    holder, notary = clients["holder"].notarial, clients["notary"].notarial
    holder_client = clients["holder"]
    key = NotarialKey.generate(
        office="Hangzhou Notary Office", notary="the notary", principal_id=_id(clients["notary"])
    )
    notary.register_key(key)
    holder_client.wait_anchored(evidence, timeout=90)  # a notary attests a proven time
    holder.share(evidence, _id(clients["notary"]))
    number = "(2026)浙杭证字第{}号"
    _, kept = notary.attest(
        key, [evidence], certificate_number=number.format(1), template=Template.file_content_at_time
    )
    _, revoked = notary.attest(
        key, [evidence], certificate_number=number.format(2), template=Template.file_content_at_time
    )
    _, refused = notary.refuse(key, [evidence], reasons=["the applicant did not appear"])
    clients["notary"].wait_anchored(revoked["id"], kind=RecordKind.attestation, timeout=90)
    _, revocation = notary.revoke(key, revoked["id"], reason="issued under the wrong number")
    return {
        RecordKind.attestation: kept["id"],
        RecordKind.notarial_refusal: refused["id"],
        RecordKind.attestation_revocation: revocation["id"],
    }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    node()
    svc = ServiceProcess(tmp_path_factory.mktemp("vc") / "data")
    keys = {
        role: svc.create_principal(f"the {role}", role)
        for role in (
            "holder",
            "arbitrator",
            "credit_authority",
            "pledge_registrar",
            "notary",
            "platform",
            "admin",
        )
    }
    svc.start()
    try:
        keys["subject"] = _principal(svc, "Shady Trading Co", "holder", "--subject", SUBJECT)
        clients = {name: NotaryClient(svc.url, key) for name, key in keys.items()}
        holder, bureau = clients["holder"], clients["credit_authority"]
        ids: dict[RecordKind, str] = {}
        ids[RecordKind.evidence] = holder.submit_digest(
            sha256="5e" * 32, size=11, metadata={"title": "design, final"}
        ).id
        ids[RecordKind.work] = holder.register_work(
            b"a painting, as a PNG would be" * 50,
            {
                "title": "Moonlight over the river",
                "work_type": "fine_art",
                "authors": [{"name": "Li Hua"}],
                "copyright_owner": {"name": "Acme", "id_type": "uscc", "id": "91350100M000100Y43"},
                "completed_on": "2025-03-01",
            },
        ).id
        holder_keys, arbitrator_keys = RecipientKeys.generate(), RecipientKeys.generate()
        holder.register_encryption_key(holder_keys)
        clients["arbitrator"].register_encryption_key(arbitrator_keys)
        secret = tmp_path_factory.mktemp("secret") / "recipe.txt"
        secret.write_bytes(b"41% cocoa, 7% chili")
        ids[RecordKind.trade_secret] = holder.file_trade_secret(secret, holder_keys).id
        arbitrator_id = clients["arbitrator"]._json("GET", "/v1/principals/me")["id"]
        assert arbitrator_keys.signing_key_id is not None
        ids[RecordKind.disclosure] = holder.disclose_trade_secret(
            ids[RecordKind.trade_secret],
            holder_keys,
            arbitrator_id,
            signing_key_id=arbitrator_keys.signing_key_id,
        ).id
        kept, _ = bureau.record_credit_entry(_credit_entry())
        repaired, _ = bureau.record_credit_entry(
            {**_credit_entry(), "description": "sold counterfeit goods, again"}
        )
        ids[RecordKind.credit_entry] = kept.id
        pledgee = Ed25519PrivateKey.generate().public_key()
        event = clients["pledge_registrar"].register_pledge(
            {"type": "patent", "registration_number": "ZL201710601862.3"},
            {
                "pledgor": {
                    "name": "Acme Studio Ltd",
                    "id_type": "uscc",
                    "id": "91110108551385082Q",
                },
                "pledgee": {
                    "name": "Bank of Hangzhou",
                    "id_type": "uscc",
                    "id": "91350100M000100Y43",
                },
                "secured_amount": "5000000.00",
                "currency": "CNY",
                "term_start": "2026-01-01",
                "term_end": "2030-12-31",
                "contract_sha256": "aa" * 32,
                "valuation_report_sha256": "bb" * 32,
                "pledgee_key": public_key_to_b64(pledgee),
            },
        )
        ids[RecordKind.pledge_event] = event["event"]["id"]
        ids.update(_notarial_acts(clients, ids[RecordKind.evidence]))
        ids[RecordKind.case_event] = clients["arbitrator"].cases.open(
            commission="Hangzhou Arbitration Commission",
            case_number="(2026)杭仲字第7号",
            parties=[
                {"label": "claimant", "name": "Acme", "id_type": "uscc", "id": USCC},
                {"label": "respondent", "name": "Shady", "id_type": "uscc", "id": SUBJECT[5:]},
            ],
            tribunal=[_id(clients["arbitrator"])],
        )["event"]["id"]
        ids[RecordKind.complaint_event] = holder.complaints.file(
            {
                "platform_id": _id(clients["platform"]),
                "holder": {"name": "Acme", "id_type": "uscc", "id": USCC},
                "right": {"type": "trademark", "title": "ACME", "registration_number": "第1号"},
                "listings": [{"url": "https://mall.example/item/1"}],
                "evidence": [ids[RecordKind.evidence]],
                "good_faith": "We believe in good faith that the listing infringes our mark.",
            }
        )["id"]

        # The repaired entry's credential, issued before the repair: what its holder kept.
        revoked = _credential(bureau, repaired.id, RecordKind.credit_entry)
        applied = clients["subject"].apply_credit_repair(repaired.id, "we destroyed the stock")
        decided = bureau.decide_credit_repair(applied["id"], approve=True, reason="rectified")
        ids[RecordKind.credit_repair] = decided["repair_record"]["id"]

        owners = {
            RecordKind.credit_entry: bureau,
            RecordKind.credit_repair: bureau,
            RecordKind.pledge_event: clients["pledge_registrar"],
            RecordKind.attestation: clients["notary"],
            RecordKind.notarial_refusal: clients["notary"],
            RecordKind.attestation_revocation: clients["notary"],
            RecordKind.case_event: clients["arbitrator"],
        }
        found = Deployment(
            svc,
            policy=holder.trust_policy(),
            context=httpx.get(f"{svc.url}/v1/credentials/contexts/v1", timeout=30).json(),
            admin_key=keys["admin"],
            revoked=revoked,
        )
        for kind, record_id in ids.items():
            found.credentials[kind.value] = _credential(owners.get(kind, holder), record_id, kind)
        for client in clients.values():
            client.close()
        yield found
    finally:
        svc.stop()


def test_there_is_a_credential_of_every_record_kind(deployment: Deployment) -> None:
    assert set(deployment.credentials) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_digital_bazaars_verifier_verifies_our_credential_offline(
    kind: str, deployment: Deployment, tmp_path: Path
) -> None:
    credential = deployment.credentials[kind]
    answer = verify_with_digital_bazaar(tmp_path, credential, **deployment.request_for(credential))
    assert answer["verified"] is True, answer
    # JSON-LD safe mode: every term is one our context (as the service serves it) defines.
    assert answer["expanded"] == {"ok": True, "nodes": 1}, answer
    issuer = credential["issuer"]
    assert set(answer["loaded"]) <= {
        "https://www.w3.org/ns/credentials/v2",
        CONTEXT_URL,
        issuer,
        credential["proof"]["verificationMethod"],
        *deployment.request_for(credential)["documents"],
    }
    revocable = kind in REVOCABLE
    assert ("credentialStatus" in credential) is revocable
    if revocable:
        assert answer["status"] == {"verified": True, "revoked": False, "error": None}


@pytest.mark.parametrize("kind", KINDS)
def test_our_sdk_verifies_the_same_credential_under_the_served_policy(
    kind: str, deployment: Deployment
) -> None:
    result = verify_credential(deployment.credentials[kind], deployment.policy, fetch_status=True)
    assert (
        result.certificate.record_id
        == deployment.credentials[kind]["credentialSubject"]["recordId"]
    )
    assert result.certificate.kind == kind
    expected = CredentialStatus.ACTIVE if kind in REVOCABLE else CredentialStatus.NOT_REVOCABLE
    assert result.status is expected


def test_a_tampered_credential_does_not_verify(deployment: Deployment, tmp_path: Path) -> None:
    credential = copy.deepcopy(deployment.credentials["evidence"])
    credential["credentialSubject"]["content"]["sha256"] = "00" * 32
    answer = verify_with_digital_bazaar(tmp_path, credential, **deployment.request_for(credential))
    assert answer["verified"] is False and "signature" in str(answer["error"]).lower(), answer
    with pytest.raises(VerificationError) as failure:
        verify_credential(credential, deployment.policy)
    assert failure.value.step == "credential_proof"


def test_a_repaired_entrys_credential_is_revoked(deployment: Deployment, tmp_path: Path) -> None:
    credential = deployment.revoked
    answer = verify_with_digital_bazaar(tmp_path, credential, **deployment.request_for(credential))
    # The credential and its status list both verify; the list says the entry is revoked.
    assert answer["status"] == {"verified": True, "revoked": True, "error": None}, answer
    with pytest.raises(VerificationError) as failure:
        verify_credential(credential, deployment.policy, fetch_status=True)
    assert failure.value.step == "credential_status"
    # Another entry on the same list is not.
    kept = deployment.credentials["credit_entry"]
    assert (
        kept["credentialStatus"]["statusListCredential"]
        == credential["credentialStatus"]["statusListCredential"]
    )
    assert verify_credential(kept, deployment.policy, fetch_status=True).status.value == "active"


def test_the_vc_api_verifies_our_credentials_and_refuses_a_tampered_one(
    deployment: Deployment,
) -> None:
    verify = f"{deployment.svc.url}/credentials/verify"
    ok = httpx.post(verify, json={"verifiableCredential": deployment.credentials["work"]})
    assert ok.status_code == 200 and ok.json()["verified"] is True
    assert ok.json()["checks"] == ["proof", "certificate"]
    revoked = httpx.post(verify, json={"verifiableCredential": deployment.revoked})
    assert revoked.status_code == 400 and revoked.json()["step"] == "credential_status"
    tampered = copy.deepcopy(deployment.credentials["work"])
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    refused = httpx.post(verify, json={"verifiableCredential": tampered})
    assert refused.status_code == 400 and refused.json()["step"] == "credential_proof"


def test_the_vc_api_issues_for_the_operator_only_and_digital_bazaar_verifies_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    issuer = deployment.credentials["evidence"]["issuer"]
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:court", "name": "a claim"},
    }
    issue = f"{deployment.svc.url}/credentials/issue"
    assert httpx.post(issue, json={"credential": credential}).status_code == 401
    admin = {"Authorization": f"Bearer {deployment.admin_key}"}
    issued = httpx.post(issue, json={"credential": credential}, headers=admin)
    assert issued.status_code == 201, issued.text
    signed = issued.json()["verifiableCredential"]
    assert verify_with_digital_bazaar(tmp_path, signed)["verified"] is True
    # A record credential is only ever made from a record.
    forged = {**deployment.credentials["evidence"]}
    forged.pop("proof")
    refused = httpx.post(issue, json={"credential": forged}, headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "credential_type_reserved"
