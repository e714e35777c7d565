"""Headline results of the notebooks and benchmarks, stored with mode, hardware and date.

Each notebook calls ``record(notebook, name, value, unit)`` for the numbers it
is about (an accuracy, bits per character, a speed-up). ``make course`` collects
them in ``build/results.json``; ``python -m dlcourse.report [FILE]`` prints them.

Several processes may record at once (papermill runs, tests): every update takes
an exclusive lock on ``<results>.lock``, reads, changes and atomically replaces
the file, so no record is lost.

A results file that :func:`record` cannot use is never overwritten:
- not valid JSON (a half-written file), or JSON whose entries are not results of this
  course (another program's list, records without a notebook or a value): moved aside
  to a new ``<results>.corrupt-<time>`` (never over an earlier one) with a printed
  message, and a new file started. Both are the same case, "not our results", and
  moving the file keeps everything in it while a long run goes on recording.
- read-only, unreadable, a folder, or in a folder that cannot be written:
  ResultsAccessError, one line naming the file and the fix. Nothing is moved, because
  a file someone protected or a wrong ``DLCOURSE_RESULTS`` is for the learner to settle.

Benchmarks share one schema through :func:`benchmark_entry` and
:func:`print_benchmarks`: name, figure, value, unit, goal, met, hardware.

Where quick mode is too short to settle a comparison, a lesson prints the result of a
recorded full-mode run beside its own: :func:`reference_run` reads
``course/reference/<notebook>_full.json`` (date, hardware, source, results), which holds
only numbers a real full run printed.
"""

import argparse
import contextlib
import datetime as dt
import json
import operator
import os
import stat
import tempfile
from pathlib import Path

from . import config, core, hardware

# What every stored result holds (record writes these; load, record and table read them).
FIELDS = ("notebook", "name", "value", "unit", "mode", "date", "cpu", "gpu")


class ResultsFileError(ValueError):
    """The results file cannot be used; the subclass says why."""


class CorruptResultsError(ResultsFileError):
    """The results file exists but is not a list of results of this course in JSON."""


class ResultsAccessError(ResultsFileError):
    """The results file cannot be read or written: permissions, read-only, a folder."""


def record(notebook: str, name: str, value: float, unit: str = "") -> None:
    """Store one result (read them back with :func:`load`) and print a one-line receipt.

    notebook: the notebook's stem, e.g. "01_convolution_arithmetic".
    value: a finite real number (a NumPy scalar is fine); TypeError for a string, None,
    a complex number or a bool, ValueError for NaN or infinity.
    A later result with the same (notebook, name, mode) replaces the earlier one.
    Raises ResultsAccessError when the results file cannot be read or written.
    """
    value = core.finite_number(f"result {notebook}/{name}", value)
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
    try:
        with locked(path):
            if path.is_file() and read_only(path):
                raise ResultsAccessError(
                    f"{path} is read-only, so no result is written over it: make it writable "
                    f"(chmod u+w {path}) or set DLCOURSE_RESULTS to another file")
            try:
                results = load(path)
            except CorruptResultsError as err:
                kept = keep_aside(path)
                print(f"WARNING: {err}; moved it to {kept} and started a new results file")
                results = []
            results = [r for r in results
                       if (r["notebook"], r["name"], r["mode"]) != (notebook, name, entry["mode"])]
            results.append(entry)
            write_atomically(path, {"results": results})
    except OSError as err:
        raise ResultsAccessError(
            f"cannot write results to {path} ({err}): make its folder writable "
            "or set DLCOURSE_RESULTS to a file in a folder you can write") from None
    print(f"recorded {notebook} · {name} = {format_value(value)} {unit} ({entry['mode']} mode)")


def read_only(path: Path) -> bool:
    """True when ``path`` may not be written: no permission, or no write bit at all
    (a file marked 0444 counts as read-only even for root, who could write it)."""
    return not os.access(path, os.W_OK) or not stat.S_IMODE(path.stat().st_mode) & 0o222


