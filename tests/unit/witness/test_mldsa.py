"""A witness that cosigns with ML-DSA-44 (``notary witness init --algorithm ml-dsa-44``): its key
survives a restart, its cosignatures follow the C2SP tlog-cosignature text (type 0x06, the name
signed) and a verifier whose policy lists its vkey counts it. torchwood v0.6.1's litewitness and
spicy know only Ed25519 cosignatures, so they cannot check these."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from ipnotary.sdk.note import (
    SIGNATURE_TYPE_COSIGNATURE_MLDSA44,
    MlDsaCosignatureVerifier,
    cosignature_verifier_from_vkey,
    parse_signature_lines,
)
from ipnotary.witness.cli import witness_app
from ipnotary.witness.keys import KEY_FILE
from ipnotary.witness.protocol import init_witness, open_witness
from tests.unit.witness.conftest import NOW, FakeLog


def test_an_mldsa_witness_cosigns_a_growing_log(tmp_path: Path) -> None:
    directory = tmp_path / "pq"
    vkey = init_witness(directory, "pq.example/witness", algorithm="ml-dsa-44").vkey
    verifier = cosignature_verifier_from_vkey(vkey)
    assert isinstance(verifier, MlDsaCosignatureVerifier)
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    log = FakeLog()
    witness = open_witness(directory, clock=lambda: NOW)  # the key read back from its file
    assert witness.vkey == vkey
    witness.add_log(log.origin, log.signer.vkey())
    for old, new in ((0, 3), (3, 8)):
        (line,) = parse_signature_lines(witness.add_checkpoint(log.body(old, new)))
        assert verifier.verify(log.checkpoint(new).text(), line) == NOW
        assert len(line.signature) == 8 + 2420


def test_init_with_the_mldsa_algorithm_prints_a_type_6_vkey(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        witness_app,
        [
            "init",
            "--dir",
            str(tmp_path / "w"),
            "--name",
            "pq.example/w",
            "--algorithm",
            "ml-dsa-44",
        ],
    )
    assert result.exit_code == 0, result.output
    vkey = result.stdout.strip()
    verifier = cosignature_verifier_from_vkey(vkey)
    assert verifier.signature_type == SIGNATURE_TYPE_COSIGNATURE_MLDSA44
    refused = CliRunner().invoke(
        witness_app,
        ["init", "--dir", str(tmp_path / "x"), "--name", "a.example/w", "--algorithm", "rsa"],
    )
    assert refused.exit_code == 1 and "not one of ed25519, ml-dsa-44" in refused.output
