"""The policy's time rule: which trusted sources decide the proven time (``earliest``, the
default; ``tsa_quorum``; ``witnesses_and_tsa``), how a policy states it, and how the result and
the report say which rule gave the time. The rules' verdicts are compared with the verification
page's, case by case, in ``tests/browser`` (``synthetic/rules/...``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipnotary.sdk.cli import app
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.policy import TimeRule, TrustPolicy
from ipnotary.sdk.verify import verify_certificate

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"


def _policy(**changes: object) -> dict[str, object]:
    return {**json.loads((V2 / "policy.json").read_text()), **changes}


def test_a_policy_without_a_rule_is_the_document_it_was() -> None:
    policy = TrustPolicy.from_json((V2 / "policy.json").read_bytes())
    assert policy.time_rule is TimeRule.EARLIEST
    assert b"time_rule" not in policy.to_json_bytes()
    ruled = TrustPolicy.from_json(json.dumps(_policy(time_rule="tsa_quorum")))
    assert json.loads(ruled.to_json_bytes())["time_rule"] == "tsa_quorum"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_rule": "tsa_quorum", "tsa_quorum": 2}, "needs time-stamps from 2 TSA"),
        ({"time_rule": "tsa_quorum", "timestamp_authorities": []}, "needs time-stamps from 1"),
        (
            {"time_rule": "witnesses_and_tsa", "witnesses": {"quorum": 0, "members": []}},
            "needs a witness quorum",
        ),
        ({"time_rule": "latest"}, "time_rule"),
    ],
)
def test_a_rule_the_policy_cannot_meet_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        TrustPolicy.from_json(json.dumps(_policy(**changes)))


def test_one_tsa_root_listed_under_two_names_is_refused() -> None:
    """A TSA counts once towards ``tsa_quorum``; one root under two names would be two."""
    tsa = _policy()["timestamp_authorities"][0]  # type: ignore[index]
    twice = [tsa, {**tsa, "name": "the same TSA again"}]
    with pytest.raises(FormatError, match="listed twice"):
        TrustPolicy.from_json(json.dumps(_policy(timestamp_authorities=twice)))


@pytest.mark.parametrize("rule", ["earliest", "tsa_quorum", "witnesses_and_tsa"])
def test_the_result_names_the_rule_that_gave_the_time(rule: str) -> None:
    policy = TrustPolicy.from_json(json.dumps(_policy(time_rule=rule)))
    result = verify_certificate((V2 / "certificate.json").read_bytes(), policy)
    assert result.time_rule.value == rule
    # The golden certificate: witnesses at 10:55:22Z, the TSA's genTime at 10:55:22.36Z.
    expected = {
        "earliest": ("witnesses", "2026-11-27T10:55:22+00:00"),
        "tsa_quorum": ("timestamp_authority", "2026-11-27T10:55:22.360000+00:00"),
        "witnesses_and_tsa": ("timestamp_authority", "2026-11-27T10:55:22.360000+00:00"),
    }[rule]
    assert (result.time_source.value, result.proven_time.isoformat()) == expected


def test_the_report_says_the_rule_and_that_the_operators_block_time_is_not_proven(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(_policy(time_rule="tsa_quorum")))
    args = [str(V2 / "certificate.json"), "--policy", str(policy)]
    shown = CliRunner().invoke(app, ["verify", *args], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "tsa_quorum" in shown.output
    assert "the operator's statement, not proven" in shown.output
    as_json = CliRunner().invoke(app, ["verify", *args, "--json"])
    report = json.loads(as_json.stdout)
    assert report["time_rule"] == "tsa_quorum"
    assert report["anchored_at_proven"] is False
