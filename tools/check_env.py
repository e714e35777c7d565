"""Is the course environment whole? Repairs what it can without losing anything.

`make lab` / `make test` run ``python -I tools/check_env.py --venv .venv`` with the system
Python (``-I``: a stray PYTHONHOME cannot stop it, and .venv's own Python may not run)
before they start. It first asks whether .venv's interpreter runs, and if not, why:
- .venv, or the Python it links to, may not be used by you (another user's): names the
  owner and stops;
- the interpreter is gone (Python removed or moved): once the system Python that will
  rebuild it runs, moves .venv aside to ``.venv.broken-<time>`` for `make install`;
- a PYTHONHOME or PYTHONPATH in your environment stops it: names the variable and stops;
- anything else: prints the interpreter's error and stops.
Nothing is ever deleted. When the interpreter runs, this script runs again inside it
(``--repair``) and compares what is installed with pyproject.toml's pins: a damaged package
(a file its RECORD lists gone or of another size) is force-reinstalled at its pin, then the
pins are checked again; what is still wrong (a package missing, another version, the course
package not installed from this checkout) removes the install stamp, so that `make install`
reinstalls the pins. Without options it only checks, exiting 1 with one line per problem.
"""

# The system Python running --venv may be older than 3.11 (`make install` then says so).
from __future__ import annotations

import argparse
import importlib.metadata as metadata
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# name==version, then an optional environment marker after ";"
PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*(?:;\s*(.*?))?\s*$")
# Variables that change where any Python finds its standard library and modules.
STARTUP_VARIABLES = ("PYTHONHOME", "PYTHONPATH")


def project(pyproject: Path) -> dict:
    """The [project] table of ``pyproject``."""
    import tomllib  # here, not above: Python 3.11+, and not needed by --venv

    return tomllib.loads(pyproject.read_text())["project"]


def dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The dependencies of ``pyproject`` as written (environment markers included)."""
    return project(pyproject)["dependencies"]


def requires_python(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The Python versions ``pyproject`` admits, e.g. ">=3.11,<3.14"."""
    return project(pyproject)["requires-python"]


def pinned(pyproject: Path = ROOT / "pyproject.toml") -> list[tuple[str, str, str]]:
    """(package, version, environment marker or "") of every ``name==version`` dependency."""
    return [(m[1], m[2], m[3] or "") for m in map(PIN.match, dependencies(pyproject)) if m]


def marker_holds(marker: str, environment: dict[str, str] | None = None) -> bool:
    """Whether the environment marker ``marker`` (PEP 508; "" always holds) holds for
    ``environment``: marker variables such as ``sys_platform``, the running Python's for
    those it leaves out."""
    if not marker:
        return True
    # packaging is in every environment built from the pins (pip, pytest and Jupyter need it).
    from packaging.markers import Marker

    return Marker(marker).evaluate(environment)


def pins(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """{package: version} of every ``name==version`` dependency in ``pyproject`` that this
    platform and Python install (its environment marker holds here)."""
    return {name: version for name, version, marker in pinned(pyproject)
            if marker_holds(marker)}


# Files a wheel installs that the course replaces on purpose: `make install` puts the course
# kernel (jupyter/kernels/python3) over ipykernel's stock kernel.json in .venv/share/jupyter.
REPLACED_BY_THE_COURSE = ("share/jupyter/kernels/",)


def damaged_files(dist: metadata.Distribution) -> list:
    """Files that ``dist``'s RECORD lists with a hash (those its wheel shipped, not the
    bytecode compiled later) which are gone or have another size than recorded, except
    those the course replaces on purpose (``REPLACED_BY_THE_COURSE``)."""
    damaged = []
    for file in dist.files or ():
        if any(part in file.as_posix() for part in REPLACED_BY_THE_COURSE):
            continue
        path = Path(dist.locate_file(file))
        if file.hash and (not path.is_file()
                          or file.size is not None and path.stat().st_size != file.size):
            damaged.append(file)
    return damaged


def findings(pyproject: Path = ROOT / "pyproject.toml") -> list[tuple[str, str | None]]:
    """(what is wrong, the ``name==version`` to force-reinstall when that repairs it, else
    None) for each difference between the running environment and ``pyproject``'s pins."""
    found = []
    for name, wanted in pins(pyproject).items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.append((f"{name} is not installed (pinned {wanted})", None))
            continue
        if dist.version != wanted:
            found.append((f"{name} {dist.version} is installed, but {wanted} is pinned", None))
            continue
        damaged = damaged_files(dist)
        if damaged:
            found.append((f"{name} is damaged: {len(damaged)} of its files are gone or "
                          f"changed (e.g. {damaged[0]})", f"{name}=={wanted}"))
    spec = importlib.util.find_spec("dlcourse")
    if spec is None or not spec.origin or not Path(spec.origin).is_relative_to(ROOT / "lib"):
        where = spec.origin if spec and spec.origin else "nowhere"
        found.append((f"the course package dlcourse is not installed from this checkout "
                      f"(found: {where})", None))
    return found


def problems(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """One line per difference between the running environment and ``pyproject``'s pins."""
    return [text for text, _ in findings(pyproject)]


def check_packages(repair: bool) -> int:
    """Print what differs from the pins, force-reinstalling damaged packages first when
    ``repair``; 1 when something is still wrong."""
    found = findings()
    damaged = [requirement for _, requirement in found if requirement]
    if repair and damaged:
        for text, requirement in found:
            if requirement:
                print(f"  {text}")
        print(f"  force-reinstalling {' '.join(damaged)}", flush=True)
        # pip sees a damaged package as installed: only --force-reinstall puts files back.
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--force-reinstall",
                        "--no-deps", *damaged])
        found = findings()
    for text, _ in found:
        print(f"  {text}")
    return 1 if found else 0


