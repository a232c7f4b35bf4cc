"""The W3C test suite for the EdDSA cryptosuites (w3c/vc-di-eddsa-test-suite) against a real
``notary serve``: its ``eddsa-jcs-2022`` tests drive our VC-API issuer (``POST
/credentials/issue``, with an admin's key) and verifier (``POST /credentials/verify``), and every
one of them must pass.

The suite is prepared by ``tests/interop/vc/prepare-w3c-suite.sh`` (it is not on npm, and it needs
two GitHub repositories): in ``cache/vc-di-eddsa-test-suite``, or where
``VC_DI_EDDSA_TEST_SUITE`` says. The suite and two of its dependencies are on no package registry,
so a clean machine (CI's included) cannot fetch them: without a prepared suite or a mirror
(``VC_SUITE_GIT_URL``) the test skips, even under ``CI=true``, saying so; given a mirror, a suite
that cannot be prepared fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ipnotary.sdk.signing import public_key_from_b64
from ipnotary.sdk.vc import did_key
from tests.conftest import REPO, missing_component
from tests.integration.service_process import ServiceProcess

PREPARE = REPO / "tests" / "interop" / "vc" / "prepare-w3c-suite.sh"
SUITE = Path(os.environ.get("VC_DI_EDDSA_TEST_SUITE", REPO / "cache" / "vc-di-eddsa-test-suite"))
NAME = "IP Notary"  # our implementation's name in the suite's report

# The suite's implementations manifest for us, read by vc-test-suite-implementations from the
# suite's (git-ignored) localConfig.cjs; the values come from the environment the test sets.
LOCAL_CONFIG = """\
// Written by tests/integration/test_vc_w3c_suite.py: our VC-API endpoints only.
const env = process.env;
module.exports = {
  settings: {enableInteropTests: false, testAllImplementations: false},
  implementations: [{
    name: %(name)s,
    implementation: 'ipnotary',
    issuers: [{
      id: env.IPNOTARY_ISSUER_DID,
      endpoint: env.IPNOTARY_URL + '/credentials/issue',
      headers: {Authorization: 'Bearer ' + env.IPNOTARY_ADMIN_KEY},
      supports: {vc: ['2.0']},
      tags: ['eddsa-jcs-2022']
    }],
    verifiers: [{
      id: env.IPNOTARY_URL + '/credentials/verify',
      endpoint: env.IPNOTARY_URL + '/credentials/verify',
      supports: {vc: ['2.0']},
      tags: ['eddsa-jcs-2022']
    }]
  }]
};
"""


@pytest.fixture(scope="module")
def suite() -> Path:
    if shutil.which("node") is None or shutil.which("git") is None:
        missing_component("the W3C suite needs node and git")
    if not (SUITE / "suite").is_dir() and not os.environ.get("VC_SUITE_GIT_URL"):
        pytest.skip(
            "the W3C vc-di-eddsa-test-suite is not on any package registry: prepare it with "
            "tests/interop/vc/prepare-w3c-suite.sh from a mirror (VC_SUITE_GIT_URL)"
        )
    prepared = subprocess.run(
        [str(PREPARE), str(SUITE)], capture_output=True, text=True, timeout=600, check=False
    )
    if prepared.returncode != 0:
        missing_component(
            "the W3C vc-di-eddsa-test-suite could not be prepared (it is cloned from GitHub; set "
            f"VC_SUITE_GIT_URL for a mirror): {prepared.stderr.strip()[-400:]}"
        )
    (SUITE / "suite" / "localConfig.cjs").write_text(LOCAL_CONFIG % {"name": json.dumps(NAME)})
    return SUITE / "suite"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str]]:
    svc = ServiceProcess(tmp_path_factory.mktemp("w3c") / "data")
    admin = svc.create_principal("Operator", "admin")
    svc.start()
    try:
        yield svc, admin
    finally:
        svc.stop()


def test_the_w3c_eddsa_suite_passes_against_our_vc_api(
    suite: Path, service: tuple[ServiceProcess, str], tmp_path: Path
) -> None:
    svc, admin = service
    issuer = httpx.get(f"{svc.url}/v1/trust", timeout=30).json()["issuers"][0]["public_key"]
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "IPNOTARY_URL": svc.url,
        "IPNOTARY_ISSUER_DID": did_key(public_key_from_b64(issuer)),
        "IPNOTARY_ADMIN_KEY": admin,
        # The suite's jcs verifier tests verify what this implementation issued.
        "ISSUER_NAME_JCS": NAME,
    }
    run = subprocess.run(
        [
            str(suite / "node_modules" / ".bin" / "mocha"),
            "tests/",
            "--timeout",
            "15000",
            "--preserve-symlinks",
            "--reporter",
            "json",
            "--reporter-option",
            f"output={report}",
        ],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads(report.read_text())
    failed = [f"{t['fullTitle']}: {t['err'].get('message')}" for t in results["failures"]]
    assert not failed, "\n".join(failed)
    ours = [t["fullTitle"] for t in results["passes"] if NAME in t["fullTitle"]]
    # The interop test, the data model's and the algorithms' for eddsa-jcs-2022, all about us.
    assert f"eddsa-jcs-2022 (interop) {NAME} should verify {NAME}" in ours
    assert len(ours) == results["stats"]["tests"] >= 13, ours
    assert run.returncode == 0, run.stderr[-2000:]
