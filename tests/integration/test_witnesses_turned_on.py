"""Turning witnesses on keeps what exists, with real processes: a ``notary serve`` on embedded
defaults makes records (evidence, a trade secret disclosed to an arbitrator, a credit entry), then
restarts with two ``notary witness`` processes and a quorum of two.

Before, every earlier record's certificate answered 500 ``certificate_self_check_failed``, the
disclosed secret could not be opened (its certificate is fetched first) and the credit status
changed class (its entry's certificate went missing). Now the earlier certificates are served as
they were, verify under the new policy as operator-attested from before the witnesses, the secret
opens, the class is the same, and new checkpoints carry the quorum's cosignatures.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ipnotary.sdk import NotaryClient, RecordKind, TimeSource, verify_certificate
from ipnotary.sdk.trade_secret import RecipientKeys
from tests.conftest import REPO
from tests.integration.service_process import NOTARY, ServiceProcess
from tests.integration.torchwood import NotaryWitness
from tests.integration.witnessed import log_identity, wait_for

pytestmark = pytest.mark.slow

SUBJECT = {"name": "Shady Trading Co", "id_type": "uscc", "id": "91110108551385082Q"}
SUBJECT_KEY = "uscc:91110108551385082Q"


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[list[NotaryWitness]]:
    made: list[NotaryWitness] = []
    try:
        made.append(NotaryWitness.create(tmp_path / "w-office", name="notary-office.test/w"))
        made.append(NotaryWitness.create(tmp_path / "w-court", name="court.test/w"))
        yield made
    finally:
        for w in made:
            w.close()


def _entry() -> dict[str, object]:
    today = datetime.now(UTC).date()
    return {
        "subject": SUBJECT,
        "conduct": "dishonest",
        "severity": "general",
        "category": "counterfeits",
        "description": "sold counterfeit goods",
        "legal_basis": "Trademark Law Art. 57",
        "deciding_authority": "Market Bureau",
        "decision_date": today.isoformat(),
        "decision_document_sha256": "ab" * 32,
        "publicity_start": today.isoformat(),
        "publicity_end": (today + timedelta(days=30)).isoformat(),
    }


def _arbitrator_id(client: NotaryClient) -> str:
    found = client._json("GET", "/v1/principals", params={"role": "arbitrator"})
    return str(next(p["id"] for p in found if p["name"] == "Arbitrator"))


def test_records_made_before_the_witnesses_keep_their_certificates(
    tmp_path: Path, witnesses: list[NotaryWitness]
) -> None:
    svc = ServiceProcess(tmp_path / "service")
    keys = {
        "holder": svc.create_principal("Acme Studio", "holder"),
        "arbitrator": svc.create_principal("Arbitrator", "arbitrator"),
        "authority": svc.create_principal("Market Bureau", "credit_authority"),
    }
    holder_keys, arb_keys = RecipientKeys.generate(), RecipientKeys.generate()
    secret = tmp_path / "recipe.txt"
    secret.write_bytes(b"a recipe kept for decades\n" * 100)
    svc.start()
    try:
        with (
            NotaryClient(svc.url, keys["holder"]) as holder,
            NotaryClient(svc.url, keys["arbitrator"]) as arbitrator,
            NotaryClient(svc.url, keys["authority"]) as authority,
        ):
            before = holder.trust_policy()
            assert before.witnesses.quorum == 0 and before.operator_attested_log_size is None
            evidence = holder.submit_digest(sha256=hashlib.sha256(b"e1").hexdigest(), size=2)
            holder.register_encryption_key(holder_keys)
            arbitrator.register_encryption_key(arb_keys)
            assert arb_keys.signing_key_id is not None
            filing = holder.file_trade_secret(secret, holder_keys)
            disclosure = holder.disclose_trade_secret(
                filing.id,
                holder_keys,
                _arbitrator_id(holder),
                signing_key_id=arb_keys.signing_key_id,
            )
            entry, _ = authority.record_credit_entry(_entry())
            for rid in (evidence.id, filing.id, disclosure.id, entry.id):
                holder_or_authority = authority if rid == entry.id else holder
                holder_or_authority.wait_anchored(rid, timeout=90, poll=0.2)
            earlier = {
                rid: httpx.get(
                    f"{svc.url}{RecordKind.of_id(rid).record_path(rid)}/certificate",  # type: ignore[union-attr]
                    headers={"Authorization": f"Bearer {keys['holder']}"},
                    timeout=30,
                ).content
                for rid in (evidence.id, filing.id)
            }
            credit_before = NotaryClient(svc.url, policy=before).credit_status(SUBJECT_KEY)
        assert credit_before.credit_class == "C"
    finally:
        svc.stop()

    # The operator publishes the log's identity; each witness registers it; the service restarts
    # with both and a quorum of two.
    origin, log_vkey = log_identity(svc.data_dir)
    for w in witnesses:
        w.add_log(origin, log_vkey)
    svc.env.update(
        {
            "NOTARY_WITNESSES": json.dumps([{"url": w.url, "key": w.vkey} for w in witnesses]),
            "NOTARY_WITNESS_QUORUM": "2",
        }
    )
    svc.start()
    try:
        with NotaryClient(svc.url) as anyone:
            policy = anyone.trust_policy()
        assert policy.witnesses.quorum == 2 and policy.require_independent_time
        assert policy.operator_attested_log_size is not None
        policy_file = tmp_path / "policy.json"
        policy_file.write_bytes(policy.to_json_bytes())

        with (
            NotaryClient(svc.url, keys["holder"], policy=policy) as holder,
            NotaryClient(svc.url, keys["arbitrator"], policy=policy) as arbitrator,
        ):
            # Earlier certificates: served as they were (they answered 500), valid under the new
            # policy, and reported for what they are.
            for rid, cert in earlier.items():
                again = httpx.get(
                    f"{svc.url}{RecordKind.of_id(rid).record_path(rid)}/certificate",  # type: ignore[union-attr]
                    headers={"Authorization": f"Bearer {keys['holder']}"},
                    timeout=30,
                )
                assert again.status_code == 200, again.text
                assert again.content == cert
                result = verify_certificate(cert, policy)
                assert result.trusted and result.time_source is TimeSource.OPERATOR
                assert any("before the deployment's witnesses" in n for n in result.notes)
            cert_file = tmp_path / "earlier.cert.json"
            cert_file.write_bytes(earlier[evidence.id])
            checked = subprocess.run(
                [*NOTARY, "verify", str(cert_file), "--policy", str(policy_file)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "VALID" in checked.stdout and "operator alone" in checked.stdout

            # The secret disclosed before opens for the arbitrator (its certificate is checked).
            opened = tmp_path / "opened.txt"
            arbitrator.open_trade_secret(filing.id, arb_keys, opened)
            assert opened.read_bytes() == secret.read_bytes()

            # The credit status keeps its class, verified under the new policy.
            assert holder.credit_status(SUBJECT_KEY).credit_class == credit_before.credit_class

            # New checkpoints are witnessed by the quorum.
            later = holder.submit_digest(sha256=hashlib.sha256(b"e2").hexdigest(), size=2)
            wait_for(
                lambda: holder.get(later.id)["status"] == "anchored", 120, "the witness quorum"
            )
            fresh = holder.certificate(later.id)
            witnessed = verify_certificate(fresh, policy)
            assert witnessed.time_source is TimeSource.WITNESSES
            assert len(witnessed.witnesses) == 2
    finally:
        svc.stop()
