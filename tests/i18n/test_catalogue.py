"""Every message a person reads is in the catalogues, and Chinese lacks none of them."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from i18n.language import CHINESE, ENGLISH, catalogue_path

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [
    ("tests/**.py", "ignore"),
    ("**/.venv/**", "ignore"),
    ("**.py", "python"),
    ("api/templates/**.html", "jinja2"),
]
OPTIONS = {"api/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def catalogue(language: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    with catalogue_path(language).open("rb") as source:
        for message in read_po(source, locale=language):
            if message.id:
                key = message.id if isinstance(message.id, str) else message.id[0]
                messages[key] = message.string if isinstance(message.string, str) else message.string[0]
    return messages


def extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else message[0]
        found.setdefault(key, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def source_messages() -> dict[str, str]:
    return extracted()


@pytest.mark.parametrize("language", [CHINESE, ENGLISH])
def test_every_message_in_the_source_is_in_the_catalogue(source_messages, language):
    known = catalogue(language)
    missing = [f"{where}: {message!r}" for message, where in source_messages.items() if message not in known]
    assert not missing, f"not in the {language} catalogue (run `make messages`, then translate):\n" + "\n".join(missing)


def test_chinese_lacks_no_message_english_has():
    chinese = catalogue(CHINESE)
    lacking = [message for message in catalogue(ENGLISH) if not chinese.get(message)]
    assert not lacking, "untranslated in zh_CN:\n" + "\n".join(map(repr, lacking))


def test_no_catalogue_keeps_messages_the_source_no_longer_has(source_messages):
    stale = [message for message in catalogue(ENGLISH) if message not in source_messages]
    assert not stale, "obsolete messages (run `make messages`):\n" + "\n".join(map(repr, stale))
