"""`make test-latest` (tools/test_latest.py): its pin handling and report, without PyPI."""

import importlib.metadata
import sys

import test_latest


def test_pins_are_read_from_pyproject_and_the_upgraded_ones_freed():
    pinned = test_latest.pins()
    assert {"tensorflow", "keras", "jupyterlab", "pytest"} <= set(pinned)
    requirements = test_latest.requirements(pinned)
    assert "tensorflow" in requirements and "numpy" in requirements  # left free
    assert f"pytest=={pinned['pytest']}" in requirements  # kept


def test_moved_pins_names_old_and_new_versions(monkeypatch):
    numpy_now = importlib.metadata.version("numpy")
    pytest_now = importlib.metadata.version("pytest")
    monkeypatch.setattr(test_latest, "newest_release", lambda python, name: "99.0")
    lines = test_latest.moved_pins(sys.executable, {"numpy": "1.0.0", "pytest": "0.1"})
    assert lines == [
        f"  numpy        1.0.0 -> {numpy_now} (newest is 99.0; the other pins hold it back)",
        f"  pytest       0.1 -> {pytest_now} (a kept pin moved: pip could not keep it)",
    ]
    monkeypatch.setattr(test_latest, "newest_release", lambda python, name: numpy_now)
    assert test_latest.moved_pins(sys.executable, {"numpy": numpy_now}) == [
        f"  numpy        {numpy_now} -> {numpy_now} (unchanged)"]


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
