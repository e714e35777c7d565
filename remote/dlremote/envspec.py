"""The course's environment spec: pinned requirements from pyproject.toml.

On a Linux host TensorFlow becomes ``tensorflow[and-cuda]`` at the same pin, which
pulls NVIDIA's CUDA and cuDNN wheels from PyPI (only a recent driver is needed).
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

from dlremote import RemoteError

# What `setup` and `run` copy to the host: enough to `pip install -e .`, open the lessons
# and run `make course` or `make test` there.
COURSE_PATHS = ("pyproject.toml", "environment.yml", "README.md", "Makefile", "lib", "course",
                "benchmarks", "tools", "tests", "jupyter", "data/manifest.json",
                "data/README.md")
SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache"}
REQUIREMENTS = ".dlcourse-requirements.txt"

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*$")


def project_root(start: Path | None = None) -> Path:
    """The course checkout holding this tool (the nearest parent with pyproject.toml)."""
    here = Path(start or __file__).resolve()
    for parent in [here, *here.parents]:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise RemoteError("cannot find the course's pyproject.toml above "
                      f"{here}; pass --project DIR")


def read_spec(pyproject: Path) -> tuple:
    """(dependencies, requires_python) from pyproject.toml's [project] table."""
    try:
        text = Path(pyproject).read_text()
    except FileNotFoundError:
        raise RemoteError(f"{pyproject} not found") from None
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # an older Python on the laptop
        dependencies, requires = parse_spec_simply(text)
    else:
        try:
            project = tomllib.loads(text).get("project", {})
        except tomllib.TOMLDecodeError as exc:
            raise RemoteError(f"{pyproject} is not valid TOML: {exc}") from None
        dependencies, requires = project.get("dependencies"), project.get("requires-python", "")
    if not dependencies:
        raise RemoteError(f"{pyproject} has no [project] dependencies to install")
    return list(dependencies), requires


def parse_spec_simply(text: str) -> tuple:
    """Without tomllib: the two keys are simple enough for regular expressions."""
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]\s*$", text, re.S | re.M)
    body = re.sub(r"#[^\n]*", "", block.group(1)) if block else ""
    dependencies = re.findall(r'"([^"]+)"', body) or None
    found = re.search(r'^requires-python\s*=\s*"([^"]*)"', text, re.M)
    return dependencies, found.group(1) if found else ""


def requirements(dependencies: list, linux: bool) -> list:
    """Requirement lines; on Linux ``tensorflow==X`` becomes ``tensorflow[and-cuda]==X``."""
    lines = []
    for dependency in dependencies:
        match = _REQUIREMENT.match(dependency)
        if not match:
            raise RemoteError(f"cannot read the requirement {dependency!r}")
        name, extras, rest = match.groups()
        if linux and name.lower() == "tensorflow" and not extras:
            extras = "[and-cuda]"
        lines.append(f"{name}{extras or ''}{rest}")
    return lines


def version_check(requires_python: str) -> str:
    """Python code exiting 0 when the interpreter satisfies e.g. '>=3.11,<3.12'."""
    tests = []
    for comparison, version in re.findall(r"(>=|<=|==|<|>)\s*(\d+(?:\.\d+)*)", requires_python):
        parts = tuple(int(part) for part in version.split("."))
        tests.append(f"sys.version_info[:{len(parts)}] {comparison} {parts!r}")
    return "import sys; sys.exit(0 if (" + (" and ".join(tests) or "True") + ") else 1)"


def course_archive(root: Path, requirement_lines: list) -> bytes:
    """A .tar.gz of COURSE_PATHS (those that exist) plus the requirements file."""
    buffer = io.BytesIO()

    def keep(info: tarfile.TarInfo):
        parts = set(Path(info.name).parts)
        if parts & SKIP or info.name.endswith((".pyc", ".egg-info")) or ".egg-info" in info.name:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for relative in COURSE_PATHS:
            if (root / relative).exists():
                tar.add(root / relative, arcname=relative, filter=keep)
        data = ("\n".join(requirement_lines) + "\n").encode()
        info = tarfile.TarInfo(REQUIREMENTS)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
