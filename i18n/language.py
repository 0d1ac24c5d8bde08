"""Languages: the gettext catalogue of each (Babel .po files, `make messages` updates them) and the language in force.

Chinese is the default; English is available. The language in force is a context variable: the API sets it
per request (Accept-Language, or the page's remembered choice), the CLI once (WHISTLE_LANG or the locale),
notifications per message.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from schemas.messages import N_  # noqa: F401 - the marker lives on the lowest floor, for workflows' refusals too

LOCALES = Path(__file__).parent / "locales"
CHINESE = "zh_CN"
ENGLISH = "en"
LANGUAGES = (CHINESE, ENGLISH)  # first: the default
LANGUAGE_NAMES = {CHINESE: "中文", ENGLISH: "English"}
DOMAIN = "whistle"


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> Translations:
    """The catalogue of `language`, compiled from its .po file in memory (no compiled file to keep current)."""
    with catalogue_path(language).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def supported(language: str | None) -> str | None:
    """The supported language a tag or locale names ("zh-CN", "zh", "zh_CN.UTF-8", "en-GB" ...), or None."""
    primary = (language or "").replace("-", "_").split(".")[0].split("_")[0].strip().lower()
    return next((known for known in LANGUAGES if known.split("_")[0] == primary), None)


def negotiate(accept_language: str | None) -> str:
    """The best supported language for an Accept-Language header (weights respected), else the default."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            ranked.append((-weight, position, tag))
    for _weight, _position, tag in sorted(ranked):
        language = supported(tag)
        if language:
            return language
    return default_language()


def default_language() -> str:
    """WHISTLE_LANG, else Chinese (the deployment's people read Chinese whatever the server's locale)."""
    return supported(os.environ.get("WHISTLE_LANG")) or CHINESE


_current: ContextVar[str | None] = ContextVar("whistle_language", default=None)


def current() -> str:
    return _current.get() or default_language()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Everything translated inside speaks `language`."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: str) -> None:
    """The language for the rest of this context (a request, or the CLI process)."""
    _current.set(language)


def gettext(message: str) -> str:
    return translations(current()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ungettext(singular, plural, n)


_ = gettext
