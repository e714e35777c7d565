"""The course environment: environment.yml (for conda users) pins exactly what
pyproject.toml pins, and `make env-check` repairs a broken .venv without losing one it
cannot rebuild.

environment.yml is read with a few lines of plain parsing rather than a YAML library,
which the course does not pin: its layout is fixed (conda dependencies, then a
``- pip:`` list indented below).
"""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

import check_env
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
    pins = check_env.dependencies()
    conda, pip = environment_yml()
    assert sorted(p for p in pip if p != "-e .") == sorted(pins)  # environment markers included
    assert "-e ." in pip and f"python{check_env.requires_python()}" in conda
    assert len(check_env.pinned()) == len(pins), "every dependency is pinned exactly"


# --- make env-check (tools/check_env.py) in a throwaway checkout ------------------
# Each test builds its own checkout with a fake or tiny .venv: the real one is never touched.

PYTHON = Path(sys.executable).resolve()  # a base interpreter, outside any venv


def checkout(root: Path, dependencies: list[str]) -> Path:
    """``root`` as a course checkout: the Makefile, tools/check_env.py, a pyproject.toml
    pinning ``dependencies``, a stand-in lib/dlcourse, an installed .venv/bin (empty)."""
    (root / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", root)
    shutil.copy(ROOT / "tools" / "check_env.py", root / "tools")
    (root / "pyproject.toml").write_text(
        f"[project]\ndependencies = {json.dumps(dependencies)}\n")
    (root / "lib" / "dlcourse").mkdir(parents=True)
    (root / "lib" / "dlcourse" / "__init__.py").touch()
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / ".installed").touch()
    return root


def env_check(root: Path, *, user=(), **env) -> subprocess.CompletedProcess:
    """``make env-check`` in ``root``; ``user`` prefixes a command that changes user."""
    return subprocess.run([*user, "make", "--no-print-directory", "env-check"], cwd=root,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)


AS_NOBODY = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")


