"""Do the pins install on every platform and Python a learner uses? pip's resolver says.

For each platform (Linux x86-64 and aarch64, macOS arm64 and x86-64, Windows x86-64) and
each Python that pyproject.toml's requires-python admits, runs

    pip install --dry-run --ignore-installed --only-binary=:all: --platform TAG ...
        --python-version X.Y --implementation cp --target DIR --report FILE PINS ...

PyPI serves each wheel's metadata apart from the wheel (PEP 658), so no wheel is
downloaded; from an index that does not (a mirror), pip reads just the metadata out of each
wheel through HTTP range requests (``--use-feature=fast-deps``). pip evaluates
environment markers (the pins' and every dependency's) for the machine it runs on, not for
``--platform`` (a TODO in pip's installation_report.py), so pip runs here with the target's
marker variables, and its report is checked to say it did.

Prints one line per platform and Python: resolved (how many packages, which pins their
markers leave out there) or not and why (the pin without a wheel there, or pip's error);
exits 1 when one does not resolve. tests/test_platforms.py runs it (marked slow), and
`make test-latest` runs it on the versions it moved to.
"""

import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

import check_env

# Wheels for older glibc run on newer: 2.35 is Ubuntu 22.04's, the oldest a learner likely has.
GLIBC_MINOR = 35
# pip asks packaging's default_environment() for every marker it evaluates, pins and
# dependencies alike; here it answers with the target's (argv[1], JSON) before pip starts.
PIP_FOR_TARGET = """import json, sys
from pip._vendor.packaging import markers
target = json.loads(sys.argv.pop(1))
markers.default_environment = lambda: dict(target)
from pip._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
# A cold run takes about a minute on an idle machine; far more on a busy one.
TIMEOUT_S = 1800


def manylinux(arch: str) -> tuple[str, ...]:
    """pip's --platform tags for a Linux on ``arch`` with glibc 2.GLIBC_MINOR."""
    return (*(f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)),
            f"manylinux2014_{arch}")


@dataclass(frozen=True)
class Platform:
    """A platform a learner uses: pip's wheel tags for it and its marker variables."""

    name: str
    tags: tuple[str, ...]
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str = "posix"

    def environment(self, python: str) -> dict[str, str]:
        """The PEP 508 marker variables of CPython ``python`` ("3.12") on this platform."""
        return {"implementation_name": "cpython", "implementation_version": f"{python}.0",
                "os_name": self.os_name, "platform_machine": self.platform_machine,
                "platform_python_implementation": "CPython", "platform_release": "",
                "platform_system": self.platform_system, "platform_version": "",
                "python_full_version": f"{python}.0", "python_version": python,
                "sys_platform": self.sys_platform}


PLATFORMS = (
    Platform("linux-x86_64", manylinux("x86_64"), "linux", "Linux", "x86_64"),
    Platform("linux-aarch64", manylinux("aarch64"), "linux", "Linux", "aarch64"),
    # pip also accepts the tags of older macOS releases and universal2 wheels.
    Platform("macos-arm64", ("macosx_13_0_arm64",), "darwin", "Darwin", "arm64"),
    Platform("macos-x86_64", ("macosx_13_0_x86_64",), "darwin", "Darwin", "x86_64"),
    Platform("windows-x86_64", ("win_amd64",), "win32", "Windows", "AMD64", os_name="nt"),
)


@dataclass(frozen=True)
class Outcome:
    """What pip's resolver said for one platform and Python."""

    platform: str
    python: str
    resolved: bool
    detail: str


def pythons(requires_python: str) -> list[str]:
    """The Python 3 releases ("3.11", ...) that ``requires_python`` admits."""
    spec = SpecifierSet(requires_python)
    return [f"3.{minor}" for minor in range(50) if f"3.{minor}" in spec]


def why_not(output: str) -> str:
    """The reason in pip's output: the requirement without a matching wheel, else its error."""
    missing = re.findall(r"No matching distribution found for (\S+)", output)
    if missing:
        return f"no wheel of {', '.join(missing)} for this platform and Python"
    errors = [line.removeprefix("ERROR: ") for line in output.splitlines()
              if line.startswith("ERROR: ")]
    return errors[0] if errors else (output.strip().splitlines() or ["pip said nothing"])[-1]


def resolve(platform: Platform, python: str, requirements: list[str]) -> Outcome:
    """Ask pip whether ``requirements`` install on ``platform`` under CPython ``python``."""
    target = platform.environment(python)
    left_out = [req.split(";")[0].strip() for req in requirements
                if ";" in req and not check_env.marker_holds(req.split(";", 1)[1], target)]
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-c", PIP_FOR_TARGET, json.dumps(target), "install",
                   "--dry-run", "--ignore-installed", "--only-binary=:all:", "--quiet",
                   "--use-feature=fast-deps",
                   "--disable-pip-version-check", "--python-version", python,
                   "--implementation", "cp", "--target", str(Path(folder) / "target"),
                   "--report", str(report), *(f"--platform={tag}" for tag in platform.tags),
                   *requirements]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return Outcome(platform.name, python, False, f"pip took over {TIMEOUT_S} s")
        if run.returncode != 0:
            return Outcome(platform.name, python, False, why_not(run.stdout + run.stderr))
        answer = json.loads(report.read_text())
    if answer["environment"] != target:
        return Outcome(platform.name, python, False, "pip evaluated the markers for this "
                       "machine, not the target (has pip changed?)")
    detail = f"{len(answer['install'])} packages"
    if left_out:
        detail += f"; without {', '.join(left_out)} (environment marker)"
    return Outcome(platform.name, python, True, detail)


def resolve_all(requirements: list[str], platforms=PLATFORMS, versions=None,
                jobs: int = 5) -> list[Outcome]:
    """One Outcome per platform and Python (default: those requires-python admits), run
    ``jobs`` at a time (pip mostly waits for the network)."""
    versions = versions or pythons(check_env.requires_python())
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(resolve, platform, python, requirements)
                   for platform in platforms for python in versions]
        return [future.result() for future in futures]


def table(outcomes: list[Outcome]) -> str:
    """The outcomes, one line each: platform, Python, resolved or not, and the detail."""
    return "\n".join(f"  {o.platform:15} {o.python:5} {'ok  ' if o.resolved else 'FAIL'} "
                     f"{o.detail}" for o in outcomes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path,
                        help="check these requirement lines instead of pyproject.toml's pins")
    parser.add_argument("--platform", action="append", choices=[p.name for p in PLATFORMS],
                        help="only this platform (repeatable)")
    parser.add_argument("--python", action="append", help="only this Python, e.g. 3.12")
    parser.add_argument("--jobs", type=int, default=5, help="pip runs at a time (default 5)")
    args = parser.parse_args(argv)
    if args.requirements:
        lines = [line.strip() for line in args.requirements.read_text().splitlines()]
        requirements = [line for line in lines if line and not line.startswith("#")]
    else:
        requirements = check_env.dependencies()
    platforms = [p for p in PLATFORMS if not args.platform or p.name in args.platform]
    outcomes = resolve_all(requirements, platforms, args.python, max(1, args.jobs))
    print(table(outcomes))
    failed = [o for o in outcomes if not o.resolved]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} platform and Python combinations "
          "resolve")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
