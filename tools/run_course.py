"""`make course`: run every notebook with papermill, render HTML, collect the results.

Full mode by default; QUICK=1 runs quick mode (QUICK=0 or empty: full; anything else
stops before running anything, exit code 2); NOTEBOOK=05 (or a list 01,03) runs
only those; BUILD_DIR moves build/ elsewhere. Executed notebooks go to build/executed/,
HTML to build/html/, results (recorded by the notebooks through dlcourse.report.record)
to build/results.json.

Every run has limits, so nothing hangs silently: CELL_TIMEOUT seconds per cell and
NOTEBOOK_TIMEOUT seconds per notebook (defaults 300 / 600 in quick mode; 4 h / 8 h in
full mode, where training a network on a busy CPU can take an hour). Cell outputs
stream into the log as they appear (papermill --log-output), so the log shows which
cell was running when a limit hit.
"""

import os
import sys
import time
from pathlib import Path

from dlcourse import config, report

from notebooks import ROOT, lesson_notebooks, run_with_deadline

BUILD = Path(os.environ.get("BUILD_DIR") or ROOT / "build")
BIN = Path(sys.executable).parent


def execute(notebook: Path, executed: Path, cell_limit: int, notebook_limit: float) -> str:
    """Run one notebook with papermill; returns "" on success, else why it failed."""
    command = [str(BIN / "papermill"), str(notebook), str(executed), "--cwd",
               str(notebook.parent), "--kernel", "python3", "--log-output", "--no-progress-bar",
               "--execution-timeout", str(cell_limit), "--start-timeout", "120"]
    code = run_with_deadline(command, notebook_limit)
    if code is None:
        return f"ran past its {notebook_limit:.0f} s limit and was stopped"
    return "" if code == 0 else f"papermill exited with {code} (the log above names the cell)"


def main() -> int:
    try:
        quick = config.switch("QUICK")
    except config.SettingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    selected = [n for n in os.environ.get("NOTEBOOK", "").split(",") if n]
    cell_limit = int(os.environ.get("CELL_TIMEOUT") or (300 if quick else 14400))
    notebook_limit = float(os.environ.get("NOTEBOOK_TIMEOUT") or (600 if quick else 28800))
    # The executed notebooks must carry their figures: a non-interactive backend inherited
    # from the caller (make test sets MPLBACKEND=Agg) would make plt.show() draw nothing.
    os.environ.pop("MPLBACKEND", None)
    # DLCOURSE_BATCH: nobody moves the sliders here, so each widget cell draws its figure once
    # (dlcourse.interact), and nbclient cannot hang on a widget (jupyter/nbclient#312).
    os.environ.update(DLCOURSE_QUICK="1" if quick else "0", DLCOURSE_STRICT="1", DLCOURSE_BATCH="1",
                      DLCOURSE_RESULTS=str(BUILD / "results.json"), TF_CPP_MIN_LOG_LEVEL="2")
    # The course's kernel (jupyter/kernels/python3), as in make lab: no library noise in outputs.
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(ROOT / "jupyter"),
                                                               os.environ.get("JUPYTER_PATH")]))
    (BUILD / "executed").mkdir(parents=True, exist_ok=True)
    failures = []
    for nb in lesson_notebooks(selected):
        executed = BUILD / "executed" / nb.name
        print(f"\n=== {nb.stem} ({'quick' if quick else 'full'} mode)", flush=True)
        start = time.perf_counter()
        problem = execute(nb, executed, cell_limit, notebook_limit)
        if problem:
            failures.append(nb.stem)
            print(f"!!! {nb.stem} {problem}", flush=True)
        print(f"    {time.perf_counter() - start:.0f} s", flush=True)
        if executed.exists():
            run_with_deadline([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--output-dir",
                               str(BUILD / "html"), str(executed)], 300)
    try:
        results = report.load(BUILD / "results.json")
        print("\n" + (report.table(results) if results else "no results recorded"))
    except report.ResultsFileError as err:  # a results file that cannot be read: one line
        print(f"\nresults not shown: {err}")
        failures.append("results.json")
    if failures:
        print(f"\nfailed: {', '.join(failures)} (see {BUILD}/executed/ and {BUILD}/html/)")
    site = run_with_deadline([sys.executable, str(ROOT / "tools" / "build_site.py")], 600)
    return 1 if failures or site != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
