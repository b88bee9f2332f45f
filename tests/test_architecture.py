"""The house rules, checked: packages by capability, imports only downwards, small rooms.

The layers, bottom to top (ARCHITECTURE.md draws the same map):
vocabulary <- pure logic <- adapters <- orchestration <- composition.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "triage"

VOCABULARY = {"domain", "errors", "ports"}
PURE = {"mail", "judgement", "replies", "metrics", "report"}
ADAPTERS = {"config", "adapters", "state"}
ORCHESTRATION = {"pipeline", "training", "cluster"}
COMPOSITION = {"app", "cli", "daemon", "__main__", "__init__"}

# which of triage's packages each package may import (itself always)
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "errors": set(),
    "ports": {"domain"},
    "mail": VOCABULARY,
    "judgement": VOCABULARY | {"mail"},
    "replies": VOCABULARY | {"mail", "judgement", "metrics"},  # promises within business hours
    "metrics": VOCABULARY,
    "report": VOCABULARY | {"metrics"},
    "adapters": VOCABULARY | {"judgement"},
    "state": VOCABULARY,
    "config": VOCABULARY | {"adapters"},
    "pipeline": VOCABULARY | PURE | {"state"},
    "training": VOCABULARY | PURE | {"adapters"},
    "cluster": VOCABULARY | PURE | {"state", "pipeline"},
    "app": VOCABULARY | PURE | ADAPTERS | ORCHESTRATION,
    "daemon": VOCABULARY | PURE | ADAPTERS | ORCHESTRATION,
    "cli": VOCABULARY | PURE | ADAPTERS | ORCHESTRATION | {"app", "daemon"},
    "__main__": {"cli"},
    "__init__": set(),
}
# pure logic never touches the network, the disk, the environment or the clock
IMPURE = {"os", "socket", "sqlite3", "subprocess", "imapclient", "smtplib", "pathlib", "time", "psycopg"}
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250

MODULES = sorted(path for path in PACKAGE.rglob("*.py"))


def package_of(path: Path) -> str:
    """`triage/state/store.py` -> "state"; `triage/domain.py` -> "domain"."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_packages(path: Path) -> set[tuple[str, str]]:
    """(triage package, full name) of every import of triage's own code in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] if node.module != "triage" else [f"triage.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "triage" and len(parts) > 1:
                is_code = (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").exists()
                found.add((parts[1] if is_code else "__init__", name))
            elif parts[0] != "triage":
                found.add(("", name))
    return found


def test_every_module_sits_in_a_known_package() -> None:
    known = VOCABULARY | PURE | ADAPTERS | ORCHESTRATION | COMPOSITION
    assert {package_of(path) for path in MODULES} <= known


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_what_its_layer_may(path: Path) -> None:
    package = package_of(path)
    for imported, name in imported_packages(path):
        if imported and imported not in (package, "__init__"):
            assert imported in ALLOWED[package], f"{package} may not import {name}"
        if package in PURE and not imported:
            assert name.split(".")[0] not in IMPURE, f"pure {package} imports {name}"


def test_the_layer_test_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "triage" / "mail" / "bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("from triage.state import Store\nimport sqlite3\n")
    assert ("state", "triage.state") in imported_packages(module)
    assert "state" not in ALLOWED["mail"] and "sqlite3" in IMPURE


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines_and_it_says_what_it_is_for(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES
    if path.name != "__main__.py":
        docstring = ast.get_docstring(ast.parse(text))
        assert docstring, f"{path} opens without a sentence on what it is for"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_class_is_over_250_lines(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= MAX_CLASS_LINES, node.name
