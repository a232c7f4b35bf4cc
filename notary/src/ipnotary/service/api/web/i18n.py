"""Chinese and English for the web app: which language a request reads, its messages, its dates.

The language is the visitor's choice (the ``lang`` cookie, set by the switch on every page) or
else the first of the browser's ``Accept-Language`` we speak; Chinese in any script or region
reads Simplified Chinese. Messages are written in English in the templates and the code, and
translated from the gettext catalog ``web/app/locale/zh/LC_MESSAGES/messages.po`` (Babel reads
the ``.po`` source at first use and compiles it in memory: no ``.mo`` file to forget to rebuild).
``tests/unit/notary/test_web_i18n.py`` extracts every message and fails on one the catalog does
not translate.

Dates are written in the reader's locale by Babel (CLDR patterns), with the time zone named:
Beijing time for Chinese, UTC for English.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "LANGUAGE_COOKIE",
    "N_",
    "Language",
    "Speaker",
    "negotiate",
    "speaker",
]

LANGUAGE_COOKIE = "ipn_lang"


class Language(StrEnum):
    zh = "zh"
    en = "en"

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the page (``<html lang>``): screen readers pick their voice by it."""
        return "zh-CN" if self is Language.zh else "en"

    @property
    def other(self) -> Language:
        return Language.en if self is Language.zh else Language.zh


def N_(message: str) -> str:
    """Marks a message for the catalog; it is translated where it is shown."""
    return message


def _parse_accept_language(header: str) -> list[tuple[float, str]]:
    ranges = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and 0 < quality <= 1:
            # Later ranges of equal quality lose: the header's order is the reader's order.
            ranges.append((quality - position * 1e-6, tag.lower()))
    return sorted(ranges, reverse=True)


def negotiate(cookie: str | None, accept_language: str | None) -> Language:
    """The visitor's choice if made, else the browser's first language we speak, else Chinese
    (the platform serves a Chinese city's offices)."""
    if cookie in (Language.zh.value, Language.en.value):
        return Language(cookie)
    for _, tag in _parse_accept_language(accept_language or ""):
        primary = tag.split("-")[0]
        if primary == "zh":
            return Language.zh
        if primary == "en":
            return Language.en
    return Language.zh


@cache
def _translations(language: Language) -> NullTranslations:
    if language is Language.en:
        return NullTranslations()
    source = files("ipnotary.service") / "web" / "app" / "locale" / "zh" / "LC_MESSAGES"
    with (source / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="zh_Hans_CN")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@dataclass(frozen=True)
class Speaker:
    """Everything a page needs to speak one language: its messages and its dates."""

    language: Language

    @property
    def translations(self) -> NullTranslations:
        return _translations(self.language)

    @property
    def babel_locale(self) -> str:
        return "zh_Hans_CN" if self.language is Language.zh else "en"

    @property
    def time_zone(self) -> str:
        return "Asia/Shanghai" if self.language is Language.zh else "UTC"

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def datetime(self, moment: datetime | str | int | float | None) -> str:
        """A moment as the reader writes it, with its zone named; '' for none."""
        value = _moment(moment)
        if value is None:
            return ""
        text = format_datetime(
            value, "medium", tzinfo=ZoneInfo(self.time_zone), locale=self.babel_locale
        )
        if self.language is Language.zh:
            return f"{text}（{self.gettext('Beijing time')}）"  # noqa: RUF001 - full-width, as Chinese writes it
        return f"{text} UTC"

    def date(self, day: date | str | None) -> str:
        if day is None or day == "":
            return ""
        value = date.fromisoformat(day) if isinstance(day, str) else day
        return format_date(value, "long", locale=self.babel_locale)


def _moment(moment: datetime | str | int | float | None) -> datetime | None:
    if moment is None or moment == "":
        return None
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def speaker(cookies: Mapping[str, str], headers: Mapping[str, str]) -> Speaker:
    return Speaker(negotiate(cookies.get(LANGUAGE_COOKIE), headers.get("accept-language")))
