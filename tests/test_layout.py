"""The floors of the house: every import points down, and front ends at the same floor never import each other."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each folder and the folders it may import (beside itself).
MAY_IMPORT: dict[str, set[str]] = {
    "schemas": set(),
    "i18n": {"schemas"},  # what a person reads: never imported by workflows (it reads the environment)
    "workflows": {"schemas", "activities"},  # activities only as stubs passed through the sandbox
    "activities": {"schemas", "i18n"},
    "client": {"schemas", "i18n", "workflows", "activities"},
    "workers": {"schemas", "i18n", "workflows", "activities", "client"},
    "api": {"schemas", "i18n", "workflows", "activities", "client"},
    "devstack": {"schemas", "i18n", "workflows", "activities", "client", "workers", "api"},
    "bench": {"schemas", "i18n", "workflows", "activities", "client", "workers", "devstack"},
    "cli": {"schemas", "i18n", "workflows", "activities", "client", "workers", "api", "devstack", "bench"},
}


def imported_folders(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & MAY_IMPORT.keys()


def test_every_import_points_down() -> None:
    wrong = []
    for folder, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            for target in imported_folders(path) - allowed - {folder}:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "imports pointing up or sideways:\n" + "\n".join(wrong)


def test_every_code_folder_has_a_floor() -> None:
    code_folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert code_folders == MAY_IMPORT.keys()
