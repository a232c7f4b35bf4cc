"""A deployment whose checkpoints other parties witness: witnesses (our ``notary witness`` and
torchwood's litewitness, each its own process with its own key and state), an ``openssl ts`` TSA,
and the service configured to use them; plus the trust policy a court would assemble from what
each party published (not from the service).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ipnotary.sdk.policy import (
    IssuerKey,
    LogPolicy,
    TimestampAuthority,
    TrustPolicy,
    Witness,
    WitnessPolicy,
)
from tests.conftest import REPO, find_tool, missing_component
from tests.integration.service_process import NOTARY, ServiceProcess
from tests.integration.torchwood import LiteWitness, NotaryWitness
from tests.tsa import OpenSSLTimestampAuthority

AnyWitness = LiteWitness | NotaryWitness

FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def log_identity(data_dir: Path, **env: str) -> tuple[str, str]:
    """(origin, vkey) of the log in ``data_dir``, from ``notary log show --init`` as an operator
    runs it for a new deployment (it makes the log key, so witnesses can register the log before
    the service's first start)."""
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    run_env.update({"NOTARY_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO), **env})
    out = subprocess.run(
        [*NOTARY, "log", "show", "--json", "--init"],
        env=run_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(out.stdout)
    return str(doc["origin"]), str(doc["vkey"])


def faketime_env(moment: str) -> dict[str, str]:
    """Environment that runs a process under a clock starting at ``moment`` ("2019-01-01
    00:00:00") and running on from there (libfaketime)."""
    if not FAKETIME_LIB.exists() or find_tool("faketime") is None:
        missing_component(
            "faketime (Debian package faketime) is needed to set a process's clock back"
        )
    return {
        "LD_PRELOAD": str(FAKETIME_LIB),
        "FAKETIME": f"@{moment}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",
    }


@dataclass
class Deployment:
    """The service in ``data_dir`` configured with ``witnesses`` (quorum ``quorum``) and ``tsa``."""

    data_dir: Path
    witnesses: Sequence[AnyWitness]
    quorum: int
    tsa: OpenSSLTimestampAuthority | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    service: ServiceProcess | None = None

    def env(self) -> dict[str, str]:
        env = {
            "NOTARY_WITNESSES": json.dumps([{"url": w.url, "key": w.vkey} for w in self.witnesses]),
            "NOTARY_WITNESS_QUORUM": str(self.quorum),
            "NOTARY_BATCH_INTERVAL_SECONDS": "0.3",
        }
        if self.tsa is not None:
            env["NOTARY_TSA_URLS"] = self.tsa.url
            env["NOTARY_TSA_CA_FILE"] = str(self.tsa.ca_file)
        env.update(self.extra_env)
        return env

    def start(self) -> ServiceProcess:
        self.service = ServiceProcess(self.data_dir, env=self.env()).start()
        return self.service

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()


def court_policy(
    *,
    origin: str,
    log_vkey: str,
    issuer_public_key: str,
    witnesses: Sequence[AnyWitness],
    quorum: int,
    tsa: OpenSSLTimestampAuthority | None = None,
    **changes: Any,
) -> TrustPolicy:
    """What a verifier assembles out of band: each witness's key from that witness, the TSA's
    root from the time service, the log key and issuer key from the operator's statement."""
    from cryptography.hazmat.primitives.serialization import Encoding

    changes.setdefault("name", "court policy (test)")
    return TrustPolicy(
        log=LogPolicy(origin=origin, keys=[log_vkey]),
        issuers=[IssuerKey(public_key=issuer_public_key)],
        witnesses=WitnessPolicy(
            quorum=quorum, members=[Witness(name=w.name, key=w.vkey) for w in witnesses]
        ),
        timestamp_authorities=[
            TimestampAuthority(
                name="test TSA",
                certificates=[tsa.root_certificate.public_bytes(Encoding.PEM).decode()],
            )
        ]
        if tsa
        else [],
        **changes,
    )


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(interval)


def readiness(url: str, admin_key: str | None = None) -> dict[str, Any]:
    """``/readyz``; with an admin key it includes each dependency's error text."""
    headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
    return dict(httpx.get(f"{url}/readyz", headers=headers, timeout=10).json())
