"""`make test-latest`: the upgrade guard. Will the course survive the newest releases?

Builds a separate environment, build/venv-latest/, in which TensorFlow, Keras, JupyterLab,
ipywidgets, NumPy and matplotlib are the newest releases pip can install beside the other
pins of pyproject.toml (which stay as they are), runs the same suite there (the unit
tests, browser tests included, then every lesson in quick mode through nbval) without
stopping at the first failure, asks pip's resolver whether the versions it moved to install
on every platform and Python a learner uses (tools/resolve_platforms.py), and prints which
pins moved (old -> new) and what broke.
Not part of `make test`: it downloads from PyPI. Run it before a new term; a clean run
means the pins in pyproject.toml and environment.yml can move to the versions it printed.

Standard library only: it runs with the Python that creates the environment (3.11-3.13).
Environment: LATEST_VENV (default build/venv-latest), NOTEBOOK=01,03 (only those lessons),
PYTEST_ARGS (added to the unit-test run), UNIT_TIMEOUT (default 2400 s), NOTEBOOK_TIMEOUT
(default 600 s), CELL_TIMEOUT (default 300 s).
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import check_env

ROOT = Path(__file__).resolve().parents[1]
UPGRADED = ("tensorflow", "keras", "jupyterlab", "ipywidgets", "numpy", "matplotlib")
# {name: installed version, or null when it is not installed}
VERSIONS = """import importlib.metadata as m, json, sys
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
print(json.dumps({name: version(name) for name in sys.argv[1:]}))
"""


def requirement(name: str, version: str | None, marker: str) -> str:
    """``name==version`` (just ``name`` for version None), with ``marker`` when there is one."""
    line = name if version is None else f"{name}=={version}"
    return f"{line}; {marker}" if marker else line


def requirements(pinned: list[tuple[str, str, str]]) -> list[str]:
    """The pins (check_env.pinned(): name, version, marker), with the upgraded packages left
    free; environment markers kept, for pip to evaluate."""
    return [requirement(name, None if name in UPGRADED else version, marker)
            for name, version, marker in pinned]


def run(command: list[str], timeout: float, env: dict | None = None) -> tuple[int | None, str]:
    """Exit code (None past ``timeout``) and output; the output also streams to the screen."""
    print(f"$ {shlex.join(command)}", flush=True)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    expired = threading.Event()

    def stop():
        expired.set()
        os.killpg(process.pid, signal.SIGKILL)

    watchdog = threading.Timer(timeout, stop)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        code = process.wait()
    finally:
        watchdog.cancel()
    return (None if expired.is_set() else code), "".join(lines)


def build_environment(venv: Path, pinned: list[tuple[str, str, str]]) -> str:
    """Create or refresh ``venv``; "" when it is ready, else why not."""
    python = venv / "bin" / "python"
    if not python.exists():
        code, out = run([sys.executable, "-m", "venv", str(venv)], 300)
        if code != 0:
            return f"could not create {venv}: {out[-500:]}"
    venv.joinpath("requirements-latest.txt").write_text("\n".join(requirements(pinned)) + "\n")
    steps = [[str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
             [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "-r",
              str(venv / "requirements-latest.txt")],
             [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(ROOT)]]
    for step in steps:
        code, out = run(step, 1800)
        if code != 0:
            return f"`{shlex.join(step[2:])}` failed (exit {code}): {out.strip()[-1500:]}"
    return ""


def newest_release(python: Path, name: str) -> str:
    """The newest version of ``name`` on the package index ("?" when it cannot be asked)."""
    out = subprocess.run([str(python), "-m", "pip", "index", "versions", name],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(rf"^{re.escape(name)} \(([^)]+)\)", out, flags=re.M | re.I)
    return found[1] if found else "?"


def installed_versions(python: Path, names: list[str]) -> dict[str, str | None]:
    """{name: the version installed in ``python``'s environment, None when it is not}."""
    return json.loads(subprocess.run([str(python), "-c", VERSIONS, *names],
                                     capture_output=True, text=True, check=True).stdout)


def moved_pins(python: Path, pinned: list[tuple[str, str, str]]) -> list[str]:
    installed = installed_versions(python, [name for name, _, _ in pinned])
    lines = []
    for name, old, marker in pinned:
        new = installed[name]
        if new is None:
            why = f"its marker ({marker}) leaves it out here" if marker else "pip left it out"
            lines.append(f"  {name:12} {old} -> not installed ({why})")
        elif name in UPGRADED:
            newest = newest_release(python, name)
            held = ("" if newest == new else " (the index did not say which is newest)"
                    if newest == "?" else f" (newest is {newest}; the other pins hold it back)")
            lines.append(f"  {name:12} {old} -> {new}{' (unchanged)' if new == old else ''}"
                         f"{held}")
        elif new != old:
            lines.append(f"  {name:12} {old} -> {new} (a kept pin moved: pip could not keep it)")
    return lines


def platform_check(python: Path, venv: Path,
                   pinned: list[tuple[str, str, str]]) -> tuple[str, int | None, float, str]:
    """(part, exit code, seconds, output) of pip's resolver asked whether the versions in
    ``python``'s environment, under the pins' markers, install on every platform and Python."""
    installed = installed_versions(python, [name for name, _, _ in pinned])
    candidate = venv / "requirements-candidate.txt"
    candidate.write_text("".join(f"{requirement(name, installed[name] or version, marker)}\n"
                                 for name, version, marker in pinned))
    print("\n=== platforms: the moved pins on every platform and Python", flush=True)
    start = time.perf_counter()
    code, out = run([str(python), str(ROOT / "tools" / "resolve_platforms.py"),
                     "--requirements", str(candidate)], 1200)
    return "platforms (pip's resolver)", code, time.perf_counter() - start, out


def suite(python: Path) -> list[tuple[str, int | None, float, str]]:
    """(part, exit code, seconds, output) for the unit tests and each lesson in quick mode."""
    bindir = python.parent
    env = dict(os.environ, DLCOURSE_QUICK="1", DLCOURSE_STRICT="1", MPLBACKEND="Agg",
               TF_CPP_MIN_LOG_LEVEL="2", PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}",
               DLCOURSE_RESULTS=str(ROOT / "build" / "test-latest" / "results.json"))
    cell = os.environ.get("CELL_TIMEOUT", "300")
    per_notebook = float(os.environ.get("NOTEBOOK_TIMEOUT", "600"))
    selected = [n for n in os.environ.get("NOTEBOOK", "").split(",") if n]
    lessons = [p for p in sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
               if not selected or any(p.stem.startswith(n) for n in selected)]
    parts = [("unit tests", [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                             *shlex.split(os.environ.get("PYTEST_ARGS", ""))],
              float(os.environ.get("UNIT_TIMEOUT", "2400")))]
    parts += [(f"notebook {nb.stem}",
               [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                "--nbval-current-env", "--nbval-cell-timeout", cell, "--timeout",
                str(int(per_notebook)), str(nb.relative_to(ROOT))], per_notebook + 60)
              for nb in lessons]
    results = []
    for name, command, limit in parts:
        print(f"\n=== {name}", flush=True)
        start = time.perf_counter()
        code, out = run(command, limit, env=env)
        results.append((name, code, time.perf_counter() - start, out))
    return results


