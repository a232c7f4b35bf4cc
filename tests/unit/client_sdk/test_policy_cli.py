"""``notary policy init / show / import / export``: a policy built from keys the verifier
obtained itself, shown in the forms their owners publish them, and read from and written to the
C2SP tlog-policy text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey
from typer.testing import CliRunner, Result

from ipnotary.sdk.cli import app
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.note import CosignatureSigner, MlDsaCosignatureSigner, NoteSigner
from ipnotary.sdk.policy import TrustPolicy, format_tlog_policy, parse_tlog_policy
from ipnotary.sdk.signing import public_key_to_b64
from ipnotary.sdk.verify import verify_certificate

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
GOLDEN = json.loads((V2 / "policy.json").read_text())


def notary(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], terminal_width=400)


def _golden_init(tmp_path: Path, *extra: object) -> Result:
    tsa = tmp_path / "tsa-root.pem"
    tsa.write_text(GOLDEN["timestamp_authorities"][0]["certificates"][0])
    witnesses = [f"--witness={w['name']}={w['key']}" for w in GOLDEN["witnesses"]["members"]]
    return notary(
        "policy",
        "init",
        "-o",
        tmp_path / "policy.json",
        "--log-key",
        GOLDEN["log"]["keys"][0],
        *witnesses,
        "--quorum",
        2,
        "--issuer",
        GOLDEN["issuers"][0]["public_key"],
        "--tsa-root",
        f"time-stamp authority={tsa}",
        *extra,
    )


def test_init_builds_the_policy_the_golden_certificate_verifies_under(tmp_path: Path) -> None:
    made = _golden_init(tmp_path)
    assert made.exit_code == 0, made.output
    policy = TrustPolicy.load(tmp_path / "policy.json")
    result = verify_certificate((V2 / "certificate.json").read_bytes(), policy)
    assert result.trusted and result.time_source.value == "witnesses"
    # Every key in the form its owner publishes it: vkeys for the log and the witnesses, the
    # issuer's public key as GET /v1/trust prints it.
    shown = notary("policy", "show", tmp_path / "policy.json", "--json")
    rows = json.loads(shown.stdout)
    keys = {(r["trusts"], r["key"]) for r in rows}
    assert ("log", GOLDEN["log"]["keys"][0]) in keys
    assert ("issuer", GOLDEN["issuers"][0]["public_key"]) in keys
    for w in GOLDEN["witnesses"]["members"]:
        assert ("witness", w["key"]) in keys
    assert any(r["trusts"] == "time rule" and r["what"] == "earliest" for r in rows)


def test_init_with_a_time_rule_and_an_issuer_window(tmp_path: Path) -> None:
    made = _golden_init(
        tmp_path,
        "--time-rule",
        "witnesses_and_tsa",
        "--issuer",
        public_key_to_b64(Ed25519PrivateKey.generate().public_key()) + ",from=2027-01-01T00:00:00Z",
    )
    assert made.exit_code == 0, made.output
    policy = TrustPolicy.load(tmp_path / "policy.json")
    assert policy.time_rule.value == "witnesses_and_tsa"
    assert policy.issuers[1].not_before == "2027-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--quorum", 3), "a quorum of 3 needs at least that many"),
        (("--time-rule", "tsa_quorum", "--tsa-quorum", 2), "needs time-stamps from 2"),
        (("--issuer", "AAAA,from=2026-02-30T00:00:00Z"), "trust policy is malformed"),
    ],
)
def test_init_refuses_a_policy_that_cannot_be(
    tmp_path: Path, extra: tuple[object, ...], message: str
) -> None:
    made = _golden_init(tmp_path, *extra)
    assert made.exit_code == 2 and message in made.output, made.output
    assert not (tmp_path / "policy.json").exists()


def test_a_policy_round_trips_through_the_tlog_policy_text(tmp_path: Path) -> None:
    assert _golden_init(tmp_path).exit_code == 0
    exported = notary("policy", "export", tmp_path / "policy.json")
    assert exported.exit_code == 0, exported.output
    text = exported.stdout
    assert f"log {GOLDEN['log']['keys'][0]}\n" in text
    assert (
        "group witness-quorum 2 Beijing-notarial-office IP-court\nquorum witness-quorum\n" in text
    )
    (tmp_path / "policy.txt").write_text(text)
    imported = notary(
        "policy",
        "import",
        tmp_path / "policy.txt",
        "-o",
        tmp_path / "again.json",
        "--issuer",
        GOLDEN["issuers"][0]["public_key"],
    )
    assert imported.exit_code == 0, imported.output
    again = TrustPolicy.load(tmp_path / "again.json")
    assert [w.key for w in again.witnesses.members] == [
        w["key"] for w in GOLDEN["witnesses"]["members"]
    ]
    assert again.witnesses.quorum == 2 and again.log is not None
    assert again.log.keys == GOLDEN["log"]["keys"]


def _vkeys() -> tuple[str, str, str, str]:
    log = NoteSigner("log.example/log", Ed25519PrivateKey.generate()).vkey()
    w1 = CosignatureSigner("w1.example/w", Ed25519PrivateKey.generate()).vkey()
    w2 = CosignatureSigner("w2.example/w", Ed25519PrivateKey.generate()).vkey()
    pq = MlDsaCosignatureSigner("pq.example/w", MLDSA44PrivateKey.generate()).vkey()
    return log, w1, w2, pq


def test_tlog_policy_text_by_its_spec() -> None:
    log, w1, w2, pq = _vkeys()
    text = (
        f"# a comment\n\n  log {log} https://log.example/\n"
        f"witness W1 {w1}\nwitness\tW2 {w2}\twitness.example\nwitness PQ {pq}\n"
        "group G 2 W1 W2 PQ\nquorum G\n"
    )
    parsed = parse_tlog_policy(text.encode())
    assert parsed.log_keys == (log,)
    assert [w.name for w in parsed.witnesses] == ["W1", "W2", "PQ"] and parsed.quorum == 2
    assert parse_tlog_policy(f"log {log}\nquorum none\n".encode()).quorum == 0
    single = parse_tlog_policy(f"log {log}\nwitness A {w1}\nwitness B {w2}\nquorum A\n".encode())
    assert (single.quorum, [w.name for w in single.witnesses], single.ignored) == (1, ["A"], ("B",))
    anyone = parse_tlog_policy(
        f"witness A {w1}\nwitness B {w2}\ngroup g any A B\nquorum g\n".encode()
    )
    assert anyone.quorum == 1
    everyone = parse_tlog_policy(
        f"witness A {w1}\nwitness B {w2}\ngroup g all A B\nquorum g\n".encode()
    )
    assert everyone.quorum == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("log {log}\n", "needs a quorum line"),
        ("quorum none\nquorum none\n", "exactly one quorum"),
        ("quorum X\n", "not defined above"),
        ("witness A {w1}\ngroup g 1 B\nquorum g\n", "not defined above"),
        ("witness A {w1}\ngroup g 2 A\nquorum g\n", "threshold is 1 to 1"),
        ("witness A {w1}\ngroup g 01 A\nquorum g\n", "leading zero"),
        ("witness A {w1}\ngroup g 1 A A\nquorum g\n", "at most once"),
        ("witness none {w1}\nquorum none\n", "reserved"),
        ("witness A {w1}\nwitness A {w2}\nquorum A\n", "defined already"),
        ("witness A {w1}\ngroup g any A\ngroup h any g\nquorum h\n", "nested groups"),
        ("witness A {w1}\nwitness B {w1}\ngroup g 2 A B\nquorum g\n", "same public key"),
        ("witness A {log}\nquorum A\n", "not a cosignature vkey"),
        ("quorum none\r\n", "byte 0x0d"),
        ("frobnicate\nquorum none\n", "not a log, witness, group or quorum line"),
    ],
)
def test_tlog_policy_text_the_spec_forbids_is_refused(text: str, message: str) -> None:
    log, w1, w2, _ = _vkeys()
    with pytest.raises(FormatError, match=message):
        parse_tlog_policy(text.format(log=log, w1=w1, w2=w2).encode())


def test_export_of_a_policy_without_a_quorum_says_none() -> None:
    policy = TrustPolicy.from_json(json.dumps({**GOLDEN, "witnesses": {"quorum": 0}}))
    assert format_tlog_policy(policy).endswith("quorum none\n")
