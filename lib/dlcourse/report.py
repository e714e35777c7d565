"""Headline results of the notebooks and benchmarks, stored with mode, hardware and date.

Each notebook calls ``record(notebook, name, value, unit)`` for the numbers it
is about (an accuracy, bits per character, a speed-up). ``make course`` collects
them in ``build/results.json``; ``python -m dlcourse.report [FILE]`` prints them.

Several processes may record at once (papermill runs, tests): every update takes
an exclusive lock on ``<results>.lock``, reads, changes and atomically replaces
the file, so no record is lost. A results file that is not valid JSON is moved
aside to ``<results>.corrupt-<time>`` with a message, never silently overwritten.

Benchmarks share one schema through :func:`benchmark_entry` and
:func:`print_benchmarks`: name, figure, value, unit, goal, met, hardware.
"""

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import math
import operator
import os
import tempfile
from pathlib import Path

from . import config, hardware


class CorruptResultsError(ValueError):
    """The results file exists but is not a list of results in JSON."""


def record(notebook: str, name: str, value: float, unit: str = "") -> None:
    """Store one result (read them back with :func:`load`) and print a one-line receipt.

    notebook: the notebook's stem, e.g. "01_convolution_arithmetic".
    value: a finite number (a NumPy scalar is fine).
    A later result with the same (notebook, name, mode) replaces the earlier one.
    """
    value = finite(value, f"result {notebook}/{name}")
    entry = {
        "notebook": notebook,
        "name": name,
        "value": value,
        "unit": unit,
        "mode": config.mode_name(),
        **hardware.summary(),
        "date": now(),
    }
    path = config.results_path()
    with locked(path):
        try:
            results = load(path)
        except CorruptResultsError as err:
            kept = path.with_name(f"{path.name}.corrupt-{dt.datetime.now():%Y%m%d-%H%M%S}")
            os.replace(path, kept)
            print(f"WARNING: {err}; moved it to {kept} and started a new results file")
            results = []
        results = [r for r in results
                   if (r["notebook"], r["name"], r["mode"]) != (notebook, name, entry["mode"])]
        results.append(entry)
        write_atomically(path, {"results": results})
    print(f"recorded {notebook} · {name} = {format_value(value)} {unit} ({entry['mode']} mode)")


def finite(value, what: str) -> float:
    """``value`` as a float, or ValueError naming ``what`` when it is NaN or infinite."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} is {value}; only finite numbers are recorded")
    return value


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def load(path: Path | str | None = None) -> list[dict]:
    """All stored results (an empty list when none have been recorded).

    Raises CorruptResultsError, naming the file, when it is not valid results JSON.
    """
    path = Path(path) if path else config.results_path()
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        results = data["results"] if isinstance(data, dict) else data
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise TypeError("not a list of results")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise CorruptResultsError(f"{path} is not a valid results file ({err})") from None
    return results


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``<path>.lock`` (blocks while another process holds it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_atomically(path: Path, data) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path``, then rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


# --- benchmarks ----------------------------------------------------------------

GOAL_TESTS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def benchmark_entry(name: str, figure: str, value: float, unit: str = "",
                    goal: tuple[str, float] | None = None) -> dict:
    """One benchmark figure in the shared schema.

    name: the benchmark ("conv"); figure: what was measured ("im2col/TF forward, median");
    goal: an optional (comparison, threshold) such as (">=", 1000); ``met`` is then
    whether ``value`` satisfies it, else None. Hardware and date are added.
    """
    value = finite(value, f"benchmark {name}/{figure}")
    met = None
    if goal is not None:
        comparison, threshold = goal
        if comparison not in GOAL_TESTS:
            raise ValueError(f"goal comparison {comparison!r} is not one of {list(GOAL_TESTS)}")
        met = bool(GOAL_TESTS[comparison](value, threshold))
        goal = f"{comparison} {threshold:g}"
    return {"name": name, "figure": figure, "value": value, "unit": unit, "goal": goal,
            "met": met, "hardware": hardware.summary(), "date": now()}


def print_benchmarks(entries: list[dict], as_json: bool = False) -> int:
    """Print a table of benchmark entries (and one JSON object last with ``as_json``).

    Returns the process exit code: 1 when any goal was missed, else 0.
    """
    for e in entries:
        verdict = {None: "", True: "goal met", False: "GOAL MISSED"}[e["met"]]
        goal = f"(goal {e['goal']})" if e["goal"] else ""
        print(f"  {e['figure']:<48} {format_value(e['value']):>10} {e['unit']:<8} "
              f"{goal} {verdict}".rstrip())
    missed = [e["figure"] for e in entries if e["met"] is False]
    if missed:
        print(f"{len(missed)} goal(s) missed: {', '.join(missed)}")
    if as_json:
        print(json.dumps({"benchmarks": entries}))
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the course's recorded results.")
    parser.add_argument("file", nargs="?", default=None, help="results.json (default: build/)")
    args = parser.parse_args(argv)
    try:
        results = load(args.file)
    except CorruptResultsError as err:
        print(f"error: {err}")
        return 1
    print(table(results) if results else "no results recorded yet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
