"""`make test-latest` (tools/test_latest.py): its pin handling and report, without PyPI."""

import importlib.metadata
import sys
from pathlib import Path

import pytest

import check_env
import test_latest


def test_pins_are_read_from_pyproject_and_the_upgraded_ones_freed():
    pinned = check_env.pinned()
    versions = {name: version for name, version, _ in pinned}
    assert {"tensorflow", "keras", "jupyterlab", "pytest"} <= set(versions)
    requirements = test_latest.requirements(pinned)
    assert "numpy" in requirements  # left free
    assert f"pytest=={versions['pytest']}" in requirements  # kept
    # freed, its environment marker kept for pip (no wheel for Intel Macs)
    assert ("tensorflow; sys_platform != 'darwin' or platform_machine != 'x86_64'"
            in requirements)


def test_moved_pins_names_old_and_new_versions(monkeypatch):
    numpy_now = importlib.metadata.version("numpy")
    pytest_now = importlib.metadata.version("pytest")
    monkeypatch.setattr(test_latest, "newest_release", lambda python, name: "99.0")
    lines = test_latest.moved_pins(sys.executable, [("numpy", "1.0.0", ""), ("pytest", "0.1", ""),
                                                    ("no-such-dlcourse", "1.0", "os_name == 'x'")])
    assert lines == [
        f"  numpy        1.0.0 -> {numpy_now} (newest is 99.0; the other pins hold it back)",
        f"  pytest       0.1 -> {pytest_now} (a kept pin moved: pip could not keep it)",
        "  no-such-dlcourse 1.0 -> not installed (its marker (os_name == 'x') leaves it out here)",
    ]
    monkeypatch.setattr(test_latest, "newest_release", lambda python, name: numpy_now)
    assert test_latest.moved_pins(sys.executable, [("numpy", numpy_now, "")]) == [
        f"  numpy        {numpy_now} -> {numpy_now} (unchanged)"]


def test_the_platform_check_resolves_the_installed_versions_under_the_markers(tmp_path,
                                                                            monkeypatch):
    """make test-latest asks pip's resolver about the versions it moved to, for every platform
    and Python, as one more part of its report."""
    ran = []
    monkeypatch.setattr(test_latest, "run", lambda command, timeout: ran.append(command) or
                        (1, "  macos-x86_64    3.12  FAIL no wheel of numpy==99.0"))
    numpy_now = importlib.metadata.version("numpy")
    part, code, _, out = test_latest.platform_check(
        Path(sys.executable), tmp_path,
        [("numpy", "1.0", ""), ("no-such-dlcourse", "1.0", "os_name == 'x'")])
    assert (part, code) == ("platforms (pip's resolver)", 1) and "no wheel of numpy" in out
    [command] = ran
    assert command[1].endswith("resolve_platforms.py") and command[2] == "--requirements"
    assert Path(command[3]).read_text() == (f"numpy=={numpy_now}\n"
                                            "no-such-dlcourse==1.0; os_name == 'x'\n")


@pytest.mark.slow  # about a second or more: waits out a subprocess timeout
def test_run_reports_a_timeout_as_none_and_keeps_the_output():
    code, out = test_latest.run([sys.executable, "-c", "print('started', flush=True); "
                                 "import time; time.sleep(30)"], timeout=2)
    assert code is None and "started" in out
    code, out = test_latest.run([sys.executable, "-c", "import sys; sys.exit(3)"], timeout=30)
    assert code == 3


def test_what_broke_prefers_pytest_failure_lines():
    out = "x\nFAILED tests/a.py::t - boom\nERROR tests/b.py\n1 failed"
    assert test_latest.what_broke(out) == ["FAILED tests/a.py::t - boom", "ERROR tests/b.py"]
    assert test_latest.what_broke("a\nb\nc\nd\ne\nf\n") == ["b", "c", "d", "e", "f"]
