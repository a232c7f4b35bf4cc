"""One corpus for two verifiers: certificates that the Python verifier and the verification page
must judge alike, case by case (``test_verify_page_agreement.py`` runs both).

Start at :func:`build_corpus`. It holds, each case named for what it tries:

- ``golden/...``: the golden certificates (``tests/assets/certificates/``), with and without their
  file and their policy, and with another file;
- ``hostile/...``: every hostile asset, under the golden policy and without one;
- ``bytes/...``, ``field/...``, ``respelled/...``, ``hostile+bytes/...``: seeded mutations of the
  golden and hostile certificates, as ``tests/fuzz/test_verifier_fuzz.py`` makes them (bytes
  flipped, replaced, inserted, deleted, duplicated; a field tweaked, replaced by any JSON value,
  removed, or a field added; base64 respelled in its unused bits);
- ``resigned/...``: the golden certificate re-signed by the corpus's own issuer key (which the
  corpus's policies trust) after a change only an issuer can make, so that the later steps
  (issuer windows, tokens, anchor fields, time) are reached; ``token-bytes/...`` carries the
  golden time-stamp token mutated;
- ``synthetic/...``: certificates of a log the corpus runs itself (its own log, witness, issuer
  keys and an OpenSSL TSA): every knob of the checkpoint, cosignatures, quorum, tokens, anchor,
  times, record and policy, one by one and in seeded random combinations.

Everything is deterministic (the seed, and Ed25519 keys derived from names) except what the TSA
signs with ECDSA: its tokens are new bytes each session, with the same meaning.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.sdk.merkle import MerkleTree
from ipnotary.sdk.note import CosignatureSigner, MlDsaCosignatureSigner, NoteSigner
from ipnotary.sdk.signing import key_id, public_key_to_b64, sign_document

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "certificates"
V1, V2 = ASSETS / "v1", ASSETS / "v2"
SEED = 20261127
NOW = "2026-12-01T00:00:00.000000Z"

__all__ = ["NOW", "Case", "Corpus", "Tsa", "build_corpus", "openssl_tsa"]


@dataclass(frozen=True)
class Case:
    """One certificate to verify: under ``policy`` (a key of ``Corpus.policies``, or none), with
    the file ``content`` (a key of ``Corpus.contents``, or none), at the clock ``now``."""

    name: str
    certificate: bytes
    policy: str | None = None
    content: str | None = None
    now: str = NOW


@dataclass
class Corpus:
    cases: list[Case] = field(default_factory=list)
    policies: dict[str, bytes] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)

    def add(self, case: Case) -> None:
        self.cases.append(case)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8", "surrogatepass")


def _seeded_key(name: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"corpus {name}".encode()).digest())


# -- mutations, as the fuzzer makes them ----------------------------------------------------------

_ALPHABET = (
    "abcAZ09_-+/=. \t\n\\\"'{}[]:,"  # the characters of our formats
    "\u00e9\u00a0\u0085\ufeff\u2028\u200b\u202e"  # look-alike spaces, invisible and bidi marks
    "\u0663\uff15\u0967"  # digits of other scripts (\d in pydantic's patterns matches them)
    "\u4e2d\u6587\U0001f600\U00010400"  # CJK, and characters beyond the BMP
    "\x00\x1f\x7f"
)


def _char(rng: random.Random) -> str:
    return rng.choice(_ALPHABET)


def _text(rng: random.Random, size: int) -> str:
    return "".join(_char(rng) for _ in range(rng.randint(0, size)))


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice(
            [
                0,
                1,
                -1,
                2**31,
                2**53 - 1,
                2**53,
                -(2**53),
                2**63,
                2**64,
                rng.randint(-(10**6), 10**6),
            ]
        )
    if kind == 3:
        return rng.choice([0.5, 1.0, -0.0, 1e21, 1e-7, 1.7976931348623157e308, 5e-324, 123.456])
    if kind in (4, 5):
        return _text(rng, 12)
    if kind in (6, 7):
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng, 6): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def byte_mutation(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        at = rng.randrange(len(out))
        kind = rng.choice(["flip", "replace", "insert", "delete", "duplicate"])
        if kind == "flip":
            out[at] ^= 1 << rng.randrange(8)
        elif kind == "replace":
            out[at] = rng.choice(b'{}[]",:0123456789.-+eE\\u aA=/_\x00\xff')
        elif kind == "insert":
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == "delete":
            del out[at : at + rng.randint(1, 16)]
        else:
            out[at:at] = out[at : at + rng.randint(1, 64)]
    return bytes(out)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


def _tweak_string(rng: random.Random, text: str) -> str:
    if not text:
        return _text(rng, 4) or "x"
    at = rng.randrange(len(text))
    kind = rng.choice(["char", "alphabet", "last", "cut", "extend", "case", "digit"])
    if kind == "last":
        return text[:-1] + rng.choice(sorted(set(text) | set("AQgw_-+/")))
    if kind == "char":
        return text[:at] + _char(rng) + text[at + 1 :]
    if kind == "alphabet":
        return text[:at] + rng.choice(sorted(set(text) | set("0aA_-+/="))) + text[at + 1 :]
    if kind == "cut":
        return text[:at]
    if kind == "extend":
        return text[:at] + (_text(rng, 4) or "x") + text[at:]
    if kind == "digit":  # a digit for another one: times and sizes that still match patterns
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if digits:
            i = rng.choice(digits)
            return text[:i] + rng.choice("0123456789\u0663\uff15") + text[i + 1 :]
    return text.swapcase()


def field_mutation(rng: random.Random, document: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    path = rng.choice(list(_paths(doc))[1:])
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    key, value = path[-1], parent[path[-1]]
    kind = rng.choice(["tweak", "tweak", "replace", "remove", "add"])
    if kind == "tweak" and isinstance(value, str):
        parent[key] = _tweak_string(rng, value)
    elif kind == "tweak" and isinstance(value, int) and not isinstance(value, bool):
        parent[key] = value + rng.choice([-1, 1, 2**32, -(2**53), 0.5, 0.0])
    elif kind == "tweak" and isinstance(value, list) and value:
        i = rng.randrange(len(value))
        if rng.random() < 0.5:
            value.insert(i, value[i])
        else:
            value.pop(i)
    elif kind == "remove":
        del parent[key]
    elif kind == "add" and isinstance(value, dict):
        value[_text(rng, 8)] = _json_value(rng)
    else:
        parent[key] = _json_value(rng)
    return doc


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/"


def respellings(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every base64-looking string with its last character replaced by every other one."""
    for path in _paths(document):
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]] if path else None
        if not isinstance(value, str) or not value or not set(value) <= set(_B64 + "="):
            continue
        text = value.rstrip("=")
        for char in _B64:
            if char != text[-1]:
                doc = copy.deepcopy(document)
                target = doc
                for part in path[:-1]:
                    target = target[part]
                target[path[-1]] = text[:-1] + char + value[len(text) :]
                yield f"{'.'.join(map(str, path))}:{char}", doc


