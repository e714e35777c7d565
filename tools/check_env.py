"""Is the course environment whole? Compares what is installed with pyproject.toml's pins.

Run by `make lab` / `make test` with the environment's own interpreter before they
start; exit 1 with one line per problem (a pinned package missing, another version,
files of a package deleted, the course package not installed from this checkout).
"""

import importlib.metadata as metadata
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)")


def pins(pyproject: Path) -> dict[str, str]:
    """{package: version} of every ``name==version`` dependency in ``pyproject``."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return {m.group(1): m.group(2) for m in map(PIN.match, dependencies) if m}


def problems(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    found = []
    for name, wanted in pins(pyproject).items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.append(f"{name} is not installed (pinned {wanted})")
            continue
        if dist.version != wanted:
            found.append(f"{name} {dist.version} is installed, but {wanted} is pinned")
            continue
        lost = [f for f in dist.files or () if f.suffix == ".py"
                and not Path(dist.locate_file(f)).exists()]
        if lost:
            found.append(f"{name} is damaged: {len(lost)} of its files are gone "
                         f"(e.g. {lost[0]})")
    spec = importlib.util.find_spec("dlcourse")
    if spec is None or not spec.origin or not Path(spec.origin).is_relative_to(ROOT / "lib"):
        where = spec.origin if spec and spec.origin else "nowhere"
        found.append(f"the course package dlcourse is not installed from this checkout "
                     f"(found: {where})")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"  {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
