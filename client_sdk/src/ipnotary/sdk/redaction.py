"""Keeping credentials out of messages: URLs that carry a password or an API key.

Node and service URLs often hold their secret in the URL itself: ``https://user:pass@host/``,
``https://mainnet.example.io/v3/<API key>``, ``https://tsa.example/?apikey=<key>``,
``postgresql://notary:<password>@db/notary``. Whatever formats such a URL for a person (an error
message, a log line, ``/readyz``) goes through here first:

- :func:`redact_url` hides the user-info, every token-like path segment (at least 16 characters
  with a digit or both letter cases, or at least 32) and every query value, and drops the
  fragment: ``https://***@host/v3/***?apikey=***``. Scheme, host, port and ordinary path
  segments stay, so the message still says which endpoint failed.
- :class:`Redactor` cleans free text: any URL in it is redacted as above, and each secret it was
  told about (:func:`url_secrets` of the configured URLs) is replaced wherever it appears, because
  third-party errors quote pieces of a URL (``Max retries exceeded with url: /v3/<key>``).

This module lives in the SDK because both the SDK (node and TSA URLs a verifier configures) and
the service use it, and it imports only the standard library. The ``chain`` package imports
nothing of ours; it names a node by its origin alone (``ipnotary.chain._connection``).
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

__all__ = ["MASK", "Redactor", "install_log_redaction", "redact_url", "url_secrets"]

MASK = "***"

# Secrets shorter than this are not searched for in free text (they would mask ordinary words);
# inside a URL the user-info is hidden whatever its length.
MIN_SECRET_CHARS = 4

_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+=%-]+")
# A URL in free text; trailing punctuation of the sentence around it is not part of it.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_TRAILING = ".,;:!?)]}"


def _token_like(segment: str) -> bool:
    """A path segment that looks like a key rather than a word (``v3``, ``add-checkpoint``)."""
    if len(segment) < 16 or not _TOKEN_CHARS.fullmatch(segment):
        return False
    if len(segment) >= 32:
        return True
    has_digit = any("0" <= c <= "9" for c in segment)
    return has_digit or (segment.lower() != segment and segment.upper() != segment)


def _split_netloc(netloc: str) -> tuple[str | None, str]:
    userinfo, at, hostport = netloc.rpartition("@")
    return (userinfo if at else None), hostport


def redact_url(url: str) -> str:
    """``url`` with its user-info, token-like path segments and query values replaced by ``***``.

    Anything that does not parse as a URL with a scheme is returned masked whole: a string we
    cannot take apart is not shown.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return MASK
    if not parts.scheme:
        return MASK if url.strip() else url
    userinfo, hostport = _split_netloc(parts.netloc)
    netloc = f"{MASK}@{hostport}" if userinfo is not None else hostport
    path = "/".join(
        MASK if _token_like(unquote(s)) or _token_like(s) else s for s in parts.path.split("/")
    )
    query = (
        "&".join(
            f"{piece.partition('=')[0]}={MASK}" if "=" in piece else (MASK if piece else piece)
            for piece in parts.query.split("&")
        )
        if parts.query
        else ""
    )
    if "://" not in url:
        return urlunsplit((parts.scheme, netloc, path, query, ""))
    return f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def url_secrets(url: str | None) -> frozenset[str]:
    """The pieces of ``url`` that :func:`redact_url` hides, as written and percent-decoded:
    the password (and the user name when it looks like a key), token-like path segments, query
    values and the fragment. Pieces shorter than ``MIN_SECRET_CHARS`` are left out."""
    if not url:
        return frozenset()
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return frozenset({url.strip()}) if len(url.strip()) >= MIN_SECRET_CHARS else frozenset()
    found: set[str] = set()
    userinfo, _ = _split_netloc(parts.netloc)
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        if colon:
            found.add(password)
        if not colon or _token_like(unquote(user)):
            found.add(user)  # https://KEY@host: the user name is the credential
    found.update(s for s in parts.path.split("/") if _token_like(unquote(s)) or _token_like(s))
    found.update(value for _, value in parse_qsl(parts.query, keep_blank_values=True))
    found.update(
        piece.partition("=")[2] if "=" in piece else piece for piece in parts.query.split("&")
    )
    if parts.fragment:
        found.add(parts.fragment)
    decoded = {unquote(s) for s in found}
    return frozenset(s for s in found | decoded if len(s) >= MIN_SECRET_CHARS)


class Redactor:
    """Cleans text of URL credentials: every URL in it, and every secret it was given.

    ``Redactor.for_urls(urls)`` knows the secrets of those URLs (:func:`url_secrets`); a bare
    ``Redactor()`` still redacts every URL it finds.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        self.secrets = frozenset(unique)
        # Longest first, so that a secret containing another is replaced whole.
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in sorted(unique, key=len, reverse=True)))
            if unique
            else None
        )

    @classmethod
    def for_urls(cls, urls: Iterable[str | None]) -> Redactor:
        return cls(s for url in urls for s in url_secrets(url))

    def __call__(self, text: str) -> str:
        text = _URL_IN_TEXT.sub(_redact_match, text)
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return text

    def value(self, value: Any) -> Any:
        """``value`` with every string in it (in dicts, lists and tuples too) cleaned."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    tail = ""
    while url and url[-1] in _TRAILING:
        url, tail = url[:-1], url[-1] + tail
    return redact_url(url) + tail


# -- log records ------------------------------------------------------------------------------

_active: list[Redactor] = []
_install_lock = threading.Lock()
_base_factory: Callable[..., logging.LogRecord] | None = None


def _clean(text: str, redactors: list[Redactor]) -> str:
    for redactor in redactors:
        text = redactor(text)
    return text


def _clean_args(args: Any, redactors: list[Redactor]) -> Any:
    """Each argument whose text carries a secret, as its cleaned text; the others untouched
    (formatters such as uvicorn's access log unpack ``record.args``)."""
    if not isinstance(args, tuple):
        return args
    out = []
    for arg in args:
        text = arg if isinstance(arg, str) else str(arg)
        cleaned = _clean(text, redactors)
        out.append(arg if cleaned == text else cleaned)
    return tuple(out)


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None
    record = _base_factory(*args, **kwargs)
    redactors = list(_active)
    if not redactors:
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call; logging reports it itself later
        return record
    cleaned = _clean(message, redactors)
    if cleaned != message:
        record.msg = _clean(record.msg, redactors) if isinstance(record.msg, str) else record.msg
        record.args = _clean_args(record.args, redactors)
        try:
            rebuilt = record.getMessage()
        except Exception:  # noqa: BLE001 - a cleaned argument no longer fits its format
            rebuilt = message
        if _clean(rebuilt, redactors) != rebuilt:
            record.msg, record.args = cleaned, None
    exc_text = record.exc_text
    if record.exc_info and record.exc_info[1] is not None and not exc_text:
        exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if exc_text:
        # Formatters use exc_text when it is set; the traceback quotes exceptions' messages.
        record.exc_text = _clean(exc_text, redactors)
    return record


def install_log_redaction(redactor: Redactor) -> Callable[[], None]:
    """Clean every log record of this process (message and traceback) with ``redactor`` from
    now on, whichever logger or handler it goes to; returns the function that stops it.

    A record factory rather than a filter: handlers that libraries add later (and loggers that do
    not propagate, like uvicorn's) are covered too.
    """
    global _base_factory
    with _install_lock:
        if _base_factory is None:
            _base_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_redacting_factory)
        _active.append(redactor)

    def uninstall() -> None:
        with _install_lock:
            if redactor in _active:
                _active.remove(redactor)

    return uninstall
