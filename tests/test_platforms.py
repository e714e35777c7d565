"""The course on every platform and Python a learner uses (issue #33): the supported Pythons
(pyproject.toml, the Makefile's search and check), pins that pip's resolver installs on each
platform (tools/resolve_platforms.py), a Makefile for macOS's GNU make 3.81 and a data cache
without fcntl (Windows), simulated here."""

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import test_data
from test_data import cached_with_two_partials, make_entry, no_leftovers, use_manifest

from dlcourse import checks, data
from dlcourse.checks import Case

import check_env
import resolve_platforms
from conftest import ROOT

source = test_data.source  # shared fixture

SUPPORTED = ["3.11", "3.12", "3.13"]  # those TensorFlow 2.21 ships wheels for
INTEL_MAC = next(p for p in resolve_platforms.PLATFORMS if p.name == "macos-x86_64")
# On macOS this is GNU make 3.81; on Windows make runs under WSL.
needs_make = pytest.mark.skipif(os.name == "nt" or not shutil.which("make"),
                                reason="needs make and a POSIX shell")


# --- the supported Pythons ------------------------------------------------------------

def test_requires_python_admits_every_python_tensorflow_ships_wheels_for():
    assert resolve_platforms.pythons(check_env.requires_python()) == SUPPORTED


def test_the_makefile_looks_for_and_accepts_exactly_the_supported_pythons():
    makefile = (ROOT / "Makefile").read_text()
    [searched] = re.findall(r"for v in ([\d ]+); do python3\.\$\$v", makefile)
    assert [f"3.{v}" for v in searched.split()] == SUPPORTED[::-1]  # newest first
    [(low, high)] = re.findall(r"\((3, \d+)\) <= sys\.version_info\[:2\] <= \((3, \d+)\)",
                               makefile)
    assert [low.replace(", ", "."), high.replace(", ", ".")] == [SUPPORTED[0], SUPPORTED[-1]]


def make_env(**env) -> dict[str, str]:
    """This environment with ``env``, less what an outer make (make test PYTHON=...) or the
    learner set that would decide PYTHON for the Makefile under test."""
    outer = ("PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    return {**{k: v for k, v in os.environ.items() if k not in outer}, **env}


def stub(folder: Path, name: str, code: int = 0) -> None:
    """An executable ``folder/name`` that exits ``code`` (127: a pyenv shim of a Python that
    pyenv has not selected)."""
    path = folder / name
    path.write_text(f"#!/bin/sh\nexit {code}\n")
    path.chmod(0o755)


def chosen_python(path: Path, **env) -> str:
    """The PYTHON the Makefile picks with only ``path`` on PATH (make itself found first)."""
    show = path / "show.mk"  # not --eval, which make 3.81 lacks
    show.write_text("show-python:\n\t@echo '$(PYTHON)'\n")
    run = subprocess.run([shutil.which("make"), "--no-print-directory", "-f",
                          str(ROOT / "Makefile"), "-f", str(show), "show-python"],
                         env=make_env(PATH=str(path), **env), cwd=path,
                         capture_output=True, text=True, timeout=60)
    return run.stdout.strip()


@needs_make
def test_make_picks_the_newest_supported_python_that_runs(tmp_path):
    for name in ("python3", "python3.11", "python3.12", "python3.14"):
        stub(tmp_path, name)
    stub(tmp_path, "python3.13", code=127)  # installed under pyenv, not selected
    assert chosen_python(tmp_path) == str(tmp_path / "python3.12")
    for name in ("python3.11", "python3.12"):
        (tmp_path / name).unlink()
    assert chosen_python(tmp_path) == str(tmp_path / "python3")  # refused by make install
    assert chosen_python(tmp_path, PYTHON="/opt/py/bin/python3") == "/opt/py/bin/python3"


def posing_python(folder: Path, version: str) -> Path:
    """An interpreter that runs ``-c CODE`` in this Python posing as ``version`` ("3.10.4")."""
    path = folder / f"python{version}"
    path.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.version_info = "
                    f"{tuple(map(int, version.split('.')))}; sys.version = \"{version}\"; "
                    "exec(sys.argv[1])' \"$2\"\n")
    path.chmod(0o755)
    return path


def make_install(folder: Path, python: str) -> subprocess.CompletedProcess:
    """`make install PYTHON=python` in a checkout of just the Makefile and pyproject.toml."""
    for name in ("Makefile", "pyproject.toml"):
        (folder / name).write_bytes((ROOT / name).read_bytes())
    return subprocess.run(["make", "--no-print-directory", "install", f"PYTHON={python}"],
                          cwd=folder, env=make_env(), capture_output=True, text=True,
                          timeout=60)