def keep_aside(path: Path) -> Path:
    """Rename ``path`` to a new ``<name>.corrupt-<date-time.microseconds>[-n]`` beside it.

    Called under the lock, so no other record() can take the same name in between;
    the counter separates two copies made within one clock tick.
    """
    stamp = f"{path.name}.corrupt-{dt.datetime.now():%Y%m%d-%H%M%S.%f}"
    kept, n = path.with_name(stamp), 0
    while kept.exists():
        n += 1
        kept = path.with_name(f"{stamp}-{n}")
    os.replace(path, kept)
    return kept


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def load(path: Path | str | None = None) -> list[dict]:
    """All stored results (an empty list when none have been recorded).

    Raises CorruptResultsError, naming the file, when it is not valid results JSON or its
    entries lack the fields in FIELDS, and ResultsAccessError when it is a folder or
    cannot be read.
    """
    path = Path(path) if path else config.results_path()
    if path.is_dir():
        raise ResultsAccessError(f"{path} is a folder, not a results file: set "
                                 f"DLCOURSE_RESULTS to a file such as {path / 'results.json'}")
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise ResultsAccessError(f"cannot read {path} ({err.strerror or err}): make it "
                                 f"readable (chmod u+r {path}) or set DLCOURSE_RESULTS "
                                 "to another file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptResultsError(f"{path} is not a valid results file ({err})") from None
    results = data.get("results") if isinstance(data, dict) else data
    if not isinstance(results, list):
        raise CorruptResultsError(f"{path} is not a valid results file (not a list of results)")
    for i, r in enumerate(results):
        missing = [f for f in FIELDS if f not in r] if isinstance(r, dict) else FIELDS
        if missing:
            raise CorruptResultsError(f"{path} is not a valid results file (entry {i} has no "
                                      f"{', '.join(missing)}: not a result of this course)")
    return results


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``<path>.lock`` (blocks while another process holds it).

    POSIX ``flock``; on Windows, which has no ``fcntl``, ``msvcrt.locking`` on the lock
    file's first byte (retried while another writer holds it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        try:
            import fcntl
        except ImportError:  # Windows
            yield from _locked_msvcrt(lock)
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _locked_msvcrt(lock):
    import msvcrt

    lock.seek(0)
    while True:
        try:
            msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)  # retries for 10 s, then raises
            break
        except OSError:
            continue
    try:
        yield
    finally:
        lock.seek(0)
        msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)


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


class ReferenceRun(dict):
    """A recorded full-mode run: ``date``, ``hardware``, ``source`` and ``results``
    (name -> {"value", "unit"}); empty when none is recorded."""

    def text(self, name: str, digits: int = 2) -> str:
        """One recorded result as text, such as "1.48 px", or "not recorded"."""
        entry = self.get("results", {}).get(name)
        if entry is None:
            return "not recorded"
        return f"{entry['value']:.{digits}f} {entry['unit']}".rstrip()

    def describe(self) -> str:
        """When and where the run was made, for the line printed beside quick results."""
        if not self:
            return "no full-mode reference run is recorded for this lesson"
        return f"full-mode reference run of {self['date']} on {self['hardware']}"


def reference_path(notebook: str, folder: Path | None = None) -> Path:
    """Where the recorded full-mode run of ``notebook`` is kept:
    ``course/reference/<notebook>_full.json`` of the project, or that name in ``folder``."""
    folder = Path(folder) if folder else config.PROJECT_ROOT / "course" / "reference"
    return folder / f"{notebook}_full.json"


def reference_run(notebook: str, folder: Path | None = None) -> ReferenceRun:
    """The recorded full-mode run of ``notebook`` (see :func:`reference_path`)."""
    path = reference_path(notebook, folder)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return ReferenceRun()
    except (OSError, ValueError) as err:
        raise ResultsFileError(f"cannot read the reference run {path}: {err}") from None
    missing = {"date", "hardware", "results"} - set(stored)
    if missing:
        raise ResultsFileError(f"the reference run {path} lacks {', '.join(sorted(missing))}")
    return ReferenceRun(stored)


def benchmark_entry(name: str, figure: str, value: float, unit: str = "",
                    goal: tuple[str, float] | None = None) -> dict:
    """One benchmark figure in the shared schema.

    name: the benchmark ("conv"); figure: what was measured ("im2col/TF forward, median");
    goal: an optional (comparison, threshold) such as (">=", 1000); ``met`` is then
    whether ``value`` satisfies it, else None. Hardware and date are added.
    """
    value = core.finite_number(f"benchmark {name}/{figure}", value)
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
    except ResultsFileError as err:
        print(f"error: {err}")
        return 1
    print(table(results) if results else "no results recorded yet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