def user_name(uid: int) -> str:
    """The name of user ``uid`` (the number when it has none)."""
    import pwd  # here, not above: POSIX only, and only --venv (run by make) asks for names

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def not_yours(venv: Path, owned: Path, what: str) -> int:
    """Say that the current user may not do ``what`` to ``venv``, as ``owned`` is another
    user's; 1 (stop)."""
    owner = user_name(owned.lstat().st_uid)
    print(f"{owned} belongs to {owner}, and you ({user_name(os.getuid())}) may not {what}; "
          f"the course environment {venv} is left as it is. Use your own copy of the course "
          f"(git clone, then make lab), or ask {owner} to fix it.")
    return 1


def interpreter_error(python: Path, env: dict[str, str]) -> str | None:
    """What ``python -c ''`` says when it fails under ``env``; None when it runs."""
    try:
        run = subprocess.run([str(python), "-c", ""], env=env, capture_output=True,
                             text=True, timeout=120)
    except OSError as error:
        return str(error)
    if run.returncode == 0:
        return None
    return run.stderr.strip() or f"exit status {run.returncode}"


def check_venv(venv: Path) -> int:
    """Diagnose and repair ``venv`` for make: 0 to go on (`make install` then builds or
    reinstalls what is missing), 1 to stop, having said why. Deletes nothing."""
    python = venv / "bin" / "python"
    if os.path.lexists(venv):
        for path in (venv, venv / "bin"):
            if not os.access(path, os.R_OK | os.X_OK):
                return not_yours(venv, path, "read it")
        error = interpreter_error(python, dict(os.environ))
        if error is None:
            return check_installed(venv, python)
        try:
            python.stat()
        except FileNotFoundError:  # the Python it was built from was removed or moved
            pass
        except PermissionError:  # somewhere on the way to the Python it links to
            return not_yours(venv, venv, f"run its Python {python.resolve()}")
        else:
            if not os.access(python, os.X_OK):
                return not_yours(venv, venv, f"run its Python {python.resolve()}")
            return cannot_run(python, error)
    # No .venv, or one to rebuild: make install builds it with this (the system) Python.
    error = interpreter_error(Path(sys.executable), dict(os.environ))
    if error is not None:
        return cannot_run(Path(sys.executable), error)
    return move_aside(venv, python) if os.path.lexists(venv) else 0


def cannot_run(python: Path, error: str) -> int:
    """Say why ``python``, which failed with ``error``, does not run here; 1 (stop)."""
    stray = [name for name in STARTUP_VARIABLES if name in os.environ]
    clean = {k: v for k, v in os.environ.items() if k not in stray}
    if stray and interpreter_error(python, clean) is None:
        settings = " and ".join(f"{name}={os.environ[name]}" for name in stray)
        print(f"Python ({python}) does not run with {settings} set in your environment; "
              f"nothing was changed. Run: unset {' '.join(stray)}, then make again.")
    else:
        print(f"Python ({python}) does not run, and this check cannot tell why; nothing was "
              f"changed. It said:\n{error}")
    return 1


def move_aside(venv: Path, python: Path) -> int:
    """Move ``venv``, whose interpreter is gone, aside for `make install` to rebuild."""
    aside = venv.with_name(f"{venv.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    gone = f"{python} -> {python.resolve()}, which is gone"
    if not os.access(venv.parent, os.W_OK):
        return not_yours(venv, venv.parent.resolve(), f"replace the broken {venv} in it ({gone})")
    venv.rename(aside)
    print(f"The course environment {venv} is broken: its Python interpreter does not run "
          f"({gone}). Rebuilding it; the old one is kept as {aside} (delete it once you no "
          f"longer need anything from it).")
    return 0


def check_installed(venv: Path, python: Path) -> int:
    """Compare ``venv``'s packages with the pins, inside its own ``python``; repair them
    when the current user may write ``venv``."""
    stamp = venv / ".installed"
    if not stamp.exists():  # make install has not finished: it installs and checks
        return 0
    writable = os.access(venv, os.W_OK)
    command = [str(python), str(Path(__file__).resolve())] + (["--repair"] if writable else [])
    if subprocess.run(command).returncode == 0:
        return 0
    if not writable:
        return not_yours(venv, venv, "repair it to match pyproject.toml (above)")
    stamp.unlink()
    print(f"The course environment {venv} does not match pyproject.toml (above); reinstalling.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path,
                        help="diagnose and repair this environment (run by the system Python)")
    parser.add_argument("--repair", action="store_true",
                        help="force-reinstall damaged packages of the running environment")
    args = parser.parse_args()
    return check_venv(args.venv) if args.venv else check_packages(args.repair)


if __name__ == "__main__":
    sys.exit(main())
