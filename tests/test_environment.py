"""environment.yml (for conda users) pins exactly what pyproject.toml pins.

The file is read with a few lines of plain parsing rather than a YAML library,
which the course does not pin: its layout is fixed (conda dependencies, then a
``- pip:`` list indented below).
"""

import re
import tomllib

from conftest import ROOT


def environment_yml() -> tuple[list[str], list[str]]:
    """(conda dependencies, pip dependencies) of environment.yml."""
    conda, pip, in_pip = [], [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        item = re.match(r"^(\s*)- (.+?)\s*$", line)
        if not item or line.lstrip().startswith("#"):
            continue
        indent, value = len(item.group(1)), item.group(2)
        if value == "pip:":
            in_pip, pip_indent = True, indent
        elif in_pip and indent > pip_indent:
            pip.append(value)
        else:
            in_pip = False
            conda.append(value)
    return conda, pip


def test_environment_yml_matches_pyproject_pins():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    conda, pip = environment_yml()
    assert sorted(p for p in pip if p != "-e .") == sorted(pins)
    assert "-e ." in pip and "python=3.11" in conda
    assert all("==" in p for p in pins), "every dependency is pinned exactly"
