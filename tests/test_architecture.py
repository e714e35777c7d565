"""CONTRIBUTING.md's house rules for the package, checked by reading the imports.

- ``dlcourse.core`` imports nothing else of the course;
- course-wide infrastructure (config, checks, report, data, ...) never imports an idea
  (conv, rnn, style, ...): arrows point down, never in a circle;
- no name starting with ``_`` crosses a module boundary;
- every subpackage states its public API in ``__all__``, and lessons, tests and
  benchmarks import only names listed there.
"""

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "lib" / "dlcourse"
INFRASTRUCTURE = {"core", "config", "checks", "report", "timing", "hardware",
                  "opcount", "data", "interact", "headless"}
IDEAS = {"conv", "dense", "rnn", "style", "ga", "keypoints", "nets", "inception"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` in ``module`` reads from."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")[: None if is_package else -1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def course_imports(path: Path, module: str = "") -> list[tuple[str, str, int]]:
    """(module imported from, name, line) for every import of the course's package in
    ``path``; ``from dlcourse import conv`` gives ("dlcourse", "conv", line)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            source = absolute(module, path.name == "__init__.py", node)
            if source == "dlcourse" or source.startswith("dlcourse."):
                found += [(source, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names
                      if alias.name.startswith("dlcourse")]
    return found


def top_level(source: str, name: str) -> str:
    """The package's top-level module an import reaches: ``conv`` for dlcourse.conv.x."""
    parts = source.split(".")
    return parts[1] if len(parts) > 1 else name


PACKAGE_MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def edges() -> set[tuple[str, str]]:
    """(importer, imported) between the package's top-level modules."""
    found = set()
    for module, path in PACKAGE_MODULES.items():
        here = module.split(".")[1] if "." in module else None
        for source, name, _ in course_imports(path, module):
            there = top_level(source, name)
            if here and there != here:
                found.add((here, there))
    return found


def public_api(module: str) -> set[str] | None:
    """The names in ``module``'s ``__all__`` (read, not imported: style imports TensorFlow)."""
    path = PACKAGE.parent / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    if not path.exists():
        return None
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return set(ast.literal_eval(node.value))
    return None


def test_core_imports_nothing_else_of_the_course():
    assert {(a, b) for a, b in edges() if a == "core"} == set()


def test_infrastructure_never_imports_an_idea():
    wrong = {(a, b) for a, b in edges() if a in INFRASTRUCTURE and b in IDEAS}
    assert wrong == set(), f"infrastructure importing lesson code: {sorted(wrong)}"


def test_every_top_level_module_is_classified():
    names = {m.split(".")[1] for m in PACKAGE_MODULES if "." in m}
    assert names - {"__main__"} <= INFRASTRUCTURE | IDEAS, names - INFRASTRUCTURE - IDEAS


def test_no_import_circles_between_top_level_modules():
    graph: dict[str, set[str]] = {}
    for a, b in edges():
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph.get(start, ()))

    circles = sorted(m for m in graph if reaches(m, m, {m}))
    assert circles == [], f"modules on an import circle: {circles}"


def test_no_private_name_crosses_a_module():
    crossings = [f"{module} line {line}: {name} from {source}"
                 for module, path in PACKAGE_MODULES.items()
                 for source, name, line in course_imports(path, module)
                 if name.startswith("_") and not name.startswith("__")]
    assert crossings == []


@pytest.mark.parametrize("subpackage", sorted(
    p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_each_subpackage_states_its_public_api(subpackage):
    assert public_api(f"dlcourse.{subpackage}"), f"dlcourse/{subpackage} has no __all__"


USERS = sorted([*ROOT.glob("course/[0-9][0-9]_*.py"), *ROOT.glob("tests/**/*.py"),
                *ROOT.glob("benchmarks/*.py")])


@pytest.mark.parametrize("path", USERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_lessons_tests_and_benchmarks_use_only_public_names(path):
    wrong = []
    for source, name, line in course_imports(path):
        depth = source.count(".")
        if depth >= 2:
            wrong.append(f"line {line}: from {source} import {name} reaches inside a subpackage")
        elif depth == 1:
            api = public_api(source)
            if api is not None and name not in api:
                wrong.append(f"line {line}: {name} is not in {source}.__all__")
        if name.startswith("_"):
            wrong.append(f"line {line}: private name {name}")
    assert wrong == []
