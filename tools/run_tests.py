"""`make test`: lint, notebook sync, unit tests, then every lesson in quick mode.

The lessons run once: in JupyterLab in a headless Chromium (the browser tests, which
fail on any error or stderr output a learner would see), or, where Chromium cannot be
had, with nbval in the terminal. Stops at the first failing part and prints how long
each part took. Nothing can hang silently: every notebook cell has a time limit (the
cell that ran over is named), every part has an overall limit, and each unit test has
pytest-timeout's limit (pyproject.toml). pip's resolver check of the pins on every
platform (marker ``platforms``) waits on PyPI for minutes, so it runs in the background
from the start and is collected at the end.
Environment: NOTEBOOK_TIMEOUT (seconds per notebook, default 300), CELL_TIMEOUT
(seconds per cell, default 180), UNIT_TIMEOUT (seconds for all unit tests, default
1200), BROWSER_TIMEOUT (default 2400), PLATFORMS_TIMEOUT (default 2400); NOTEBOOK=01,03
runs only those notebooks under nbval; PYTEST_ARGS adds arguments to the unit-test run.
"""

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

from notebooks import ROOT, lesson_notebooks, run_with_deadline

BIN = Path(sys.executable).parent
BROWSER_REPORT = ROOT / "build" / "test" / "browser.xml"
PLATFORMS_LOG = ROOT / "build" / "test" / "platforms.log"


def lessons_ran_in_browser(report: Path = BROWSER_REPORT) -> bool:
    """True when the browser part handled every lesson: ran it, or skipped it because the
    data layer cannot get its files here (nbval would stop on the same missing file)."""
    try:
        cases = ElementTree.parse(report).getroot().iter("testcase")
    except (OSError, ElementTree.ParseError):
        return False
    handled = set()
    for case in cases:
        skipped = case.find("skipped")
        if "test_lesson" in case.get("name", "") and (
                skipped is None or "MissingDataError" in skipped.get("message", "")):
            handled.add(case.get("name"))
    return len(handled) >= len(lesson_notebooks())


def quick_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(DLCOURSE_QUICK="1", DLCOURSE_STRICT="1", MPLBACKEND="Agg",
               DLCOURSE_RESULTS=str(ROOT / "build" / "test" / "results.json"),
               TF_CPP_MIN_LOG_LEVEL="2")
    return env


def run_part(name: str, command: list[str], timeout: float | None = None) -> tuple[bool, float]:
    print(f"\n=== {name}: {shlex.join(command)}", flush=True)
    start = time.perf_counter()
    code = run_with_deadline(command, timeout, cwd=ROOT, env=quick_env())
    if code is None:
        print(f"!!! {name} exceeded its {timeout:.0f} s limit and was stopped", flush=True)
    return code == 0, time.perf_counter() - start


def run_parts(parts: list, timings: list) -> bool:
    """Run ``parts`` in order, appending (name, ok, seconds) to ``timings``; stop at the
    first failure. True when every part passed."""
    for name, command, timeout in parts:
        ok, seconds = run_part(name, command, timeout)
        timings.append((name, ok, seconds))
        if not ok:
            return False
    return True


class Background:
    """A part that waits on the network, not the CPU (pip's resolver asking PyPI for every
    platform's wheels): started first, in its own process group, and collected last."""

    def __init__(self, name: str, command: list[str], timeout: float, log: Path):
        self.name, self.timeout, self.log = name, timeout, log
        log.parent.mkdir(parents=True, exist_ok=True)
        print(f"\n=== {name} (in the background, log {log}): {shlex.join(command)}", flush=True)
        self.start = time.perf_counter()
        with open(log, "w") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=quick_env(), stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def finish(self, timings: list) -> None:
        """Wait for the part within its time limit (counted from its start), print its log
        and append (name, ok, seconds) to ``timings``."""
        left = max(1.0, self.timeout - (time.perf_counter() - self.start))
        try:
            code = self.process.wait(timeout=left)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        print(f"\n=== {self.name}", flush=True)
        print(self.log.read_text(), flush=True)
        if code is None:
            print(f"!!! {self.name} exceeded its {self.timeout:.0f} s limit and was stopped")
        timings.append((self.name, code == 0, time.perf_counter() - self.start))


def main() -> int:
    selected = [n for n in os.environ.get("NOTEBOOK", "").split(",") if n]
    per_notebook = float(os.environ.get("NOTEBOOK_TIMEOUT", "300"))
    per_cell = int(os.environ.get("CELL_TIMEOUT", "180"))
    unit_limit = float(os.environ.get("UNIT_TIMEOUT", "1200"))
    pytest_nb = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--nbval-lax",
                 "--nbval-current-env", "--nbval-cell-timeout", str(per_cell),
                 "--timeout", str(int(per_notebook))]
    # pip's resolver for every platform and Python (tests/test_platforms.py, marker
    # "platforms"): minutes of waiting on PyPI, overlapped with the parts below.
    resolver = Background("platform resolver", [str(BIN / "pytest"), "-q", "tests", "-m",
                                                "platforms"],
                          float(os.environ.get("PLATFORMS_TIMEOUT", "2400")), PLATFORMS_LOG)
    parts = [
        ("ruff", [str(BIN / "ruff"), "check", "."], 120),
        ("notebook sync", [sys.executable, "tools/notebooks.py"], 120),
        ("unit tests", [str(BIN / "pytest"), "-q", "tests", "-m", "not browser and not platforms",
                        *shlex.split(os.environ.get("PYTEST_ARGS", ""))], unit_limit),
        # Every lesson in JupyterLab in a headless Chromium (tests/test_browser.py, test_site.py).
        ("browser tests", [str(BIN / "pytest"), "-q", "tests", "-m", "browser",
                           f"--junitxml={BROWSER_REPORT}"],
         float(os.environ.get("BROWSER_TIMEOUT", "2400"))),
    ]
    notebook_parts = [(f"notebook {nb.stem}", [*pytest_nb, str(nb.relative_to(ROOT))],
                       per_notebook) for nb in lesson_notebooks(selected)]
    timings = []
    if run_parts(parts, timings):
        if lessons_ran_in_browser():
            # The browser already ran every lesson top to bottom in quick mode and failed on
            # any error or stderr output: nbval would repeat the same work.
            print("\n=== notebooks: every lesson ran in the browser tests above; "
                  "nbval is not repeated")
        else:
            print("\n=== notebooks: the browser tests did not run the lessons (no Chromium); "
                  "running each with nbval")
            parts += notebook_parts
            run_parts(notebook_parts, timings)
    parts.append(resolver.name)
    resolver.finish(timings)
    print("\n=== make test timings")
    for name, ok, seconds in timings:
        print(f"  {'ok  ' if ok else 'FAIL'} {seconds:7.1f} s  {name}")
    print(f"  total {sum(s for _, _, s in timings):.1f} s")
    passed = sum(ok for _, ok, _ in timings)
    failed = len(timings) - passed
    print(f"parts: {passed} passed, {failed} failed, {len(parts) - len(timings)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
