"""A node, Kubo or database URL with credentials never reaches a message, a log line or a response.

The service is configured with a JSON-RPC URL carrying a password and an API key in its path and a
Kubo URL with a password, both pointing at a closed port: everything that reports their failure
(``/readyz``, ``/v1/trust``, ``/v1/verify``, the anchoring worker's log, the exceptions) must name
them without the secrets.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ipnotary.chain._connection import ChainConnection, http_web3, node_name
from ipnotary.chain.errors import ChainError
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.errors import ChainReadError, TimestampError
from ipnotary.sdk.redaction import Redactor, install_log_redaction, redact_url, url_secrets
from ipnotary.sdk.timestamp import request_token
from ipnotary.service.api.app import create_app
from ipnotary.service.config import Settings
from ipnotary.service.errors import NotaryError
from ipnotary.service.services.principals import create_principal
from ipnotary.service.storage.content import KuboContentStore

RPC_PASSWORD = "Rpc-Pa55word-7731"
RPC_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
KUBO_PASSWORD = "Kubo-Pa55word-9924"
DB_PASSWORD = "Db-Pa55word-4410"
TSA_KEY = "tsa-key-1234567890abcdef"
SECRETS = (RPC_PASSWORD, RPC_KEY, KUBO_PASSWORD, DB_PASSWORD, TSA_KEY)

# Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
RPC_URL = f"https://alice:{RPC_PASSWORD}@127.0.0.1:9/v3/{RPC_KEY}"
KUBO_URL = f"http://ipfs:{KUBO_PASSWORD}@127.0.0.1:9"
DB_URL = f"postgresql+psycopg://notary:{DB_PASSWORD}@127.0.0.1:9/notary"
TSA_URL = f"http://127.0.0.1:9/stamp?apikey={TSA_KEY}"


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in: {text[:2000]}"


# -- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (RPC_URL, "https://***@127.0.0.1:9/v3/***"),
        (KUBO_URL, "http://***@127.0.0.1:9"),
        (DB_URL, "postgresql+psycopg://***@127.0.0.1:9/notary"),
        (TSA_URL, "http://127.0.0.1:9/stamp?apikey=***"),
        ("https://Zx81KeyAsUser0000000000@node.example", "https://***@node.example"),
        (
            "https://witness.example/sigsum/add-checkpoint",
            "https://witness.example/sigsum/add-checkpoint",
        ),
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("sqlite:////var/lib/notary/notary.db", "sqlite:////var/lib/notary/notary.db"),
        ("not a url", "***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_secrets_of_a_url() -> None:
    assert {RPC_PASSWORD, RPC_KEY} <= url_secrets(RPC_URL)
    assert "alice" not in url_secrets(RPC_URL)  # a user name is not a secret unless it is a key
    assert url_secrets("http://127.0.0.1:5001") == frozenset()


def test_a_redactor_cleans_third_party_messages_that_quote_pieces_of_the_url() -> None:
    redact = Redactor.for_urls([RPC_URL])
    message = (
        f"HTTPSConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
        f"/v3/{RPC_KEY} (Caused by ...); configured {RPC_URL}."
    )
    cleaned = redact(message)
    assert_clean(cleaned)
    assert "127.0.0.1" in cleaned and cleaned.endswith("/v3/***.")
    # Unknown URLs in text are cleaned by the rule alone.
    assert_clean(Redactor()(f"see {DB_URL}, then {TSA_URL}"))


def test_the_service_redactor_knows_every_configured_url(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        chain_backend="rpc",
        chain_rpc_url=RPC_URL,
        kubo_api_url=KUBO_URL,
        database_url=DB_URL,
        tsa_urls=[TSA_URL],
        chain_private_key="22" * 32,
    )
    redact = settings.redactor()
    text = (
        f"pw {RPC_PASSWORD} key {RPC_KEY} kubo {KUBO_PASSWORD} db {DB_PASSWORD} "
        f"tsa {TSA_KEY} {'22' * 32}"
    )
    assert_clean(redact(text))
    assert "22" * 32 not in redact(text)


def test_log_redaction_covers_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = install_log_redaction(Redactor.for_urls([RPC_URL]))
    logger = logging.getLogger("test.redaction")
    try:
        with caplog.at_level(logging.DEBUG, logger="test.redaction"):
            logger.info("connecting to %s", RPC_URL)
            try:
                raise ConnectionError(f"url: /v3/{RPC_KEY}")
            except ConnectionError:
                logger.exception("node down")
    finally:
        stop()
    assert "connecting to https://***@127.0.0.1:9/v3/***" in caplog.text
    assert "ConnectionError" in caplog.text
    assert_clean(caplog.text)
    logger.warning("after: %s", RPC_PASSWORD)  # stopped: no longer rewritten
    assert caplog.records[-1].getMessage().endswith(RPC_PASSWORD)


# -- the layers that format URLs ------------------------------------------------------------------


def test_chain_errors_name_the_node_by_its_origin() -> None:
    assert node_name(RPC_URL) == "https://127.0.0.1:9"
    assert node_name("embedded chain /data/chain") == "embedded chain /data/chain"
    with pytest.raises(ChainError) as caught:
        ChainConnection(http_web3(RPC_URL, 5), endpoint=RPC_URL)
    assert "cannot reach the chain node (https://127.0.0.1:9)" in str(caught.value)
    assert_clean(str(caught.value))


def test_sdk_chain_view_and_tsa_errors_are_clean() -> None:
    view = open_chain_view(rpc_url=RPC_URL, request_timeout=5)
    with pytest.raises(ChainReadError) as chain_error:
        view.chain_id()
    assert_clean(str(chain_error.value))
    with pytest.raises(TimestampError) as tsa_error:
        request_token(TSA_URL, b"\x00" * 32, timeout=5)
    assert "http://127.0.0.1:9/stamp?apikey=***" in str(tsa_error.value)
    assert_clean(str(tsa_error.value))


def test_kubo_errors_are_clean() -> None:
    store = KuboContentStore(KUBO_URL, timeout=5)
    try:
        assert_clean(repr(store))
        with pytest.raises(NotaryError) as caught:
            store.check()
        assert "127.0.0.1:9" in str(caught.value)
        assert_clean(str(caught.value))
    finally:
        store.close()


# -- the service -----------------------------------------------------------------------------------


def test_no_response_log_line_or_exception_of_the_service_carries_a_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        chain_backend="rpc",
        chain_rpc_url=RPC_URL,
        chain_private_key="33" * 32,
        chain_trusted_for_time=True,
        chain_timeout_seconds=5,
        content_backend="kubo",
        kubo_api_url=KUBO_URL,
        batch_interval_seconds=0.2,
    )
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        with Session(runtime.engine) as session:
            admin = create_principal(session, name="ops", role="admin").api_key
            holder = create_principal(session, name="holder", role="holder").api_key
        sub = client.post(
            "/v1/evidence",
            json={"sha256": "7a" * 32, "size": 3},
            headers={"Authorization": f"Bearer {holder}"},
        )
        assert sub.status_code == 201, sub.text  # records are accepted while the chain is down

        trust = client.get("/v1/trust")
        assert trust.status_code == 503 and trust.json()["code"] == "chain_unavailable", trust.text
        assert "https://127.0.0.1:9" in trust.json()["detail"]
        verify = client.post("/v1/verify", json={"certificate": {"media_type": "x"}})
        assert verify.status_code == 503, verify.text

        anonymous = client.get("/readyz")
        assert anonymous.status_code == 503
        assert {"chain", "content_store"} <= set(anonymous.json()["down"])
        assert anonymous.json()["checks"]["chain"] == {"ok": False}
        assert "error" not in anonymous.json()["checks"]["content_store"]
        as_admin = client.get("/readyz", headers={"Authorization": f"Bearer {admin}"})
        assert as_admin.status_code == 503
        assert "127.0.0.1:9" in as_admin.json()["checks"]["chain"]["error"]
        assert "127.0.0.1:9" in as_admin.json()["checks"]["content_store"]["error"]
        bodies += [sub.text, trust.text, verify.text, anonymous.text, as_admin.text]

        deadline = time.monotonic() + 30
        while runtime.worker.state.consecutive_failures == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runtime.worker.state.consecutive_failures > 0, "the worker never tried the chain"
        bodies.append(client.get("/readyz", headers={"Authorization": f"Bearer {admin}"}).text)

        for check in (runtime.chain.check, runtime.content_store.check):
            with pytest.raises(NotaryError) as caught:
                check()
            bodies.append(str(caught.value))

    for text in bodies:
        assert_clean(text)
    logged = [caplog.text] + [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("127.0.0.1" in line for line in logged), "nothing about the node was logged"
    for line in logged:
        assert_clean(line)
