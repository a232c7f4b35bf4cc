"""The web app speaks Chinese wherever it speaks English: every message of its templates and code
is in the Chinese catalog, translated, with the same placeholders; the catalog holds nothing that
is no longer said; dates are written as each language writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ipnotary.service.api.web.i18n import Language, Speaker, negotiate

SERVICE = Path(__file__).resolve().parents[3] / "notary" / "src" / "ipnotary" / "service"
CATALOG = SERVICE / "web" / "app" / "locale" / "zh" / "LC_MESSAGES" / "messages.po"
# Where messages are written: templates (Jinja's _()), and the code's N_() markers and
# gettext() calls. pybabel extract with the same map regenerates the catalog's source.
METHODS = [("api/web/**.py", "python"), ("web/app/templates/**.j2", "jinja2")]
OPTIONS = {"web/app/templates/**.j2": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "N_": None, "gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def said() -> set[str]:
    return {
        str(message)
        for _, _, message, _, _ in extract_from_dir(
            str(SERVICE), METHODS, options_map=OPTIONS, keywords=KEYWORDS
        )
    }


def test_every_message_is_translated_with_its_placeholders() -> None:
    with CATALOG.open("rb") as po:
        catalog = read_po(po)
    translated = {str(m.id): str(m.string) for m in catalog if m.id}
    messages = said()
    assert len(messages) > 300  # the extraction found the templates and the code
    missing = sorted(messages - translated.keys())
    assert not missing, f"not in the Chinese catalog: {missing}"
    stale = sorted(translated.keys() - messages)
    assert not stale, f"in the catalog but no longer said: {stale}"
    for message in messages:
        text = translated[message]
        assert (text and text != message) or not re.search("[a-z]{3}", message), message
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message)), message
    assert not [m.id for m in catalog if m.fuzzy and m.id], "fuzzy entries are not used"


def test_the_catalog_is_what_the_pages_read() -> None:
    chinese, english = Speaker(Language.zh), Speaker(Language.en)
    assert chinese.gettext("Sign in") == "登录" and english.gettext("Sign in") == "Sign in"
    assert chinese.gettext("Go to %(name)s", name="杭州市公证处") == "前往 杭州市公证处"


def test_dates_are_written_as_each_reader_writes_them() -> None:
    moment = datetime(2026, 12, 7, 16, 30, 5, tzinfo=UTC)
    assert Speaker(Language.zh).datetime(moment) == "2026年12月8日 00:30:05（北京时间）"  # noqa: RUF001
    assert Speaker(Language.en).datetime(moment).startswith("Dec 7, 2026, 4:30:05")
    assert Speaker(Language.en).datetime(moment).endswith("UTC")
    assert Speaker(Language.zh).date("2026-01-02") == "2026年1月2日"
    assert Speaker(Language.en).datetime(None) == ""


def test_the_language_is_the_visitors_choice_then_the_browsers() -> None:
    assert negotiate(None, "en-US,en;q=0.9,zh;q=0.8") is Language.en
    assert negotiate(None, "zh-Hant-TW;q=0.9,en;q=0.8") is Language.zh
    assert negotiate(None, "de,en;q=0.1") is Language.en
    assert negotiate(None, "en;q=0,zh;q=0.5") is Language.zh  # q=0: not acceptable
    assert negotiate(None, "") is Language.zh
    assert negotiate("en", "zh-CN") is Language.en
    assert negotiate("klingon", "en") is Language.en
