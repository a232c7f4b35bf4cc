"""Two verifiers, one verdict: every case of ``verify_corpus`` goes through the Python verifier
(``ipnotary.sdk.verify_certificate``) and through the verification page in Chromium
(``window.ipnotary.verify``), and the two must agree case by case: the verdict, the failed
step, and for a certificate that verifies the proven time and its source. A disagreement fails
and names the case; the cases that disagree are written to a directory the failure names, to be
replayed by hand.

The page runs the cases in batches inside one page (one browser per session), so a few thousand
certificates take seconds. The file of a case is hashed by the page once per distinct file and
its fingerprint compared with the Python one; the cases then carry the page's own fingerprint.

Where the Python verifier is wrong (raises instead of answering), the case is listed in
:data:`PYTHON_DEFECTS` with what the page answers instead: the test asserts both, so the day the
Python verifier is fixed, the entry fails and goes. None is listed now.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ipnotary.sdk.certificate import format_timestamp, parse_time
from ipnotary.sdk.errors import FormatError, NotTrustedError, VerificationError
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import verify_certificate
from tests.browser.conftest import LiveServer, new_page
from tests.browser.verify_corpus import Case, Corpus, build_corpus, openssl_tsa

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BATCH = 400


@dataclass(frozen=True)
class Outcome:
    """A verifier's answer: ``valid``; ``not_trusted`` (without a policy; or at a step, where
    the policy vouches for nothing the certificate names: the SDK's ``NotTrustedError``);
    ``invalid`` at a step; ``error`` (could not check); ``crash`` when it raised something else
    (the Python verifier only: the message is the exception)."""

    verdict: str
    step: str | None = None
    source: str | None = None
    time: str | None = None

    def __str__(self) -> str:
        if self.step is None:
            return f"{self.verdict} ({self.time}, {self.source})"
        return f"{self.verdict} at {self.step}"


@dataclass(frozen=True)
class Defect:
    """A case the Python verifier gets wrong: it raises ``python`` instead of answering."""

    cases: str  # a regular expression over case names
    python: str  # the exception it raises (its type name)
    what: str
    page: Callable[[Case, Outcome], bool]  # what the page must answer instead


# Cases where the Python verifier raises something other than a VerificationError, with what the
# page answers instead. Empty: each crash found here became a verdict at a named step, the same in
# both verifiers (``tests/unit/client_sdk/test_verify_unusable_values.py``).
PYTHON_DEFECTS: list[Defect] = []


def _python(case: Case, corpus: Corpus, policies: dict[str, TrustPolicy]) -> Outcome:
    try:
        result = verify_certificate(
            case.certificate,
            policies[case.policy] if case.policy else None,
            content=corpus.contents[case.content] if case.content else None,
            now=parse_time(case.now),
        )
    except NotTrustedError as exc:
        return Outcome("not_trusted", exc.step)
    except VerificationError as exc:
        return Outcome("invalid", exc.step)
    except Exception as exc:  # noqa: BLE001 - a crash is an answer to compare, not to hide
        return Outcome("crash", f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(
        result.verdict.value,
        None,
        result.time_source.value,
        format_timestamp(result.proven_time),
    )


_RUN_BATCH = """async ({cases, policies}) => {
  const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const trust = Object.fromEntries(Object.entries(policies).map(([k, v]) => [k, bytes(v)]));
  const out = [];
  for (const c of cases) {
    try {
      const r = await ipnotary.verify({
        certificate: bytes(c.certificate),
        policy: c.policy === null ? null : trust[c.policy],
        file: c.content === null ? null : window.corpusDigests[c.content],
        now: c.now,
      });
      const result = r.result ?? {};
      out.push([r.verdict, r.failed_step, result.time_source ?? null, result.proven_time ?? null]);
    } catch (e) {
      out.push(['crash', String(e && e.stack || e), null, null]);
    }
  }
  return out;
}"""

_FINGERPRINT = """async (contents) => {
  window.corpusDigests = {};
  for (const [name, data] of Object.entries(contents)) {
    const file = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const r = await ipnotary.verify({certificate: '{}', file});
    window.corpusDigests[name] = r.digests;
  }
  return window.corpusDigests;
}"""


def _page_outcomes(page: Page, corpus: Corpus) -> tuple[list[Outcome], float]:
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    digests = page.evaluate(_FINGERPRINT, {k: b64(v) for k, v in corpus.contents.items()})
    for name, data in corpus.contents.items():
        fp = fingerprint_bytes(data)
        expected = {"size": fp.size, "sha256": fp.sha256, "sm3": fp.sm3, "cid": fp.cid}
        expected["cid_v1"] = fp.cid_v1
        assert digests[name] == expected, f"the page's fingerprint of {name} differs"
    policies = {k: b64(v) for k, v in corpus.policies.items()}
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    for at in range(0, len(corpus.cases), BATCH):
        batch = [
            {
                "certificate": b64(c.certificate),
                "policy": c.policy,
                "content": c.content,
                "now": c.now,
            }
            for c in corpus.cases[at : at + BATCH]
        ]
        for verdict, step, source, moment in page.evaluate(
            _RUN_BATCH, {"cases": batch, "policies": policies}
        ):
            outcomes.append(Outcome(verdict, step, source, moment))
    return outcomes, time.perf_counter() - start


@pytest.fixture(scope="module")
def corpus() -> Iterator[Corpus]:
    with tempfile.TemporaryDirectory() as work, openssl_tsa(Path(work)) as tsa:
        yield build_corpus(tsa=tsa, epoch=int(time.time()) - 20)


@pytest.fixture(scope="module")
def page_server() -> Iterator[LiveServer]:
    from fastapi import FastAPI

    from ipnotary.service.api.routes import verify_page

    app = FastAPI()
    app.include_router(verify_page.router)
    with LiveServer(app) as server:
        yield server


def _save(cases: list[tuple[Case, Outcome, Outcome]], corpus: Corpus) -> Path:
    where = Path(tempfile.mkdtemp(prefix="verify-disagreements-"))
    for n, (case, py, js) in enumerate(cases):
        folder = where / f"{n:04d}"
        folder.mkdir()
        (folder / "certificate.json").write_bytes(case.certificate)
        if case.policy:
            (folder / "policy.json").write_bytes(corpus.policies[case.policy])
        if case.content:
            (folder / "file").write_bytes(corpus.contents[case.content])
        (folder / "case.json").write_text(
            json.dumps({"name": case.name, "now": case.now, "python": str(py), "page": str(js)})
        )
    return where


def test_the_page_and_the_python_verifier_agree_on_every_case(
    browser: Browser, page_server: LiveServer, corpus: Corpus, request: pytest.FixtureRequest
) -> None:
    policies = {name: TrustPolicy.from_json(data) for name, data in corpus.policies.items()}
    started = time.perf_counter()
    python = [_python(case, corpus, policies) for case in corpus.cases]
    python_seconds = time.perf_counter() - started
    with new_page(browser) as (page, errors):
        page.goto(f"{page_server.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        outcomes, page_seconds = _page_outcomes(page, corpus)
        assert not errors, errors

    disagreements: list[tuple[Case, Outcome, Outcome]] = []
    defects: Counter[str] = Counter()
    for case, py, js in zip(corpus.cases, python, outcomes, strict=True):
        assert js.verdict != "crash", f"{case.name}: the page raised {js.step}"
        if py.verdict == "crash":
            defect = next((d for d in PYTHON_DEFECTS if re.search(d.cases, case.name)), None)
            assert defect is not None, f"{case.name}: the Python verifier raised {py.step}"
            assert py.step is not None and py.step.startswith(f"{defect.python}:"), (
                f"{case.name}: the Python verifier raised {py.step}, not {defect.python}"
            )
            assert defect.page(case, js), f"{case.name}: the page answered {js} ({defect.what})"
            defects[defect.cases] += 1
            continue
        if py != js:
            disagreements.append((case, py, js))
    if disagreements:
        where = _save(disagreements, corpus)
        shown = "\n".join(f"  {c.name}: python {py}, page {js}" for c, py, js in disagreements[:40])
        pytest.fail(
            f"{len(disagreements)} of {len(corpus.cases)} cases disagree (saved in {where}):\n"
            + shown
        )
    listed = {d.cases for d in PYTHON_DEFECTS}
    assert set(defects) == listed, f"defects no case shows any more: {listed - set(defects)}"

    verdicts = Counter(f"{o.verdict}:{o.step or o.source}" for o in outcomes)
    assert verdicts["valid:witnesses"] and verdicts["valid:timestamp_authority"]
    assert verdicts["not_trusted:operator"] and verdicts["valid:operator"]
    summary = (
        f"verify page agreement: {len(corpus.cases)} cases agree ({sum(defects.values())} of "
        f"them where the Python verifier raises instead); page {page_seconds:.1f} s "
        f"({len(corpus.cases) / page_seconds:.0f} cases/s), Python {python_seconds:.1f} s; "
        f"{json.dumps(dict(sorted(verdicts.items())))}"
    )
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(f"\n{summary}")
    print(summary)


def test_every_hostile_asset_fails_at_its_step_in_the_page(
    browser: Browser, page_server: LiveServer, corpus: Corpus
) -> None:
    """The hostile assets' manifest is the expected answer, for the page as for the SDK."""
    manifest: dict[str, Any] = json.loads(
        (
            Path(__file__).resolve().parents[1] / "assets/certificates/v2/hostile/manifest.json"
        ).read_text()
    )
    hostile = Corpus(
        cases=[c for c in corpus.cases if re.fullmatch(r"hostile/[^/]+", c.name)],
        policies=corpus.policies,
        contents=corpus.contents,
    )
    assert len(hostile.cases) == len(manifest)
    with new_page(browser) as (page, _):
        page.goto(f"{page_server.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        outcomes, _ = _page_outcomes(page, hostile)
    for case, outcome in zip(hostile.cases, outcomes, strict=True):
        expected = manifest[case.name.removeprefix("hostile/")]["step"]
        assert outcome.verdict in ("invalid", "not_trusted"), (case.name, outcome)
        assert outcome.step == expected, (case.name, outcome)


def test_a_policy_window_that_is_no_time_is_refused_by_the_page(
    browser: Browser, page_server: LiveServer
) -> None:
    """Outside the corpus (whose policies are all well formed): an issuer key's ``not_before``
    matching the pattern but no time (month 13) is refused by both verifiers when the policy is
    read (the SDK loaded it and raised ``ValueError`` in ``IssuerKey.covers``)."""
    golden = Path(__file__).resolve().parents[1] / "assets/certificates/v2"
    policy = json.loads((golden / "policy.json").read_text())
    policy["issuers"][0]["not_before"] = "2026-13-01T00:00:00Z"
    certificate = (golden / "certificate.json").read_bytes()
    with pytest.raises(FormatError, match=re.escape("month must be in 1..12")):
        TrustPolicy.from_json(json.dumps(policy))
    with new_page(browser) as (page, errors):
        page.goto(f"{page_server.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        answer = page.evaluate(
            "async ([c, p]) => ipnotary.verify({certificate: c, policy: p})",
            [certificate.decode(), json.dumps(policy)],
        )
        assert not errors, errors
    assert answer["verdict"] == "error" and "month must be in 1..12" in answer["reason"], answer


def test_a_policy_listing_one_witness_key_twice_is_refused_by_both(
    browser: Browser, page_server: LiveServer
) -> None:
    """One witness key under two names (two key ids): an Ed25519 cosignature does not sign the
    name, so the same signature relabelled would count twice. Both verifiers refuse the policy."""
    from ipnotary.sdk.note import CosignatureVerifier

    golden = Path(__file__).resolve().parents[1] / "assets/certificates/v2"
    policy = json.loads((golden / "policy.json").read_text())
    first = CosignatureVerifier.from_vkey(policy["witnesses"]["members"][0]["key"])
    alias = CosignatureVerifier("alias.example/witness", first.public_key).vkey()
    policy["witnesses"]["members"].append({"name": "the same witness again", "key": alias})
    with pytest.raises(FormatError, match="the same public key"):
        TrustPolicy.from_json(json.dumps(policy))
    certificate = (golden / "certificate.json").read_text()
    with new_page(browser) as (page, errors):
        page.goto(f"{page_server.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        answer = page.evaluate(
            "async ([c, p]) => ipnotary.verify({certificate: c, policy: p})",
            [certificate, json.dumps(policy)],
        )
        assert not errors, errors
    assert answer["verdict"] == "error" and "the same public key" in answer["reason"], answer