@pytest.fixture
def as_nobody():
    """(a directory, a Python 3.11) that another user, nobody (uid 65534), may use."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("switching to another user needs root and setpriv")
    # Through sh: setpriv's own exec may still see through permissions (in some containers).
    usable = [p for p in (PYTHON, "/usr/bin/python3.11", "/usr/local/bin/python3.11")
              if subprocess.run([*AS_NOBODY, "sh", "-c", 'exec "$0" -c ""', p],
                                capture_output=True).returncode == 0]
    if not usable:
        pytest.skip("no Python 3.11 that another user may run")
    with tempfile.TemporaryDirectory() as path:
        os.chmod(path, 0o755)
        yield Path(path), str(usable[0])


@pytest.mark.slow  # seconds: runs make's environment check in subprocesses
def test_a_stray_pythonhome_is_named_and_the_environment_kept(tmp_path):
    root = checkout(tmp_path, [])
    (root / ".venv" / "bin" / "python").symlink_to(PYTHON)
    run = env_check(root, PYTHONHOME="/nonexistent")
    assert run.returncode != 0
    assert "PYTHONHOME=/nonexistent" in run.stdout and "unset" in run.stdout
    assert (root / ".venv" / "bin" / "python").is_symlink()
    assert (root / ".venv" / ".installed").exists()


@pytest.mark.slow  # seconds: runs make's environment check in subprocesses
def test_a_stray_pythonhome_stops_a_rebuild_that_would_die_of_it(tmp_path):
    """An environment whose Python is gone is rebuilt only by a system Python that runs."""
    root = checkout(tmp_path, [])
    (root / ".venv" / "bin" / "python").symlink_to("/nonexistent/python3.11")
    run = env_check(root, PYTHONHOME="/nonexistent")
    assert run.returncode != 0
    assert "PYTHONHOME=/nonexistent" in run.stdout
    assert (root / ".venv" / ".installed").exists() and not list(root.glob(".venv.broken-*"))


@pytest.mark.slow  # seconds: runs make's environment check in subprocesses
def test_an_interpreter_failing_for_another_reason_is_reported_not_deleted(tmp_path):
    root = checkout(tmp_path, [])
    python = root / ".venv" / "bin" / "python"
    python.write_text("#!/bin/sh\necho 'cannot map the interpreter: no memory' >&2\nexit 1\n")
    python.chmod(0o755)
    run = env_check(root)
    assert run.returncode != 0
    assert "cannot map the interpreter: no memory" in run.stdout
    assert python.exists() and (root / ".venv" / ".installed").exists()


@pytest.mark.slow  # seconds: runs make's environment check in subprocesses
def test_an_environment_whose_interpreter_is_gone_is_moved_aside_not_deleted(tmp_path):
    root = checkout(tmp_path, [])
    (root / ".venv" / "bin" / "python").symlink_to("/nonexistent/python3.11")
    (root / ".venv" / "learner-notes.txt").write_text("mine")
    run = env_check(root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "/nonexistent/python3.11" in run.stdout and "Rebuilding it" in run.stdout
    assert not (root / ".venv").exists()
    [aside] = root.glob(".venv.broken-*")
    assert aside.name in run.stdout
    assert (aside / "learner-notes.txt").read_text() == "mine"


def test_another_users_unreadable_environment_is_named_and_kept(as_nobody):
    folder, python = as_nobody
    root = checkout(folder, [])
    (root / ".venv" / "bin" / "python").symlink_to(python)
    (root / ".venv").chmod(0o700)
    run = env_check(root, user=AS_NOBODY, PYTHON=python)
    assert run.returncode != 0
    assert "belongs to root" in run.stdout and "nobody" in run.stdout
    assert (root / ".venv" / "bin" / "python").is_symlink()
    assert (root / ".venv" / ".installed").exists()


def test_another_users_environment_needing_repair_is_named_and_kept(as_nobody):
    folder, python = as_nobody
    root = checkout(folder, ["no-such-package-dlcourse==1.0"])
    (root / ".venv" / "bin" / "python").symlink_to(python)
    run = env_check(root, user=AS_NOBODY, PYTHON=python)
    assert run.returncode != 0
    assert "no-such-package-dlcourse is not installed" in run.stdout
    assert "belongs to root" in run.stdout and "nobody" in run.stdout
    assert (root / ".venv" / ".installed").exists()


def tiny_wheel(folder: Path) -> Path:
    """A wheel of ``tiny-dlcourse`` 1.0 (modules tiny_dlcourse/__init__.py and core.py)."""
    files = {"tiny_dlcourse/__init__.py": b"from .core import ANSWER\n",
             "tiny_dlcourse/core.py": b"ANSWER = 42\n",
             "tiny_dlcourse-1.0.dist-info/METADATA":
                 b"Metadata-Version: 2.1\nName: tiny-dlcourse\nVersion: 1.0\n",
             "tiny_dlcourse-1.0.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    digest = {name: base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
              for name, data in files.items()}
    record = "".join(f"{name},sha256={digest[name].decode()},{len(data)}\n"
                     for name, data in files.items())
    record += "tiny_dlcourse-1.0.dist-info/RECORD,,\n"
    wheel = folder / "tiny_dlcourse-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("tiny_dlcourse-1.0.dist-info/RECORD", record)
    return wheel


@pytest.mark.slow
def test_a_damaged_package_is_force_reinstalled(tmp_path):
    """pip sees a package with deleted or changed files as installed: only a force-reinstall
    of exactly that package at its pin puts the files back."""
    root = checkout(tmp_path / "course", ["tiny-dlcourse==1.0"])
    (tmp_path / "wheels").mkdir()
    tiny_wheel(tmp_path / "wheels")
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "wheels"),
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([PYTHON, "-m", "venv", root / ".venv"], check=True)
    python = root / ".venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "tiny-dlcourse==1.0"],
                   env={**os.environ, **offline}, check=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], capture_output=True, text=True).stdout.strip())
    (site / "course.pth").write_text(str(root / "lib"))  # dlcourse from this checkout
    (site / "tiny_dlcourse" / "__init__.py").unlink()
    (site / "tiny_dlcourse" / "core.py").write_text("ANSWER = 'changed'\n")

    run = env_check(root, **offline)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tiny-dlcourse is damaged" in run.stdout and "tiny-dlcourse==1.0" in run.stdout
    assert subprocess.run([python, "-c", "import tiny_dlcourse; assert tiny_dlcourse.ANSWER == 42"]
                          ).returncode == 0
    assert (root / ".venv" / ".installed").exists(), "repaired in place: nothing to reinstall"


def test_the_course_kernel_over_ipykernels_spec_is_not_damage(tmp_path):
    """make install replaces ipykernel's share/jupyter/kernels/python3/kernel.json with the
    course kernel's; counting that as damage made every check force-reinstall ipykernel,
    which put the stock kernel back."""
    from importlib import metadata

    site = tmp_path / "lib" / "python3" / "site-packages"
    info = site / "fake-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "fake.py").write_text("changed, longer than recorded\n")
    kernel = tmp_path / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    kernel.parent.mkdir(parents=True)
    kernel.write_text('{"argv": ["the course kernel"]}')
    (info / "RECORD").write_text(
        "fake.py,sha256=abc,5\n"
        "../../../share/jupyter/kernels/python3/kernel.json,sha256=def,3\n")
    damaged = check_env.damaged_files(metadata.PathDistribution(info))
    assert [f.as_posix() for f in damaged] == ["fake.py"]
