"""Headline results of the notebooks, stored with mode, hardware and date.

Each notebook calls ``record(notebook, name, value, unit)`` for the numbers it
is about (an accuracy, bits per character, a speed-up). ``make course`` collects
them in ``build/results.json``; ``python -m dlcourse.report [FILE]`` prints them.
"""

import argparse
import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path

from . import config, hardware


def record(notebook: str, name: str, value: float, unit: str = "") -> None:
    """Store one result (read them back with :func:`load`) and print a one-line receipt.

    notebook: the notebook's stem, e.g. "01_convolution_arithmetic".
    value: a finite number (a NumPy scalar is fine).
    A later result with the same (notebook, name, mode) replaces the earlier one.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"result {notebook}/{name} is {value}; only finite numbers are recorded")
    entry = {
        "notebook": notebook,
        "name": name,
        "value": value,
        "unit": unit,
        "mode": config.mode_name(),
        **hardware.summary(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    path = config.results_path()
    results = [r for r in load(path)
               if (r["notebook"], r["name"], r["mode"]) != (notebook, name, entry["mode"])]
    results.append(entry)
    _write_atomically(path, results)
    print(f"recorded {notebook} · {name} = {format_value(value)} {unit} ({entry['mode']} mode)")


def load(path: Path | str | None = None) -> list[dict]:
    """All stored results (an empty list when none have been recorded)."""
    path = Path(path) if path else config.results_path()
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); delete it to start afresh") from err
    return data["results"] if isinstance(data, dict) else data


def _write_atomically(path: Path, results: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump({"results": results}, f, indent=2)
    os.replace(tmp, path)


def format_value(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}"


def table(results: list[dict]) -> str:
    """Plain-text table of results, sorted by notebook."""
    header = ("notebook", "result", "value", "unit", "mode", "hardware", "date")
    rows = [(r["notebook"], r["name"], format_value(r["value"]), r["unit"], r["mode"],
             r["gpu"] or r["cpu"], r["date"][:10])
            for r in sorted(results, key=lambda r: (r["notebook"], r["mode"], r["name"]))]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True))
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print the course's recorded results.")
    parser.add_argument("file", nargs="?", default=None, help="results.json (default: build/)")
    args = parser.parse_args(argv)
    results = load(args.file)
    print(table(results) if results else "no results recorded yet")


if __name__ == "__main__":
    main()
