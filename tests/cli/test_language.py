"""The command line speaks WHISTLE_LANG, else the operator's locale when it names Chinese or English, else
Chinese; its help texts too (Typer reads them as `cli` loads)."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cli.language import cli_language

WHISTLE = Path(sys.executable).parent / "whistle"
LANGUAGE_ENV = ("WHISTLE_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


@pytest.mark.parametrize(
    ("environment", "language"),
    [
        ({}, "zh_CN"),  # nothing set: Chinese
        ({"LANG": "C.UTF-8"}, "zh_CN"),  # C and POSIX name no language
        ({"LANG": "POSIX"}, "zh_CN"),
        ({"LANG": "fr_FR.UTF-8"}, "zh_CN"),  # a language Whistle does not speak
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "zh_TW.UTF-8"}, "zh_CN"),
        ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN"),  # LC_MESSAGES before LANG
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),  # LC_ALL before both
        ({"LANG": "en_US.UTF-8", "LC_ALL": "C"}, "zh_CN"),  # LC_ALL=C is the locale in force: no language
        ({"LANG": "en_US.UTF-8", "WHISTLE_LANG": "zh-CN"}, "zh_CN"),  # WHISTLE_LANG wins
        ({"LANG": "zh_CN.UTF-8", "WHISTLE_LANG": "en"}, "en"),
        ({"LANG": "en_US.UTF-8", "WHISTLE_LANG": "klingon"}, "en"),  # an unknown WHISTLE_LANG is no choice
    ],
)
def test_cli_language(monkeypatch, environment, language):
    for name in LANGUAGE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cli_language() == language


def _help(*args: str, **environment: str) -> str:
    clean = {key: value for key, value in os.environ.items() if key not in LANGUAGE_ENV}
    done = subprocess.run(
        [str(WHISTLE), *args, "--help"],
        env=clean | environment | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_texts_speak_the_chosen_language():
    with ThreadPoolExecutor(3) as helps:  # three processes at once: each spends seconds loading the CLI
        chinese, english, chosen = helps.map(
            lambda run: _help(*run[0], **run[1]),
            [
                (("case", "act"), {}),
                (("case", "act"), {"LANG": "en_US.UTF-8"}),
                ((), {"LANG": "en_US.UTF-8", "WHISTLE_LANG": "zh-CN"}),
            ],
        )
    assert "以某单位身份办理案件" in chinese and "办理单位（或党员志愿者）代码" in chinese
    assert "2026-12-01 18:00 按当地时间理解" in chinese
    assert "Act on a case as an organisation" in english and "the acting organisation (or volunteer) code" in english
    assert "以某单位" not in english
    assert "上报、查看和办理案件" in chosen