@needs_make
def test_make_install_accepts_3_13_and_names_the_supported_pythons_for_another(tmp_path):
    (tmp_path / "a").mkdir()
    run = make_install(tmp_path / "a", str(posing_python(tmp_path, "3.10.4")))
    assert run.returncode != 0 and not (tmp_path / "a" / ".venv").exists()
    assert ("The course needs Python 3.11, 3.12 or 3.13 (those TensorFlow 2.21 supports); "
            "found 3.10.4 (run: make PYTHON=/path/to/python3.13 ...)") in run.stderr
    (tmp_path / "b").mkdir()
    run = make_install(tmp_path / "b", str(posing_python(tmp_path, "3.13.1")))
    # past the check: the stand-in then fails to create .venv (it runs only -c CODE)
    assert "needs Python" not in run.stdout + run.stderr and "NameError" in run.stderr
    (tmp_path / "c").mkdir()
    run = make_install(tmp_path / "c", "")
    assert run.returncode != 0 and "No Python found on PATH" in run.stdout


# --- macOS's GNU make 3.81 --------------------------------------------------------------

# What GNU make 3.82 and later added, which macOS's make 3.81 reads as something else or not
# at all: (name, a pattern over the Makefile with recipes and comments left out).
NEWER_THAN_381 = [
    (".ONESHELL (3.82)", r"^\.ONESHELL\s*:"),
    (".RECIPEPREFIX (3.82)", r"\.RECIPEPREFIX"),
    (".SHELLFLAGS (3.82)", r"\.SHELLFLAGS"),
    ("undefine (3.82)", r"^\s*undefine\b"),
    ("private (3.82)", r"^\s*(?:export\s+)?private\s"),
    ("define with an operator (3.82)", r"^\s*define\s+\S+\s*(?:=|:=|::=|\+=|\?=|!=)\s*$"),
    ("::= (4.0)", r"::="),
    ("!= shell assignment (4.0)", r"^[^\s:#=]+\s*!="),
    ("$(file ...) (4.0)", r"\$\(file\s"),
    ("$(guile ...) (4.0)", r"\$\(guile\s"),
    ("grouped targets &: (4.3)", r"&:"),
    ("$(let ...) (4.4)", r"\$\(let\s"),
    ("$(intcmp ...) (4.4)", r"\$\(intcmp\s"),
]


def newer_than_381(makefile: str) -> list[str]:
    """The features of ``makefile`` (its text) that GNU make 3.81 lacks."""
    lines = [line for line in makefile.replace("\\\n", " ").splitlines()
             if not line.startswith("\t") and not line.lstrip().startswith("#")]
    text = "\n".join(lines)
    return [name for name, pattern in NEWER_THAN_381 if re.search(pattern, text, re.M)]


@pytest.mark.parametrize("snippet, feature", [
    (".ONESHELL:\n", ".ONESHELL (3.82)"),
    ("FILES != ls *.py\n", "!= shell assignment (4.0)"),
    ("a b &: c\n\ttouch a b\n", "grouped targets &: (4.3)"),
    ("X ::= 1\n", "::= (4.0)"),
    ("all:\n\t$(file >out,text)\n", None),  # in a recipe it reaches the shell as text: 3.81 too
    ("x:\n\t@echo $(file >out,text)\n", None),
    ("$(file >out,text)\n", "$(file ...) (4.0)"),
    ("define BODY =\nx\nendef\n", "define with an operator (3.82)"),
])
def test_the_make_381_scan_finds_each_newer_feature(snippet, feature):
    assert newer_than_381(snippet) == ([feature] if feature else [])


def test_the_makefile_runs_on_gnu_make_381():
    assert newer_than_381((ROOT / "Makefile").read_text()) == []


# --- pins that resolve on each platform -------------------------------------------------

def test_tensorflow_is_pinned_everywhere_but_on_intel_macs():
    tensorflow = {name: marker for name, _, marker in check_env.pinned()}["tensorflow"]
    where = {p.name: check_env.marker_holds(tensorflow, p.environment("3.12"))
             for p in resolve_platforms.PLATFORMS}
    assert where == {"linux-x86_64": True, "linux-aarch64": True, "macos-arm64": True,
                     "macos-x86_64": False, "windows-x86_64": True}


