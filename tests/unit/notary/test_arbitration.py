"""Arbitration cases on the real service: who sees what, the bundle that verifies offline (and
fails naming the exhibit when one byte changes), the party's copy, the evidence index."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ipnotary.sdk import NotaryClient
from ipnotary.sdk import trade_secret as ts
from ipnotary.sdk.arbitration import CasesClient, CaseStep, manifest_of, verify_case_bundle
from ipnotary.sdk.errors import APIError, VerificationError
from tests.unit.notary.conftest import Api

USCC_CLAIMANT = "91350100M000100Y43"
USCC_RESPONDENT = "91110108551385082Q"


@dataclass
class Case:
    id: str
    clients: dict[str, NotaryClient]
    ids: dict[str, str]
    keys: dict[str, ts.RecipientKeys]
    tmp: Path

    def cases(self, who: str) -> CasesClient:
        return CasesClient(self.clients[who])


def _client(api: Api, label: str, role: str, name: str) -> NotaryClient:
    api.principal(label, role, name)
    return NotaryClient(
        "http://testserver",
        api.keys[label],
        transport=api.client._transport,
        policy=api.runtime.trust_policy(),
    )


def _anchored(api: Api, label: str, path: str) -> None:
    view = api.wait_anchored(path, {"Authorization": f"Bearer {api.keys[label]}"})
    assert view["status"] == "anchored", view


@pytest.fixture(scope="module")
def case(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    tmp = tmp_path_factory.mktemp("arbitration")
    roles = {
        "secretary": ("arbitrator", "Hangzhou Arbitration Commission"),
        "chair": ("arbitrator", "Zhao Lei"),
        "wing": ("arbitrator", "Sun Li"),
        "claimant": ("holder", "Acme Studio Ltd"),
        "respondent": ("platform", "Example Mall"),
        "outsider": ("arbitrator", "Another Commission"),
        "notary": ("notary", "Any Notary Office"),
    }
    clients = {who: _client(api, f"arb-{who}", role, name) for who, (role, name) in roles.items()}
    ids = {who: api.ids[f"arb-{who}"] for who in roles}
    opened = CasesClient(clients["secretary"]).open(
        commission="Hangzhou Arbitration Commission",
        case_number="(2026)杭仲字第42号",
        parties=[
            {
                "label": "claimant",
                "name": "Acme Studio Ltd",
                "id_type": "uscc",
                "id": USCC_CLAIMANT,
            },
            {
                "label": "respondent",
                "name": "Example Mall",
                "id_type": "uscc",
                "id": USCC_RESPONDENT,
            },
        ],
        tribunal=[ids["chair"], ids["wing"]],
    )
    case_id = opened["case"]["id"]
    CasesClient(clients["secretary"]).invite(case_id, "claimant", ids["claimant"])
    CasesClient(clients["secretary"]).invite(case_id, "respondent", ids["respondent"])
    keys = {who: ts.RecipientKeys.generate() for who in ("claimant", "chair")}
    for who, k in keys.items():
        clients[who].register_encryption_key(k)
    yield Case(case_id, clients, ids, keys, tmp)
    for c in clients.values():
        c.close()


def test_outsiders_see_nothing_of_a_case(api: Api, case: Case) -> None:
    for who in ("outsider", "notary"):
        with pytest.raises(APIError) as hidden:
            case.cases(who).case(case.id)
        with pytest.raises(APIError) as unknown:
            case.cases(who).case("arb_" + "0" * 32)
        assert (hidden.value.status, hidden.value.code) == (
            unknown.value.status,
            unknown.value.code,
        )
        assert hidden.value.status == 404
        assert case.cases(who).cases() == []
    opening = case.cases("chair").case(case.id)["acts"][0]["record_id"]
    with pytest.raises(APIError) as act:  # not even its opening record, which notaries read
        case.clients["notary"].get(opening)
    assert act.value.status == 404
    with pytest.raises(APIError) as exhibit:
        case.cases("outsider").submit_exhibit(case.id, opening, title="x")
    assert exhibit.value.status == 404


def test_a_case_bundle_verifies_offline_and_names_a_changed_exhibit(api: Api, case: Case) -> None:
    claimant = case.clients["claimant"]
    design = case.tmp / "design.psd"
    design.write_bytes(b"the claimant's logo, final draft\n" * 200)
    evidence = claimant.submit_file(design, metadata={"title": "Logo, final draft"})
    _anchored(api, "arb-claimant", f"/v1/evidence/{evidence.id}")
    exhibit = case.cases("claimant").submit_exhibit(case.id, evidence.id, title="Logo, final draft")
    statement = case.tmp / "claim.txt"
    statement.write_text("The respondent's listing copies our logo.", encoding="utf-8")
    case.cases("claimant").submit_statement(case.id, statement, title="Statement of claim")

    # A trade secret disclosed to the chair with the existing mechanism, then put before it.
    secret = case.tmp / "formula.txt"
    secret.write_bytes(b"the supplier formula")
    filing = claimant.file_trade_secret(secret, case.keys["claimant"], label="formula")
    chair_key = case.keys["chair"].signing_key_id
    assert chair_key is not None
    disclosure = claimant.disclose_trade_secret(
        filing.id, case.keys["claimant"], case.ids["chair"], signing_key_id=chair_key
    )
    case.cases("claimant").submit_disclosure(case.id, disclosure.id, title="Supplier formula")
    defence = case.tmp / "defence.txt"
    defence.write_text("We made the logo ourselves.", encoding="utf-8")
    case.cases("respondent").submit_statement(case.id, defence, title="Statement of defence")

    # A party sees its own submissions only, until the tribunal shares one.
    theirs = case.cases("respondent").case(case.id)
    assert [s["title"] for s in theirs["submissions"]] == ["Statement of defence"]
    with pytest.raises(APIError) as unseen:
        case.clients["respondent"].get(exhibit["id"])
    assert unseen.value.status == 404
    with pytest.raises(APIError) as not_tribunal:
        case.cases("respondent").share(case.id, 1)
    assert not_tribunal.value.code == "tribunal_only"
    case.cases("chair").share(case.id, 1)
    seen = [s["title"] for s in case.cases("respondent").case(case.id)["submissions"]]
    assert seen == ["Logo, final draft", "Statement of defence"]
    with pytest.raises(APIError) as secret_stays:
        case.cases("chair").share(case.id, 3)
    assert secret_stays.value.status == 422

    for act in case.cases("chair").case(case.id)["acts"]:
        _anchored(api, "arb-chair", f"/v1/case-events/{act['record_id']}")
    _anchored(api, "arb-claimant", f"/v1/disclosures/{disclosure.id}")
    _anchored(api, "arb-claimant", f"/v1/trade-secrets/{filing.id}")
    policy = api.runtime.trust_policy()

    tribunal = case.cases("chair").export(case.id, case.tmp / "tribunal.zip")
    result = verify_case_bundle(tribunal, policy)
    assert result.copy_for == "tribunal" and result.withheld == ()
    assert [e.title for e in result.exhibits] == [
        "Logo, final draft",
        "Statement of claim",
        "Supplier formula",
        "Statement of defence",
    ]
    names = zipfile.ZipFile(tribunal).namelist()
    assert any(n.startswith("disclosed/003/") and n.endswith("container.ipnts") for n in names)

    party = case.cases("respondent").export(case.id, case.tmp / "respondent.zip")
    mine = verify_case_bundle(party, policy)
    assert mine.copy_for == "party" and mine.withheld  # the claimant's unshared submissions
    assert [e.title for e in mine.exhibits] == ["Logo, final draft", "Statement of defence"]
    assert not any(n.startswith("disclosed/") for n in zipfile.ZipFile(party).namelist())

    # One byte of one exhibit changed: the check fails and names that exhibit and file.
    content = next(n for n in names if n.startswith("exhibits/001/content/"))
    changed = _rewritten(tribunal, content, lambda b: b[:-1] + bytes([b[-1] ^ 1]))
    with pytest.raises(VerificationError) as broken:
        verify_case_bundle(changed, policy)
    assert broken.value.step == CaseStep.EXHIBIT
    assert (
        "exhibit 1 ('Logo, final draft')" in broken.value.reason and content in broken.value.reason
    )
    # The statement's document, the manifest, an act, a dropped file: each fails where it is.
    document = next(n for n in names if n.startswith("exhibits/002/"))
    with pytest.raises(VerificationError) as statement_changed:
        verify_case_bundle(_rewritten(tribunal, document, lambda b: b + b" "), policy)
    assert "exhibit 2 ('Statement of claim')" in statement_changed.value.reason
    manifest = manifest_of(tribunal)
    manifest["exhibits"][0]["title"] = "Another title"
    with pytest.raises(VerificationError) as forged:
        verify_case_bundle(
            _rewritten(tribunal, "manifest.json", lambda _: json.dumps(manifest).encode()), policy
        )
    assert forged.value.step == CaseStep.MANIFEST_SIGNATURE
    act = next(n for n in names if n.startswith("log/0003-"))
    with pytest.raises(VerificationError) as act_changed:
        verify_case_bundle(
            _rewritten(tribunal, act, lambda b: b.replace(b'"seq":3', b'"seq":4')), policy
        )
    assert act_changed.value.step == CaseStep.CASE_LOG
    with pytest.raises(VerificationError) as dropped:
        verify_case_bundle(_rewritten(tribunal, content, None), policy)
    assert dropped.value.step == CaseStep.EXHIBIT and "missing" in dropped.value.reason


def _rewritten(bundle: Path, name: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == name:
                if change is None:
                    continue
                data = change(data)
            target.writestr(info.filename, data)
    return out.getvalue()


def test_the_evidence_index_has_page_numbers_links_and_bookmarks(api: Api, case: Case) -> None:
    from pypdf import PdfReader

    pdf = case.cases("chair").evidence_index(case.id, case.tmp / "index.pdf")
    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Evidence index" in text and "(2026)杭仲字第42号" in text
    assert f"page 1 of {len(reader.pages)}" in text
    titles = [item.title for item in _flat(reader.outline)]
    assert any("Exhibit 1" in t for t in titles) and any("Index" in t for t in titles)
    links = [
        a.get_object()
        for page in reader.pages
        for a in page.get("/Annots", [])
        if a.get_object().get("/Subtype") == "/Link"
    ]
    assert links, "the index links to its exhibits"
    assert "manifest.json" in reader.attachments


def _flat(outline: Any) -> Iterator[Any]:
    for item in outline:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def test_a_closed_case_takes_no_more_submissions(api: Api, case: Case) -> None:
    second = case.cases("secretary").open(
        commission="Hangzhou Arbitration Commission",
        case_number="(2026)杭仲字第43号",
        parties=[
            {
                "label": "claimant",
                "name": "Acme Studio Ltd",
                "id_type": "uscc",
                "id": USCC_CLAIMANT,
            },
            {
                "label": "respondent",
                "name": "Example Mall",
                "id_type": "uscc",
                "id": USCC_RESPONDENT,
            },
        ],
        tribunal=[case.ids["chair"]],
    )["case"]["id"]
    with pytest.raises(APIError) as twice:
        case.cases("secretary").open(
            commission="Hangzhou Arbitration Commission",
            case_number="(2026)杭仲字第43号",
            parties=[
                {"label": "a", "name": "A", "id_type": "uscc", "id": USCC_CLAIMANT},
                {"label": "b", "name": "B", "id_type": "uscc", "id": USCC_RESPONDENT},
            ],
            tribunal=[case.ids["chair"]],
        )
    assert twice.value.code == "case_number_taken"
    with pytest.raises(APIError) as not_a_holder:
        case.cases("claimant").open(
            commission="x",
            case_number="y",
            parties=[
                {"label": "a", "name": "A", "id_type": "uscc", "id": USCC_CLAIMANT},
                {"label": "b", "name": "B", "id_type": "uscc", "id": USCC_RESPONDENT},
            ],
            tribunal=[case.ids["chair"]],
        )
    assert not_a_holder.value.status == 403
    case.cases("secretary").invite(second, "claimant", case.ids["claimant"])
    case.cases("chair").close(second, note="withdrawn by the claimant")
    statement = case.tmp / "late.txt"
    statement.write_text("too late")
    with pytest.raises(APIError) as closed:
        case.cases("claimant").submit_statement(second, statement, title="Late")
    assert closed.value.code == "case_closed"