# -- keys the corpus holds, and the certificates it makes with them -------------------------------


@dataclass(frozen=True)
class Tsa:
    """A time-stamp authority for the corpus: ``stamp(digest)`` gives a token, ``roots`` its
    trusted root(s) as PEM; ``variants`` name more tokens over a digest (attacks and other TSAs)."""

    stamp: Callable[[bytes], bytes]
    roots: list[str]
    variants: dict[str, Callable[[bytes], bytes]] = field(default_factory=dict)
    other_roots: dict[str, list[str]] = field(default_factory=dict)


class Keys:
    """The corpus's own issuer, log and witnesses (Ed25519 keys derived from their names)."""

    def __init__(self) -> None:
        self.issuer = _seeded_key("issuer")
        self.other_issuer = _seeded_key("other issuer")
        self.origin = "synthetic.example/log"
        self.log = NoteSigner(self.origin, _seeded_key("log"))
        self.other_log = NoteSigner(self.origin, _seeded_key("another log key"))
        self.witnesses: dict[str, CosignatureSigner | MlDsaCosignatureSigner] = {
            name: CosignatureSigner(f"{name}.example/witness", _seeded_key(f"witness {name}"))
            for name in ("alpha", "beta", "gamma", "delta")
        }
        # ML-DSA-44 witnesses (tlog-cosignature type 0x06); their signatures are hedged, so new
        # bytes each session, with the same meaning.
        for name in ("epsilon", "zeta"):
            seed = hashlib.sha256(f"corpus pq witness {name}".encode()).digest()
            self.witnesses[name] = MlDsaCosignatureSigner(
                f"{name}.example/pq-witness", MLDSA44PrivateKey.from_seed_bytes(seed)
            )

    def issuer_entry(
        self, key: Ed25519PrivateKey | None = None, /, **window: str
    ) -> dict[str, Any]:
        public = (key or self.issuer).public_key()
        return {"public_key": public_key_to_b64(public), "name": "corpus issuer", **window}


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``document`` with ``issuer`` set to ``key`` and signed by it (any ``signature`` replaced)."""
    doc = {k: v for k, v in document.items() if k != "signature"}
    doc["issuer"] = {
        **doc.get("issuer", {}),
        "key_id": key_id(key.public_key()),
        "public_key": public_key_to_b64(key.public_key()),
    }
    try:
        value = sign_document(key, doc)
    except FormatError:  # a record JCS cannot write: such a certificate fails before its signature
        value = base64.urlsafe_b64encode(bytes(64)).rstrip(b"=").decode()
    doc["signature"] = {"alg": "Ed25519", "value": value}
    return doc


CONTENT = b"the corpus's evidence: \xe4\xb8\xad\xe6\x96\x87\n"


def at(epoch: int, offset: int | float) -> str:
    """The time ``offset`` seconds after ``epoch``, as our documents write times."""
    return format_timestamp(datetime.fromtimestamp(epoch + offset, UTC))


def evidence_record(epoch: int, **changes: Any) -> dict[str, Any]:
    fp = fingerprint_bytes(CONTENT)
    record: dict[str, Any] = {
        "content": {
            "cid": fp.cid,
            "cid_v1": fp.cid_v1,
            "sha256": fp.sha256,
            "size": fp.size,
            "sm3": fp.sm3,
        },
        "holder": {"id": "prn_" + "ab" * 16, "name": "Acme 工作室"},
        "id": "ev_" + "0c" * 16,
        "kind": "evidence",
        "metadata": {"title": "合同扫描件 contract scan", "tags": ["a", "b"]},
        "received_at": at(epoch, -5),
        "schema": 1,
    }
    record.update(changes)
    return record


@dataclass(frozen=True)
class Synth:
    """A certificate of the corpus's own log: each field a knob (see :func:`synthetic`).

    Times are seconds after the corpus's epoch (a moment just before its TSA stamps), or a
    literal text where the text itself is the point."""

    version: int = 2
    record: dict[str, Any] | None = None  # default: evidence_record(epoch)
    leaf: bytes | None = None  # the leaf hash, where the record cannot be hashed
    tree_size: int = 5
    leaf_index: int = 2
    origin: str | None = None  # the checkpoint's origin (default: the log's)
    cert_origin: str | None = None  # log.origin in the certificate (default: the checkpoint's)
    cert_tree_size: int | None = None
    extensions: tuple[str, ...] = ()
    log_signed: bool = True
    other_log_key: bool = False  # signed by a key of the log's name that no policy lists
    both_log_keys: bool = False  # signed by that key and by the right one
    cosign: tuple[tuple[str, int | None], ...] = (("alpha", 0), ("beta", 10), ("gamma", 20))
    forged: tuple[str, ...] = ()  # witnesses whose cosignature bytes are made up
    stranger: bool = False  # a cosignature by a key no policy lists
    note: str | None = None  # the whole note, instead of the one made from the knobs
    path: tuple[str, ...] | None = None  # the inclusion proof (hex), instead of the true one
    tokens: tuple[str, ...] = ("good",)  # "good", a Tsa variant's name, or base64 text as it is
    issued_at: int | str = 30
    block_timestamp: int = 25
    block_time: str | None = None
    anchor: tuple[tuple[str, Any], ...] = ()
    notice: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()  # top-level fields added
    issuer: str = "issuer"  # or "other_issuer"


def synthetic(s: Synth, keys: Keys, tsa: Tsa | None, epoch: int) -> bytes:
    """The certificate the knobs describe, signed by the corpus issuer."""
    from ipnotary.sdk.certificate import record_leaf_hash

    record = s.record if s.record is not None else evidence_record(epoch)
    leaf = s.leaf if s.leaf is not None else record_leaf_hash(record)
    size = s.tree_size
    leaves = [hashlib.sha256(f"leaf {i}".encode()).digest() for i in range(min(size, 4096))]
    index = s.leaf_index
    inside = 0 <= index < len(leaves)
    if inside:
        leaves[index] = leaf
    tree = MerkleTree.from_leaf_hashes(leaves)
    root = tree.root
    if s.path is not None:
        path = list(s.path)
    else:
        path = [h.hex() for h in tree.audit_path(index)] if inside else []
    origin = s.origin or keys.origin
    text = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    text += "".join(e + "\n" for e in s.extensions)
    lines = []
    if s.other_log_key or s.both_log_keys:
        lines.append(keys.other_log.sign(text).line())
    if s.log_signed and not s.other_log_key:
        lines.append(keys.log.sign(text).line())
    for name, offset in s.cosign:
        if offset is None:
            continue
        sig = keys.witnesses[name].cosign(text, epoch + offset)
        if name in s.forged:
            sig = replace(sig, signature=sig.signature[:8] + bytes(len(sig.signature) - 8))
        lines.append(sig.line())
    if s.stranger:
        stranger = CosignatureSigner("stranger.example/witness", _seeded_key("stranger"))
        lines.append(stranger.cosign(text, epoch).line())
    note = s.note if s.note is not None else text + "\n" + "".join(lines)
    digest = hashlib.sha256(text.encode()).digest()
    tokens = []
    for t in s.tokens:
        if tsa is not None and t == "good":
            tokens.append({"token": base64.b64encode(tsa.stamp(digest)).decode()})
        elif tsa is not None and t in tsa.variants:
            tokens.append({"token": base64.b64encode(tsa.variants[t](digest)).decode()})
        elif t != "good" and (tsa is None or t not in tsa.variants):
            tokens.append({"token": t})
    block_timestamp = epoch + s.block_timestamp
    anchor: dict[str, Any] = {
        "batch_id": 3,
        "block_hash": "0x" + "5b" * 32,
        "block_number": 7,
        "block_time": s.block_time or at(epoch, s.block_timestamp),
        "block_timestamp": block_timestamp,
        "chain_id": 1337,
        "contract": "0x" + "Ab" * 20,
        "tx_hash": "0x" + "7a" * 32,
    }
    anchor.update(dict(s.anchor))
    doc: dict[str, Any] = {
        "anchor": anchor,
        "issued_at": s.issued_at if isinstance(s.issued_at, str) else at(epoch, s.issued_at),
        "issuer": {"name": "corpus issuer"},
        "leaf_hash": leaf.hex(),
        "record": record,
    }
    if s.version == 2:
        doc["media_type"] = "application/vnd.ipnotary.certificate+json;version=2"
        doc["log"] = {
            "checkpoint": note,
            "inclusion_proof": path,
            "leaf_index": index,
            "origin": s.cert_origin or origin,
            "tree_size": s.cert_tree_size if s.cert_tree_size is not None else size,
        }
        doc["timestamps"] = tokens
        if s.notice is not None:
            doc["notice"] = s.notice
    else:
        doc["media_type"] = "application/vnd.ipnotary.certificate+json;version=1"
        doc["proof"] = {
            "audit_path": path,
            "hash_alg": "sha256",
            "leaf_index": index,
            "root": root.hex(),
            "tree_size": s.cert_tree_size if s.cert_tree_size is not None else size,
        }
    doc.update(dict(s.extra))
    key = keys.issuer if s.issuer == "issuer" else keys.other_issuer
    return _dumps(sign(doc, key))


def synthetic_policy(keys: Keys, tsa: Tsa | None, **knobs: Any) -> bytes:
    """A policy trusting the corpus's log, witnesses (quorum 2 of alpha, beta, gamma), issuer and
    TSA; ``knobs`` replace any of its fields (``quorum`` and ``members`` the witnesses')."""
    members = knobs.pop("members", ("alpha", "beta", "gamma"))
    policy: dict[str, Any] = {
        "media_type": "application/vnd.ipnotary.trust-policy+json;version=1",
        "name": "corpus policy",
        "log": {"origin": keys.origin, "keys": [keys.log.vkey()]},
        "issuers": [keys.issuer_entry()],
        "witnesses": {
            "quorum": knobs.pop("quorum", 2),
            "members": [{"name": n, "key": keys.witnesses[n].vkey()} for n in members],
        },
        "timestamp_authorities": (
            [{"name": "corpus TSA", "certificates": tsa.roots}] if tsa is not None else []
        ),
        "require_independent_time": True,
        "max_clock_skew_seconds": 300,
    }
    policy.update(knobs)
    return _dumps(policy)


# -- the parts of the corpus ----------------------------------------------------------------------


def _golden(corpus: Corpus) -> None:
    v1_trust = json.loads((V1 / "trust.json").read_text())
    corpus.policies["golden-v2"] = (V2 / "policy.json").read_bytes()
    corpus.policies["golden-v1"] = _dumps(
        {
            "issuers": [{"public_key": v1_trust["issuer"]["public_key"]}],
            "require_independent_time": False,
        }
    )
    corpus.policies["golden-v1-independent"] = _dumps(
        {"issuers": [{"public_key": v1_trust["issuer"]["public_key"]}]}
    )
    corpus.contents["hello"] = (V2 / "hello.txt").read_bytes()
    corpus.contents["golden-v1"] = (V1 / "golden.txt").read_bytes()
    corpus.contents["other"] = b"hello world!"
    for version, content in (("v2", "hello"), ("v1", "golden-v1")):
        cert = (ASSETS / version / "certificate.json").read_bytes()
        policy = f"golden-{version}"
        for c, p in (
            (content, policy),
            (None, policy),
            (content, None),
            (None, None),
            ("other", policy),
        ):
            corpus.add(Case(f"golden/{version}/file={c}/policy={p}", cert, p, c))
    corpus.add(
        Case(
            "golden/v1/independent-time-required",
            (V1 / "certificate.json").read_bytes(),
            "golden-v1-independent",
        )
    )
    for when in (
        "2026-11-27T10:55:21.000000Z",
        "2026-11-27T10:49:00.000000Z",
        "2026-11-27T10:50:30.000000Z",
    ):
        corpus.add(
            Case(
                f"golden/v2/now={when}",
                (V2 / "certificate.json").read_bytes(),
                "golden-v2",
                now=when,
            )
        )


def _hostile(corpus: Corpus) -> list[bytes]:
    documents = []
    for path in sorted((V2 / "hostile").glob("*.json")):
        if path.name == "manifest.json":
            continue
        data = path.read_bytes()
        documents.append(data)
        corpus.add(Case(f"hostile/{path.stem}", data, "golden-v2", "hello"))
        corpus.add(Case(f"hostile/{path.stem}/no-policy", data, None))
    return documents


def _mutations(corpus: Corpus, rng: random.Random, hostile: list[bytes], scale: int) -> None:
    seeds = {
        "v2": ((V2 / "certificate.json").read_bytes(), "golden-v2", "hello"),
        "v1": ((V1 / "certificate.json").read_bytes(), "golden-v1", "golden-v1"),
    }
    for name, (data, policy, content) in seeds.items():
        golden = json.loads(data)
        for i in range(scale * (3 if name == "v2" else 2)):
            mutated = byte_mutation(rng, data)
            corpus.add(Case(f"bytes/{name}/{i}", mutated, policy, content if i % 2 else None))
            if i % 5 == 0:
                corpus.add(Case(f"bytes/{name}/{i}/no-policy", mutated, None))
        for i in range(scale * (3 if name == "v2" else 2)):
            doc = field_mutation(rng, golden)
            text = _dumps(doc) if i % 3 else json.dumps(doc, ensure_ascii=True).encode()
            corpus.add(Case(f"field/{name}/{i}", text, policy, content if i % 2 else None))
            if i % 5 == 0:
                corpus.add(Case(f"field/{name}/{i}/no-policy", text, None))
        spellings = list(respellings(golden))
        for label, doc in rng.sample(spellings, min(len(spellings), scale)):
            corpus.add(Case(f"respelled/{name}/{label}", _dumps(doc), policy))
    for i in range(scale):
        corpus.add(Case(f"hostile+bytes/{i}", byte_mutation(rng, rng.choice(hostile)), "golden-v2"))


def _resigned(corpus: Corpus, rng: random.Random, keys: Keys, scale: int) -> None:
    golden = json.loads((V2 / "certificate.json").read_bytes())
    policy = json.loads((V2 / "policy.json").read_bytes())
    policy["issuers"] = [keys.issuer_entry()]
    corpus.policies["resigned"] = _dumps(policy)
    windows: dict[str, dict[str, str]] = {
        "window-open": {},
        "window-covers": {
            "not_before": "2026-11-27T00:00:00Z",
            "not_after": "2026-11-28T00:00:00Z",
        },
        "window-ends-at-issue": {"not_after": "2026-11-27T10:55:24.017328Z"},
        "window-ended": {"not_after": "2026-11-27T10:55:24.017327Z"},
        "window-starts-later": {"not_before": "2026-11-27T10:55:24.017329Z"},
        "window-starts-at-issue": {"not_before": "2026-11-27T10:55:24.017328Z"},
    }
    for label, window in windows.items():
        corpus.policies[f"resigned/{label}"] = _dumps(
            {**policy, "issuers": [keys.issuer_entry(**window)]}
        )
        corpus.add(
            Case(f"resigned/issuer/{label}", _dumps(sign(golden, keys.issuer)), f"resigned/{label}")
        )
    corpus.policies["resigned/skew-0"] = _dumps({**policy, "max_clock_skew_seconds": 0})
    corpus.policies["resigned/no-tsa"] = _dumps({**policy, "timestamp_authorities": []})
    corpus.policies["resigned/quorum-1"] = _dumps(
        {**policy, "witnesses": {**policy["witnesses"], "quorum": 1}}
    )
    corpus.policies["resigned/chain-trusted"] = _dumps(
        {
            **policy,
            "chains": [
                {
                    "chain_id": 1337,
                    "genesis_hash": "0x" + "00" * 32,
                    "registry": golden["anchor"]["contract"].lower(),
                }
            ],
        }
    )
    corpus.policies["resigned/chain-other-registry"] = _dumps(
        {
            **policy,
            "chains": [
                {"chain_id": 1337, "genesis_hash": "0x" + "00" * 32, "registry": "0x" + "11" * 20}
            ],
        }
    )

    def edit(**top: Any) -> Callable[[dict[str, Any]], None]:
        def apply(doc: dict[str, Any]) -> None:
            for k, v in top.items():
                if v is None:
                    doc.pop(k, None)
                else:
                    doc[k] = v

        return apply

    def anchor(**fields: Any) -> Callable[[dict[str, Any]], None]:
        return lambda doc: doc["anchor"].update(fields)

    edits: dict[str, Callable[[dict[str, Any]], None]] = {
        "unchanged": edit(),
        "issued-at-later": edit(issued_at="2026-11-28T10:00:00Z"),
        "issued-at-within-skew": edit(issued_at="2026-11-27T10:51:00.000000Z"),
        "issued-at-before-skew": edit(issued_at="2026-11-27T10:50:00.000000Z"),
        "issued-at-month-13": edit(issued_at="2026-13-27T10:55:24.017328Z"),
        "issued-at-february-30": edit(issued_at="2026-02-30T10:55:24.017328Z"),
        "issued-at-arabic-digit": edit(issued_at="2026-11-2\u0667T10:55:24.017328Z"),
        "issued-at-hour-24": edit(issued_at="2026-11-27T24:00:00Z"),
        "issued-at-year-0": edit(issued_at="0000-11-27T10:55:24Z"),
        "block-time-mismatch": anchor(block_time="2026-11-27T10:55:25.000000Z"),
        "block-time-without-fraction": anchor(block_time="2026-11-27T10:55:24Z"),
        "block-timestamp-beyond-9999": anchor(
            block_timestamp=2**40, block_time="2026-11-27T10:55:24Z"
        ),
        "block-timestamp-zero": anchor(block_timestamp=0, block_time="1970-01-01T00:00:00Z"),
        "registry-lowercase": anchor(contract=golden["anchor"]["contract"].lower()),
        "notice-added": edit(notice="nobody but the operator vouches for this certificate's time"),
        "notice-null": edit(notice=None)
        if "notice" in golden
        else lambda doc: doc.__setitem__("notice", None),
        "tokens-none": edit(timestamps=[]),
        "token-twice": lambda doc: doc.__setitem__("timestamps", doc["timestamps"] * 2),
        "token-bad-padding": lambda doc: doc["timestamps"].append({"token": "QUJD" + "QQ="}),
        "token-one-char-over": lambda doc: doc["timestamps"].append({"token": "QUJDR"}),
        "token-not-a-token": lambda doc: doc["timestamps"].append({"token": "dHJ1c3QgbWU="}),
        "tokens-nine": lambda doc: doc.__setitem__("timestamps", doc["timestamps"] * 9),
        "token-of-hostile-asset": lambda doc: doc.__setitem__(
            "timestamps",
            [
                {
                    "token": base64.b64encode(
                        (ASSETS.parent / "timestamp" / "valid.tst").read_bytes()
                    ).decode()
                }
            ],
        ),
    }
    for label, change in edits.items():
        doc = copy.deepcopy(golden)
        change(doc)
        data = _dumps(sign(doc, keys.issuer))
        for p in (
            "resigned",
            "resigned/skew-0",
            "resigned/no-tsa",
            "resigned/chain-trusted",
            "resigned/chain-other-registry",
        ):
            corpus.add(Case(f"resigned/{label}/policy={p}", data, p))
        corpus.add(Case(f"resigned/{label}/no-policy", data, None))
    token = base64.b64decode(golden["timestamps"][0]["token"])
    # The golden checkpoint with the log's signature only: no witness vouches for the time.
    text, signatures = golden["log"]["checkpoint"].split("\n\n")
    log_line = next(line for line in signatures.splitlines(keepends=True) if "/log " in line)
    stripped = copy.deepcopy(golden)
    stripped["log"]["checkpoint"] = f"{text}\n\n{log_line}"
    corpus.policies["resigned/quorum-0"] = _dumps(
        {**policy, "witnesses": {**policy["witnesses"], "quorum": 0}}
    )
    for i in range(scale * 2):
        # Half with the witnesses (the token one more source), half with the log's signature only
        # and no quorum: the mutated token is the only source of time, so whether it is counted
        # decides the verdict.
        alone = i % 2 == 1
        doc = copy.deepcopy(stripped if alone else golden)
        doc["timestamps"] = [{"token": base64.b64encode(byte_mutation(rng, token)).decode()}]
        data = _dumps(sign(doc, keys.issuer))
        policy_name = "resigned/quorum-0" if alone else "resigned/quorum-1"
        corpus.add(Case(f"token-bytes/{i}", data, policy_name))


def _synthetic(corpus: Corpus, rng: random.Random, keys: Keys, tsa: Tsa | None, epoch: int) -> None:
    corpus.contents["corpus"] = CONTENT
    later = at(epoch, 3600)  # the verifier's clock: after everything, TSA tokens included
    P = "synthetic"
    corpus.policies[P] = synthetic_policy(keys, tsa)
    o_log = NoteSigner("other.example/log", _seeded_key("other log"))
    chain = {"chain_id": 1337, "genesis_hash": "0x" + "00" * 32, "registry": "0x" + "ab" * 20}
    more: dict[str, dict[str, Any]] = {
        "quorum-0": {"quorum": 0},
        "quorum-1": {"quorum": 1},
        "quorum-3": {"quorum": 3},
        "quorum-3-of-4": {"quorum": 3, "members": ("alpha", "beta", "gamma", "delta")},
        "no-witnesses": {"quorum": 0, "members": ()},
        "no-log": {"quorum": 0, "log": None},
        "other-log": {"log": {"origin": "other.example/log", "keys": [o_log.vkey()]}},
        "two-log-keys": {
            "log": {"origin": keys.origin, "keys": [keys.other_log.vkey(), keys.log.vkey()]}
        },
        "no-tsa": {"timestamp_authorities": []},
        "no-tsa-quorum-0": {"timestamp_authorities": [], "quorum": 0},
        "operator-time": {
            "timestamp_authorities": [],
            "quorum": 0,
            "require_independent_time": False,
        },
        "skew-0": {"max_clock_skew_seconds": 0},
        "skew-day": {"max_clock_skew_seconds": 86400},
        "other-issuer": {"issuers": [keys.issuer_entry(keys.other_issuer)]},
        "both-issuers": {"issuers": [keys.issuer_entry(keys.other_issuer), keys.issuer_entry()]},
        "issuer-window-exact": {
            "issuers": [keys.issuer_entry(not_before=at(epoch, 30), not_after=at(epoch, 30))]
        },
        "issuer-expired": {"issuers": [keys.issuer_entry(not_after=at(epoch, 29.999999))]},
        "issuer-not-yet": {"issuers": [keys.issuer_entry(not_before=at(epoch, 30.000001))]},
        "chain": {"chains": [chain]},
        "chain-other-registry": {"chains": [{**chain, "registry": "0x" + "cd" * 20}]},
        "chain-elsewhere": {"chains": [{**chain, "chain_id": 1}]},
    }
    if tsa is not None:
        for label, roots in tsa.other_roots.items():
            more[f"tsa-{label}"] = {
                "timestamp_authorities": [{"name": f"TSA {label}", "certificates": roots}]
            }
            if not set(roots) & set(tsa.roots):  # a root listed twice is refused
                more[f"tsa-{label}-then-ours"] = {
                    "timestamp_authorities": [
                        {"name": f"TSA {label}", "certificates": roots},
                        {"name": "corpus TSA", "certificates": tsa.roots},
                    ]
                }
        # The time rules: which sources must agree on the proven time.
        two_tsas = [
            {"name": "corpus TSA", "certificates": tsa.roots},
            {"name": "RSA TSA", "certificates": tsa.other_roots["rsa-root"]},
        ]
        for rule in ("tsa_quorum", "witnesses_and_tsa"):
            more[f"rule-{rule}"] = {"time_rule": rule}
            more[f"rule-{rule}-2-of-2"] = {
                "time_rule": rule,
                "tsa_quorum": 2,
                "timestamp_authorities": two_tsas,
            }
            more[f"rule-{rule}-1-of-2"] = {"time_rule": rule, "timestamp_authorities": two_tsas}
        more["rule-earliest-2-tsas"] = {"time_rule": "earliest", "timestamp_authorities": two_tsas}
        more["rule-tsa_quorum-no-witnesses"] = {"time_rule": "tsa_quorum", "quorum": 0}
        # Fields the page reads but does not use (the PDF's signers) must not stop it reading.
        signer = {"name": "PDF document signer", "certificate": tsa.roots[0]}
        more["document-signers"] = {"document_signers": [signer]}
    # Post-quantum witnesses beside an Ed25519 one, and alone.
    more["mldsa-2-of-3"] = {"members": ("alpha", "epsilon", "zeta")}
    more["mldsa-only"] = {"members": ("epsilon", "zeta"), "quorum": 2}
    more["mldsa-only-1"] = {"members": ("epsilon", "zeta"), "quorum": 1}
    more["mldsa-3-of-3"] = {"members": ("alpha", "epsilon", "zeta"), "quorum": 3}
    notary = {
        "office": "北京市公证处",
        "public_key": keys.issuer_entry(keys.other_issuer)["public_key"],
    }
    more["notaries"] = {"notaries": [{**notary, "not_before": at(epoch, -86400)}]}
    for label, policy_knobs in more.items():
        corpus.policies[f"{P}/{label}"] = synthetic_policy(keys, tsa, **policy_knobs)

    def record(**changes: Any) -> dict[str, Any]:
        return evidence_record(epoch, **changes)

    fp = record()["content"]
    without_cids = {k: v for k, v in fp.items() if not k.startswith("cid")}
    base = Synth()
    knobs: dict[str, Synth] = {
        "base": base,
        "v1": replace(base, version=1),
        "v1-one-leaf": replace(base, version=1, tree_size=1, leaf_index=0),
        # the checkpoint and its signatures
        "log-unsigned": replace(base, log_signed=False),
        "log-other-key": replace(base, other_log_key=True),
        "log-both-keys": replace(base, both_log_keys=True),
        "origin-mismatch": replace(base, cert_origin="synthetic.example/other"),
        "origin-with-space": replace(base, cert_origin="synthetic.example/log two"),
        "size-mismatch": replace(base, cert_tree_size=6),
        "extension-lines": replace(base, extensions=("ext one", "ext two")),
        "note-without-blank-line": replace(
            base, note="synthetic.example/log\n5\n" + "A" * 43 + "=\n"
        ),
        "note-bad-signature-base64": replace(
            base,
            note="synthetic.example/log\n5\n"
            + "A" * 43
            + "=\n\n\u2014 synthetic.example/log AAAA*\n",
        ),
        "note-empty-extension": replace(
            base,
            note="synthetic.example/log\n5\n"
            + "A" * 43
            + "=\n\n\n\u2014 synthetic.example/log AAAAAAAA\n",
        ),
        "note-101-signatures": replace(base, cosign=tuple(("alpha", i) for i in range(101))),
        "note-control-character": replace(
            base, note="synthetic.example/log\n5\n\x01\n\n\u2014 x AAAAAAA=\n"
        ),
        # cosignatures and the quorum
        "one-cosignature": replace(base, cosign=(("alpha", 0),)),
        "no-cosignature": replace(base, cosign=()),
        "forged-cosignature": replace(base, forged=("beta",)),
        "forged-unlisted-witness": replace(
            base, cosign=(("alpha", 0), ("beta", 10), ("delta", 5)), forged=("delta",)
        ),
        "stranger-cosignature": replace(base, stranger=True),
        "cosigned-twice": replace(base, cosign=(("alpha", 0), ("alpha", 1), ("beta", 10))),
        "cosigned-in-future": replace(base, cosign=(("alpha", 0), ("beta", 10**6))),
        "cosigned-after-issue": replace(base, cosign=(("alpha", 0), ("beta", 400))),
        "cosigned-beyond-9999": replace(base, cosign=(("alpha", 0), ("beta", 2**40))),
        "cosigned-in-2019": replace(
            base, cosign=(("alpha", -250_000_000), ("beta", -250_000_000), ("gamma", 0))
        ),
        "same-time-cosignatures": replace(base, cosign=(("alpha", 5), ("beta", 5), ("gamma", 5))),
        # the inclusion proof
        **{
            f"tree-{size}-leaf-{index}": replace(base, tree_size=size, leaf_index=index)
            for size, index in (
                (1, 0),
                (2, 1),
                (3, 2),
                (4, 0),
                (7, 6),
                (8, 3),
                (9, 8),
                (16, 15),
                (17, 16),
                (33, 32),
                (100, 64),
            )
        },
        "leaf-index-beyond-tree": replace(base, leaf_index=5),
        "tree-over-2-32": replace(base, tree_size=2**32 + 1, leaf_index=0, path=("00" * 32,) * 33),
        "path-too-long": replace(base, path=("00" * 32,) * 4),
        "path-too-short": replace(base, path=("00" * 32,)),
        "path-empty": replace(base, path=()),
        # the issuer
        "other-issuer": replace(base, issuer="other_issuer"),
        # tokens
        "no-token": replace(base, tokens=()),
        "token-garbage": replace(base, tokens=("dHJ1c3QgbWU=",)),
        "token-bad-padding": replace(base, tokens=("QUJ",)),
        "token-and-garbage": replace(base, tokens=("good", "QUJDRA==")),
        **{
            f"token-{name}": replace(base, tokens=(name,)) for name in (tsa.variants if tsa else {})
        },
        # the anchor
        "block-time-mismatch": replace(base, block_time=at(epoch, 24)),
        "block-time-not-a-date": replace(base, block_time="2026-02-30T09:00:25.000000Z"),
        "registry-upper-case": replace(base, anchor=(("contract", "0x" + "AB" * 20),)),
        "chain-elsewhere": replace(base, anchor=(("chain_id", 1),)),
        # times
        "received-after-proven": replace(base, record=record(received_at=at(epoch, 600))),
        "received-within-skew": replace(base, record=record(received_at=at(epoch, 250))),
        "received-with-offset": replace(
            base,
            record=record(
                received_at=datetime.fromtimestamp(epoch, UTC)
                .astimezone(timezone(timedelta(hours=8)))
                .isoformat()
            ),
        ),
        "received-date-only": replace(base, record=record(received_at=at(epoch, 0)[:10])),
        "received-not-a-time": replace(base, record=record(received_at="yesterday")),
        "received-not-a-string": replace(base, record=record(received_at=epoch)),
        "received-missing": replace(
            base, record={k: v for k, v in record().items() if k != "received_at"}
        ),
        "issued-before-proven": replace(base, issued_at=-400),
        "issued-long-after": replace(base, issued_at=10**6),
        "issued-month-13": replace(base, issued_at="2026-13-28T09:00:30.000000Z"),
        "notice": replace(base, notice="only the operator vouches for this time"),
        # the record, and the file
        "record-float-size": replace(
            base, record=record(content={**fp, "size": float(len(CONTENT))})
        ),
        "record-string-size": replace(
            base, record=record(content={**fp, "size": str(len(CONTENT))})
        ),
        "record-true-size": replace(base, record=record(content={**fp, "size": True})),
        "record-declared": replace(
            base, record=record(content={**without_cids, "declared": ["sha256", "size", "sm3"]})
        ),
        "record-digest-only": replace(base, record=record(content=without_cids)),
        "record-other-sm3": replace(base, record=record(content={**fp, "sm3": "00" * 32})),
        "record-without-content": replace(
            base, record={k: v for k, v in record().items() if k != "content"}
        ),
        "record-content-a-list": replace(base, record=record(content=[1, 2])),
        "record-big-int": replace(base, record=record(big=2**53), leaf=bytes(32)),
        "record-nan": replace(base, record=record(nan=float("nan")), leaf=bytes(32)),
        "record-surrogate-value": replace(base, record=record(text="\ud800"), leaf=bytes(32)),
        "record-surrogate-key": replace(base, record={**record(), "\udc00": 1}, leaf=bytes(32)),
        "record-keys-beyond-bmp": replace(
            base, record=record(**{"\uffff": 1, "\U0001f600": 2, "\u00e9": 3})
        ),
        "record-floats": replace(base, record=record(numbers=[0.1, 1e21, 1e-7, -0.0, 5e-324, 2.5])),
        "record-nested-32": replace(base, record=record(deep=_nested(29))),
        "record-nested-33": replace(base, record=record(deep=_nested(30)), leaf=bytes(32)),
        "record-over-64-kib": replace(base, record=record(big="x" * 66000), leaf=bytes(32)),
        "extra-field": replace(base, extra=(("version", 2),)),
    }
    synthetic_policies = sorted(p for p in corpus.policies if p.startswith(P))
    for label, s in knobs.items():
        data = synthetic(s, keys, tsa, epoch)
        for content in ("corpus", None):
            corpus.add(Case(f"synthetic/{label}/file={content}", data, P, content, now=later))
        corpus.add(Case(f"synthetic/{label}/no-policy", data, None, now=later))
        for p in rng.sample(synthetic_policies, 4):
            corpus.add(Case(f"synthetic/{label}/policy={p}", data, p, "corpus", now=later))
    # Each time rule against the knobs that decide it: tokens from one TSA, two, none; a token
    # twice; a backdated or forged token; no witness quorum; cosignatures before and after the
    # tokens.
    rule_knobs = {
        "base": base,
        "two-tsas": replace(base, tokens=("good", "rsa")),
        "rsa-only": replace(base, tokens=("rsa",)),
        "token-twice": replace(base, tokens=("good", "good")),
        "rsa-twice": replace(base, tokens=("rsa", "rsa")),
        "backdated-and-rsa": replace(base, tokens=("backdated-gen-time", "rsa")),
        "no-token": replace(base, tokens=()),
        "one-cosignature": replace(base, cosign=(("alpha", 0),)),
        "one-cosignature-two-tsas": replace(base, cosign=(("alpha", 0),), tokens=("good", "rsa")),
        "cosigned-after-tokens": replace(
            base, cosign=(("alpha", 100), ("beta", 110)), issued_at=200, tokens=("good", "rsa")
        ),
        "cosigned-long-before": replace(
            base, cosign=(("alpha", -3000), ("beta", -2990)), tokens=("good", "rsa")
        ),
        "v1": replace(base, version=1),
    }
    rule_policies = [p for p in synthetic_policies if "/rule-" in p]
    pq = ("epsilon", "zeta")
    mldsa_knobs = {
        "mldsa": replace(base, cosign=(("alpha", 0), ("epsilon", 10), ("zeta", 20))),
        "mldsa-forged": replace(
            base, cosign=(("alpha", 0), ("epsilon", 10), ("zeta", 20)), forged=("zeta",)
        ),
        "mldsa-time-zero": replace(base, cosign=(("alpha", 0), ("epsilon", -epoch), ("zeta", 20))),
        "mldsa-all-time-zero": replace(base, cosign=tuple((n, -epoch) for n in pq)),
        "mldsa-in-future": replace(base, cosign=(("epsilon", 10), ("zeta", 10**6))),
        "mldsa-beyond-9999": replace(base, cosign=(("epsilon", 10), ("zeta", 2**40))),
        "mldsa-after-issue": replace(base, cosign=(("epsilon", 10), ("zeta", 400))),
        "mldsa-one": replace(base, cosign=(("zeta", 5),)),
        "mldsa-with-extensions": replace(
            base, cosign=(("epsilon", 1), ("zeta", 2)), extensions=("ext",)
        ),
    }
    mldsa_policies = [p for p in synthetic_policies if "/mldsa" in p] + [P]
    for label, s in mldsa_knobs.items():
        data = synthetic(s, keys, tsa, epoch)
        for p in mldsa_policies:
            corpus.add(Case(f"synthetic/mldsa/{label}/policy={p}", data, p, "corpus", now=later))
    for label, s in rule_knobs.items():
        data = synthetic(s, keys, tsa, epoch)
        for p in rule_policies:
            corpus.add(Case(f"synthetic/rules/{label}/policy={p}", data, p, "corpus", now=later))
    # The verifier's own clock, against which "in the future" is judged.
    data = synthetic(base, keys, tsa, epoch)
    for extra in ("document-signers", "notaries"):
        if f"{P}/{extra}" in corpus.policies:
            name = f"synthetic/base/with-{P}/{extra}"
            corpus.add(Case(name, data, f"{P}/{extra}", now=later))
    for offset in (-10, 15, 299, 311, 1000):
        for p in (P, f"{P}/no-tsa", f"{P}/quorum-0", f"{P}/skew-0"):
            corpus.add(
                Case(
                    f"synthetic/base/now=epoch{offset:+}/policy={p}", data, p, now=at(epoch, offset)
                )
            )
    # A time-stamp later than the verifier's clock, every cosignature before it.
    early = synthetic(
        replace(base, cosign=(("alpha", -100), ("beta", -90), ("gamma", -80))), keys, tsa, epoch
    )
    for p in (f"{P}/skew-0", f"{P}/quorum-0"):
        corpus.add(
            Case(f"synthetic/early-cosignatures/now=epoch+5/policy={p}", early, p, now=at(epoch, 5))
        )
    # Seeded combinations of the knobs.
    records = [record(), record(received_at=at(epoch, 400))]
    variants = ["good", *(tsa.variants if tsa else [])] if tsa else []
    for i in range(len(knobs) * 3):
        size = rng.choice([1, 2, 5, 6, 13])
        s = Synth(
            version=rng.choice([2, 2, 2, 1]),
            record=rng.choice(records),
            tree_size=size,
            leaf_index=rng.randrange(size),
            cosign=tuple(
                (n, rng.choice([None, -600, 0, 30, 400, 10**5]))
                for n in ("alpha", "beta", "gamma", "delta")
            ),
            forged=tuple(n for n in ("alpha", "beta") if rng.random() < 0.15),
            log_signed=rng.random() > 0.1,
            tokens=tuple(rng.sample(variants, rng.randint(0, 2))) if variants else (),
            issued_at=rng.choice([30, 400, -400, 1000]),
        )
        data = synthetic(s, keys, tsa, epoch)
        policy = rng.choice(synthetic_policies)
        corpus.add(
            Case(f"synthetic/random/{i}", data, policy, rng.choice(["corpus", None]), now=later)
        )


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def build_corpus(*, tsa: Tsa | None, epoch: int, scale: int = 200) -> Corpus:
    """The whole corpus. ``epoch``: the synthetic log's time (Unix seconds), a little before its
    TSA stamps; ``scale``: the number of seeded mutations of each kind."""
    rng = random.Random(SEED)  # noqa: S311 - a seeded, repeatable choice of test cases
    keys = Keys()
    corpus = Corpus()
    _golden(corpus)
    hostile = _hostile(corpus)
    _mutations(corpus, rng, hostile, scale)
    _resigned(corpus, rng, keys, scale)
    _synthetic(corpus, rng, keys, tsa, epoch)
    names = [c.name for c in corpus.cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"case names must be unique: {duplicates[:5]}"
    return corpus


@contextmanager
def openssl_tsa(workdir: Path) -> Iterator[Tsa]:
    """The corpus's TSAs, all OpenSSL's ``openssl ts -reply`` (``tests.tsa``): an ECDSA one under
    the corpus root, and the tokens the attacks of ``tests/assets/timestamp`` make from its
    (``variants``), plus real tokens from TSAs the default policy does not trust or should not:
    another root, an RSA TSA under its own root, a TSA under an intermediate, an expired TSA
    certificate."""
    from tests.assets.timestamp import make_hostile as attacks
    from tests.tsa import OpenSSLTimestampAuthority, TestCA, require_openssl

    openssl = require_openssl()
    ca = TestCA("Corpus TSA Root", "ec")
    other = TestCA("Corpus Unrelated Root", "ec")
    rsa_root = TestCA("Corpus RSA TSA Root", "rsa")
    now = datetime.now(UTC)
    expired = ca.issue_tsa_certificate(
        "Expired TSA", "ec", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    with ExitStack() as stack:

        def start(name: str, key: Any = "ec", **options: Any) -> Any:
            tsa = OpenSSLTimestampAuthority(workdir / name, key, openssl=openssl, **options)
            stack.callback(tsa.close)
            return tsa

        good = start("good", ca=ca)
        chained = start("intermediate", ca=ca, intermediate=True)
        unknown = start("unknown", ca=other)
        rsa = start("rsa", "rsa", ca=rsa_root)
        old = start("expired", ca=ca, tsa_certificate=expired)
        bad_eku, _ = ca.issue_tsa_certificate("Test TSA (ec)", "ec", eku_critical=False)
        code_signing, _ = ca.issue_tsa_certificate(
            "Test TSA (ec)", "ec", eku=ExtendedKeyUsageOID.CODE_SIGNING
        )

        def token(tsa: Any, digest: bytes, **request: Any) -> bytes:
            return bytes(attacks._token(tsa.reply(attacks._request(digest, **request))))

        def stamp(digest: bytes) -> bytes:
            return token(good, digest)

        def backdated(digest: bytes) -> bytes:
            valid = stamp(digest)
            gen_time = tsp.TSTInfo.load(attacks._tst_der(valid))["gen_time"].native
            return bytes(
                attacks._replace_tst(valid, {"gen_time": gen_time - timedelta(minutes=30)})
            )

        def two_signatures(digest: bytes) -> bytes:
            valid = stamp(digest)
            signer = attacks._signed_data(valid)["signer_infos"][0]
            return bytes(attacks._rebuild(valid, signer_infos=cms.SignerInfos([signer] * 2)))

        variants: dict[str, Callable[[bytes], bytes]] = {
            "signature-flipped": lambda d: attacks._flip(v := stamp(d), len(v) - 5),
            "backdated-gen-time": backdated,
            "tst-info-version-2": lambda d: bytes(attacks._replace_tst(stamp(d), {"version": 2})),
            "certificate-stripped": lambda d: bytes(attacks._rebuild(stamp(d), certificates=None)),
            "without-certificate": lambda d: token(good, d, cert_req=False),
            "substituted": lambda d: bytes(
                attacks._with_certificate(stamp(d), attacks._reissue(ca, good.tsa_certificate))
            ),
            "renamed": lambda d: bytes(
                attacks._with_certificate(
                    stamp(d), attacks._reissue(ca, good.tsa_certificate, common_name="Forged TSA")
                )
            ),
            "eku-not-critical": lambda d: bytes(
                attacks._with_certificate(
                    stamp(d), attacks._reissue_with(ca, good.tsa_certificate, bad_eku)
                )
            ),
            "eku-code-signing": lambda d: bytes(
                attacks._with_certificate(
                    stamp(d), attacks._reissue_with(ca, good.tsa_certificate, code_signing)
                )
            ),
            "two-signatures": two_signatures,
            "truncated": lambda d: stamp(d)[:-30],
            "trailing-byte": lambda d: stamp(d) + b"\x00",
            "for-another-digest": lambda d: stamp(hashlib.sha256(d).digest()),
            "intermediate": lambda d: token(chained, d),
            "unknown-root": lambda d: token(unknown, d),
            "rsa": lambda d: token(rsa, d),
            "expired-certificate": lambda d: token(old, d),
        }
        yield Tsa(
            stamp=stamp,
            roots=[pem(ca.certificate)],
            variants=variants,
            other_roots={
                "other-root": [pem(other.certificate)],
                "rsa-root": [pem(rsa_root.certificate)],
                "both-roots": [pem(rsa_root.certificate), pem(ca.certificate)],
            },
        )


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode("ascii")
