"""No template has words outside the catalogue: every word a person reads on a page is `{{ _("...") }}` or
inside `{% trans %}`, so it is in Chinese by default and in English on request."""

import re
from pathlib import Path

import pytest

from api.pages import templates

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
HOLE = "\x00"  # where an expression or a statement stood in the template's text
_INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)
_READ_ATTRIBUTE = re.compile(r"""\b(placeholder|title|alt|aria-label)\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)


def page_text(source: str) -> str:
    """The template's literal text (jinja2 "data" tokens) outside `{% trans %}` blocks, a HOLE for every
    expression, statement or translated block."""
    pieces: list[str] = []
    tokens = [token for token in templates.env.lex(source) if token[1] != "whitespace"]
    translating = False
    for position, (_line, kind, value) in enumerate(tokens):
        if kind == "name" and tokens[position - 1][1] == "block_begin" and value in ("trans", "endtrans"):
            translating = value == "trans"
        if kind == "data" and not translating:
            pieces.append(value)
        elif not pieces or pieces[-1] != HOLE:
            pieces.append(HOLE)
    return "".join(pieces)


def untranslated(source: str) -> list[str]:
    """Words a person would read that are not in the catalogue: text between tags, and literal text of the
    attributes a person reads (placeholder, title, alt, aria-label)."""
    text = _INVISIBLE.sub(HOLE, page_text(source))
    found = [
        f"{attribute}={value}"
        for attribute, value in _READ_ATTRIBUTE.findall(text)
        if any(character.isalpha() for character in value)
    ]
    for run in _ENTITY.sub(" ", _TAG.sub(HOLE, text)).split(HOLE):
        if any(character.isalpha() for character in run):
            found.append(" ".join(run.split()))
    return found


def all_templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_are_found_in_subfolders_too():
    names = {path.relative_to(TEMPLATES).as_posix() for path in all_templates()}
    assert {"base.html", "case.html", "overview.html", "overdue.html", "rankings.html"} <= names


@pytest.mark.parametrize("path", all_templates(), ids=lambda path: path.relative_to(TEMPLATES).as_posix())
def test_every_word_of_a_template_is_in_the_catalogue(path):
    assert untranslated(path.read_text()) == []


@pytest.mark.parametrize(
    "source, word",
    [
        ("<p>{{ _('Open') }} cases</p>", "cases"),
        ("<th>截止</th>", "截止"),
        ("<option value='{{ a }}' {% if a %}selected{% endif %}>{{ a }}</option> whole district", "whole district"),
        ("{% if late %}late {{ span }}{% endif %}", "late"),
        ("<input placeholder='reason'>", "placeholder='reason'"),
        ('<svg aria-label="SLA {{ x }}"></svg>', 'aria-label="SLA \x00"'),
        ("<title>{% block title %}Whistle{% endblock %}</title>", "Whistle"),
        ("{% trans %}Sign in{% endtrans %} Sign out", "Sign out"),
        ("<a href='/'>Overview &amp; more</a>", "Overview more"),
    ],
)
def test_the_check_finds_a_stray_word(source, word):
    assert word in untranslated(source)


@pytest.mark.parametrize(
    "source",
    [
        "<p>{{ _('Open cases') }}</p>",
        "{% trans trimmed %}Run <code>whistle rankings</code> monthly.{% endtrans %}",
        "<script>tick('late')</script><style>.late { color: red }</style><!-- a note -->",
        "<td>{{ c.deadline | moment }} · 100% – 1/2</td>",
        "<input placeholder=\"{{ _('reason') }}\" class='wide' type=\"text\">",
        "<html lang=\"{{ current_language() }}\"><a href='/dashboard/overdue'>{{ _('Deadlines') }}</a></html>",
    ],
)
def test_the_check_lets_catalogued_text_and_markup_pass(source):
    assert untranslated(source) == []