def test_pins_whose_marker_leaves_this_platform_out_are_not_expected_here(tmp_path):
    """make env-check on an Intel Mac must not reinstall a TensorFlow it cannot have."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nrequires-python = ">=3.11"\ndependencies = [\n'
                         '  "here==1.0", "not-here==2.0; os_name == \'no-such-os\'",\n'
                         '  "also-here==3.0 ; python_version >= \'3\'"]\n')
    assert check_env.pins(pyproject) == {"here": "1.0", "also-here": "3.0"}
    assert ("not-here", "2.0", "os_name == 'no-such-os'") in check_env.pinned(pyproject)


def test_pips_reasons_are_named():
    output = ("ERROR: Could not find a version that satisfies the requirement tensorflow==2.21.0 "
              "(from versions: 2.16.2)\nERROR: No matching distribution found for "
              "tensorflow==2.21.0\n")
    assert (resolve_platforms.why_not(output)
            == "no wheel of tensorflow==2.21.0 for this platform and Python")
    assert resolve_platforms.why_not("x\nERROR: ResolutionImpossible: a and b\n") == (
        "ResolutionImpossible: a and b")


def index_reachable() -> bool:
    """Whether pip's package index answers (the resolver check needs it)."""
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=20):
            return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.platforms
@pytest.mark.timeout(3600)
def test_the_pins_resolve_on_every_platform_and_python():
    """pip's resolver, 5 platforms x 3 Pythons, 5 at a time: about 3 minutes with PyPI's
    wheel metadata on an idle machine, and pip's HTTP cache makes a repeat faster; through
    a mirror without that metadata, on a busy machine, it can take half an hour."""
    if not index_reachable():
        pytest.skip("PyPI cannot be reached: the resolver check needs it (network)")
    outcomes = resolve_platforms.resolve_all(check_env.dependencies())
    assert [(o.platform, o.python) for o in outcomes] == [
        (p.name, v) for p in resolve_platforms.PLATFORMS for v in SUPPORTED]
    assert all(o.resolved for o in outcomes), resolve_platforms.table(outcomes)
    for o in outcomes:
        assert ("without tensorflow" in o.detail) == (o.platform == "macos-x86_64"), o
    # without the marker, the Intel Mac fails, naming the pin that has no wheel there
    failed = resolve_platforms.resolve(INTEL_MAC, "3.12", ["tensorflow==2.21.0"])
    assert not failed.resolved
    assert failed.detail == "no wheel of tensorflow==2.21.0 for this platform and Python"


# --- exercise checks without SIGALRM (Windows) -------------------------------------------

@pytest.mark.slow  # half a second or more
def test_exercise_checks_time_out_where_signal_has_no_alarm(monkeypatch, capsys):
    """Windows has no SIGALRM, alarm or setitimer: a learner's endless loop still stops."""
    for name in ("SIGALRM", "alarm", "setitimer", "ITIMER_REAL"):
        monkeypatch.delattr(signal, name, raising=False)
    monkeypatch.setenv("DLCOURSE_STRICT", "0")

    def forever(n):
        while True:
            n += 1

    start = time.monotonic()
    assert not checks.check_function("forever", forever, [Case((1,), 2)], timeout=0.5)
    assert time.monotonic() - start < 3
    assert "did not return within 0.5 s" in capsys.readouterr().out


# --- a data cache without fcntl (Windows) ----------------------------------------------

@pytest.fixture
def data_without_fcntl(monkeypatch):
    """dlcourse.data imported afresh where ``import fcntl`` fails, as on Windows (the
    package imported before is put back afterwards)."""
    import dlcourse

    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl raises ImportError
    for name in [n for n in sys.modules if n == "dlcourse.data" or n.startswith("dlcourse.data.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(dlcourse, "data", data)
    return importlib.import_module("dlcourse.data")


def test_without_fcntl_fetches_of_one_file_at_once_do_not_disturb_each_other(
        data_without_fcntl, source, data_cache):
    entry = make_entry(source, content=os.urandom(300_000))
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: data_without_fcntl.fetch_file(entry), range(16)))
    assert set(paths) == {entry.cache_path}
    assert entry.cache_path.read_bytes() == (source / "web" / "toy.bin").read_bytes()
    assert entry.receipt_path.exists() and no_leftovers(data_cache)


def test_without_fcntl_repair_removes_old_partials_but_not_a_fresh_one(
        data_without_fcntl, source, data_cache, monkeypatch):
    """Without locks a partial is stale once nothing has written it for an hour."""
    entry, stale, live = cached_with_two_partials(source, data_without_fcntl)
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    use_manifest(source, monkeypatch, entry)
    assert data_without_fcntl.main(["verify", "--repair", "toy"]) == 0
    assert not stale.exists() and live.exists()
    assert entry.cache_path.read_bytes() == b"hello course"