def what_broke(output: str) -> list[str]:
    """pytest's FAILED/ERROR summary lines, or the last lines when there are none."""
    lines = [ln.strip() for ln in output.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return lines or [ln.strip() for ln in output.strip().splitlines()[-5:]]


def main() -> int:
    if not (3, 11) <= sys.version_info[:2] <= (3, 13):
        print(f"make test-latest needs Python 3.11, 3.12 or 3.13 (this is "
              f"{sys.version.split()[0]}); run: make test-latest PYTHON=/path/to/python3.13")
        return 2
    venv = Path(os.environ.get("LATEST_VENV") or ROOT / "build" / "venv-latest")
    pinned = check_env.pinned()
    print(f"=== building {venv} with the newest {', '.join(UPGRADED)}", flush=True)
    started = time.perf_counter()
    problem = build_environment(venv, pinned)
    if problem:
        print(f"\nmake test-latest: the environment could not be built: {problem}")
        return 1
    python = venv / "bin" / "python"
    moved = moved_pins(python, pinned)
    results = [*suite(python), platform_check(python, venv, pinned)]
    print("\n=== make test-latest: pins it moved (pyproject.toml -> this environment)")
    print("\n".join(moved))
    print("\n=== what ran")
    for name, code, seconds, _ in results:
        state = "ok  " if code == 0 else ("TIME" if code is None else "FAIL")
        print(f"  {state} {seconds:7.1f} s  {name}")
    broken = [(name, out) for name, code, _, out in results if code != 0]
    if broken:
        print("\n=== what broke")
        for name, out in broken:
            print(f"  {name}:")
            print("\n".join(f"    {line[:300]}" for line in what_broke(out)))
    print(f"\n{len(results) - len(broken)} of {len(results)} parts passed with the newest "
          f"releases ({time.perf_counter() - started:.0f} s in all)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
