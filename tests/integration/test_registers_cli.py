"""The credit and pledge registers driven through the CLI against a real server process, with
answers verified against the chain read from the running service's data directory; and the same
answers checked by the SDK under the service's trust policy (and refused under a policy that trusts
another issuer)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk import NotaryClient, TrustPolicy, VerificationError
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.signing import public_key_to_b64
from tests.conftest import REPO
from tests.integration.conftest import served_operator_policy
from tests.integration.service_process import NOTARY, ServiceProcess

SUBJECT = {"name": "Shady Trading Co", "id_type": "uscc", "id": "91110108551385082Q"}
BANK = {"name": "Bank of Hangzhou", "id_type": "uscc", "id": "91350100M000100Y43"}


def run(
    svc: ServiceProcess, key: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    env = {**svc._env(), "NOTARY_URL": svc.url, "NOTARY_API_KEY": key}
    out = subprocess.run(
        [*NOTARY, *args], cwd=REPO, env=env, capture_output=True, timeout=120, check=False
    )
    if check:
        assert out.returncode == 0, out.stderr.decode()[-2000:]
    return out


def test_credit_and_pledge_registers_through_the_cli(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path / "data")
    authority = svc.create_principal("Market Bureau", "credit_authority")
    registrar = svc.create_principal("Pledge Registry Office", "pledge_registrar")
    svc.start()
    try:
        today = datetime.now(UTC).date()
        entry = tmp_path / "entry.json"
        entry.write_text(
            json.dumps(
                {
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
            )
        )
        recorded = json.loads(run(svc, authority, "credit", "record", "--file", str(entry)).stdout)
        assert len(recorded["opening"]["salt"]) == 64
        chain_dir = str(svc.data_dir / "chain")
        policy_file = tmp_path / "policy.json"
        policy_file.write_bytes(served_operator_policy(svc).to_json_bytes())
        status = {}
        for _ in range(60):  # until the entry is certified: before that it is pending, not counted
            out = run(
                svc,
                "",
                "credit",
                "status",
                "uscc:91110108551385082Q",
                "--chain-data",
                chain_dir,
                "--policy",
                str(policy_file),
                "--json",
                check=False,
            )
            if out.returncode == 0 and json.loads(out.stdout)["class"] == "C":
                status = json.loads(out.stdout)
                break
            subprocess.run(["sleep", "0.5"], check=True)
        assert status["class"] == "C" and status["chain_checked"] is True and status["trusted"]
        # the same answer without a policy is only self-consistent: printed, and exit status 4
        untrusted = run(svc, "", "credit", "status", "uscc:91110108551385082Q", check=False)
        assert untrusted.returncode == 4 and b"NOT TRUSTED" in untrusted.stderr
        _check_credit_under_policies(svc, "uscc:91110108551385082Q")

        bank_key = tmp_path / "bank.key"
        pledgee_key = json.loads(run(svc, "", "pledge", "keygen", "-o", str(bank_key)).stdout)[
            "pledgee_key"
        ]
        pledge = tmp_path / "pledge.json"
        pledge.write_text(
            json.dumps(
                {
                    "asset": {"type": "trademark", "registration_number": "12345678"},
                    "terms": {
                        "pledgor": SUBJECT,
                        "pledgee": BANK,
                        "secured_amount": "1000000",
                        "currency": "CNY",
                        "term_start": "2026-01-01",
                        "term_end": "2027-01-01",
                        "contract_sha256": "cc" * 32,
                        "valuation_report_sha256": "dd" * 32,
                        "pledgee_key": pledgee_key,
                    },
                }
            )
        )
        registered = json.loads(
            run(svc, registrar, "pledge", "register", "--file", str(pledge)).stdout
        )
        pledge_id = registered["pledge"]["pledge_id"]
        answer = json.loads(
            run(
                svc,
                "",
                "pledge",
                "status",
                "--asset-type",
                "trademark",
                "--number",
                "12345678",
                "--chain-data",
                chain_dir,
                "--policy",
                str(policy_file),
                "--json",
            ).stdout
        )
        assert answer["pledged"] and answer["pledge_id"] == pledge_id and answer["chain_checked"]
        assert answer["pledgee"]["name"] == BANK["name"]
        _check_pledge_under_policies(svc, pledge_id)

        # Somebody else's key, signing as somebody else: refused before anything is sent.
        other_key, forged = tmp_path / "other.key", tmp_path / "forged.json"
        run(svc, "", "pledge", "keygen", "-o", str(other_key))
        run(
            svc,
            "",
            "pledge",
            "consent",
            str(pledge_id),
            "--action",
            "release",
            "--key",
            str(other_key),
            "--party-id-type",
            "passport",
            "--party-id",
            "E12345678",
            "-o",
            str(forged),
        )
        refused = run(
            svc,
            registrar,
            "pledge",
            "release",
            str(pledge_id),
            "--consent",
            str(forged),
            check=False,
        )
        assert refused.returncode == 1 and b"not as the pledgee" in b" ".join(
            refused.stderr.split()
        )

        # Another registrar cannot release it, even with the bank's consent.
        consent = tmp_path / "consent.json"
        signed = json.loads(
            run(
                svc,
                "",
                "pledge",
                "consent",
                str(pledge_id),
                "--action",
                "release",
                "--key",
                str(bank_key),
                "--party-id-type",
                "uscc",
                "--party-id",
                BANK["id"],
                "-o",
                str(consent),
            ).stdout
        )
        assert signed["pledge_id"] == pledge_id and signed["action"] == "release"
        other_office = svc.create_principal("Another Registry Office", "pledge_registrar")
        foreign = run(
            svc,
            other_office,
            "pledge",
            "release",
            str(pledge_id),
            "--consent",
            str(consent),
            check=False,
        )
        assert foreign.returncode == 1 and b"not_your_pledge" in b" ".join(foreign.stderr.split())
        released = json.loads(
            run(
                svc, registrar, "pledge", "release", str(pledge_id), "--consent", str(consent)
            ).stdout
        )
        assert released["event"]["receipt"]["record"]["consent"]["act"] == signed
        freed = run(
            svc,
            "",
            "pledge",
            "status",
            "--asset-type",
            "trademark",
            "--number",
            "12345678",
            "--chain-data",
            chain_dir,
            "--json",
            check=False,
        )
        assert freed.returncode == 4 and json.loads(freed.stdout)["pledged"] is False  # no policy

        # Running the registration again (its answer was lost, say) does not pledge the asset again.
        again = json.loads(run(svc, registrar, "pledge", "register", "--file", str(pledge)).stdout)
        assert again["pledge"]["pledge_id"] == pledge_id and again["pledge"]["status"] == "released"
        assert again["event"]["id"] == registered["event"]["id"]
    finally:
        svc.stop()


def _policies(svc: ServiceProcess) -> tuple[TrustPolicy, TrustPolicy]:
    """The service's suggested policy, and one that trusts another issuer key instead."""
    policy = served_operator_policy(svc)
    stranger = public_key_to_b64(Ed25519PrivateKey.generate().public_key())
    other = TrustPolicy.from_json(
        {**policy.model_dump(mode="json", exclude_none=True), "issuers": [{"public_key": stranger}]}
    )
    return policy, other


def _check_credit_under_policies(svc: ServiceProcess, subject: str) -> None:
    policy, other = _policies(svc)
    chain = open_chain_view(embedded_dir=svc.data_dir / "chain")
    try:
        with NotaryClient(svc.url, policy=policy) as client:
            verified = client.credit_status(subject, chain=chain)  # each entry's certificate too
        assert verified.credit_class == "C" and verified.chain_checked
        with (
            NotaryClient(svc.url, policy=other) as client,
            pytest.raises(VerificationError) as info,
        ):
            client.credit_status(subject, chain=chain)
        assert info.value.step == "issuer"
    finally:
        chain.close()


def _check_pledge_under_policies(svc: ServiceProcess, pledge_id: int) -> None:
    policy, other = _policies(svc)
    with NotaryClient(svc.url, policy=policy) as client:
        verified = client.pledge_status("trademark", "12345678")
    assert verified.pledged and verified.pledge_id == pledge_id
    with NotaryClient(svc.url, policy=other) as client, pytest.raises(VerificationError) as info:
        client.pledge_status("trademark", "12345678")
    assert info.value.step == "issuer"
