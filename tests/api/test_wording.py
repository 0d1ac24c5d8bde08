"""Workflow refusals and API errors keep one vocabulary of parameters, and each is said for a person."""

import ast
import re
from datetime import timedelta
from pathlib import Path

from api.wording import say
from i18n.language import ENGLISH, speaking
from i18n.names import NameBook
from schemas.domain import Level
from schemas.messages import PARAMETERS, Message

ROOT = Path(__file__).resolve().parents[2]
REFUSING = {"Rejected", "_reject"}  # how workflows refuse: (kind, template, **params)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
NAMES = NameBook({"PM-JINDI": ("金地物业", "Jindi Property"), "SW": ("区水务局", "District Water Authority")})


def refusals() -> list[tuple[str, str, set[str]]]:
    """Every refusal in the workflows: where, its template, its parameter names."""
    found = []
    for path in sorted((ROOT / "workflows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in REFUSING:
                template = node.args[1]
                if isinstance(template, ast.Call):  # N_("...")
                    template = template.args[0]
                assert isinstance(template, ast.Constant), f"{path.name}:{node.lineno}: not a literal template"
                found.append((f"{path.name}:{node.lineno}", template.value, {k.arg for k in node.keywords}))
    return found


def test_every_refusal_names_only_parameters_of_the_vocabulary():
    found = refusals()
    assert len(found) > 40
    for where, template, params in found:
        assert params <= PARAMETERS.keys(), (where, params - PARAMETERS.keys())
        assert set(PLACEHOLDER.findall(template)) == params, (where, template, params)


def test_a_message_is_said_with_names_levels_times_and_durations():
    message = Message(
        template="%(org)s cannot %(action)s at %(level)s: only %(owner)s can",
        params={"org": "PM-JINDI", "action": "accept", "level": Level.COUNCIL, "owner": "SW"},
    )
    assert say(message, NAMES) == "金地物业不能在小区三方接单：只有区水务局可以"
    with speaking(ENGLISH):
        english = say(message, NAMES)
    assert english == "Jindi Property cannot accept at compound council: only District Water Authority can"
    assert message.english() == "PM-JINDI cannot accept at COUNCIL: only SW can"  # for logs

    # as a workflow's details arrive: JSON values
    deadline = Message(
        template="the new deadline must be after the current one (%(deadline)s)",
        params={"deadline": "2026-11-25T10:00:00Z"},
    )
    assert say(deadline) == "新的时限须晚于当前时限（11月25日 18:00）"
    cap = Message(template="an extension may reach at most %(cap)s from now", params={"cap": "P1DT2H"})
    assert say(cap) == "延期最多只能延至从现在起1天2小时以内"
    listed = Message(template="unknown department(s): %(orgs)s", params={"orgs": ["SW", "NOPE"]})
    assert say(listed, NAMES) == "未知的部门：区水务局、NOPE"


def test_a_value_of_another_shape_is_shown_as_it_is():
    odd = Message(template="task already accepted at %(at)s", params={"at": "yesterday"})
    assert say(odd) == "任务已于 yesterday 报到接单"
    assert say(Message(template="%(level)s", params={"level": "TOP"})) == "TOP"
    assert say(Message(template="%(cap)s", params={"cap": timedelta(hours=2)})) == "2小时"
