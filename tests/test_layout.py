"""The tests' own layout: helpers are shared through tests/support only, so no test module imports another (a
conftest holds fixtures, a test module tests), and the test tree mirrors the code it tests."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SUPPORT = "tests.support"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_or_conftest_imports_another_test_module_or_conftest() -> None:
    tests_and_fixtures = {
        _module(path) for path in TESTS.rglob("*.py") if path.name.startswith("test_") or path.name == "conftest.py"
    }
    offences = []
    for path in sorted(TESTS.rglob("*.py")):
        for name in _imported(path):
            if name.startswith("."):
                offences.append(f"{_module(path)} imports relatively: {name}")
            elif name in tests_and_fixtures:
                offences.append(f"{_module(path)} imports {name}: move what it shares to {SUPPORT}")
    assert offences == []


def test_every_test_package_mirrors_a_package_of_the_code() -> None:
    """tests/api/fleet tests api/fleet, tests/db tests db: a newcomer finds a module's tests by its path."""
    unmatched = [
        str(folder.relative_to(TESTS))
        for folder in TESTS.rglob("*")
        if folder.is_dir()
        and (folder / "__init__.py").exists()
        and folder.relative_to(TESTS).parts[0] != "support"
        and not (ROOT / folder.relative_to(TESTS)).is_dir()
    ]
    assert unmatched == []
