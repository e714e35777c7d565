"""`make course`: run every notebook with papermill, render HTML, collect the results.

Full mode by default; QUICK=1 runs quick mode; NOTEBOOK=05 (or a list 01,03) runs
only those; BUILD_DIR moves build/ elsewhere. Executed notebooks go to build/executed/,
HTML to build/html/, results (recorded by the notebooks through dlcourse.report.record)
to build/results.json.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import papermill

from dlcourse import report

from notebooks import ROOT, lesson_notebooks

BUILD = Path(os.environ.get("BUILD_DIR", ROOT / "build"))


def main() -> int:
    quick = os.environ.get("QUICK", "0") == "1"
    selected = [n for n in os.environ.get("NOTEBOOK", "").split(",") if n]
    os.environ.update(DLCOURSE_QUICK="1" if quick else "0", DLCOURSE_STRICT="1",
                      DLCOURSE_RESULTS=str(BUILD / "results.json"), TF_CPP_MIN_LOG_LEVEL="2")
    (BUILD / "executed").mkdir(parents=True, exist_ok=True)
    failures = []
    for nb in lesson_notebooks(selected):
        executed = BUILD / "executed" / nb.name
        print(f"\n=== {nb.stem} ({'quick' if quick else 'full'} mode)", flush=True)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(str(nb), str(executed), cwd=str(nb.parent),
                                       kernel_name="python3", progress_bar=True)
        except papermill.PapermillExecutionError as err:
            failures.append(nb.stem)
            print(f"!!! {nb.stem} failed in cell {err.exec_count}: {err.ename}: {err.evalue}")
        print(f"    {time.perf_counter() - start:.0f} s", flush=True)
        subprocess.run([str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to",
                        "html", "--output-dir", str(BUILD / "html"), str(executed)], check=True)
    results = report.load(BUILD / "results.json")
    print("\n" + (report.table(results) if results else "no results recorded"))
    if failures:
        print(f"\nfailed: {', '.join(failures)} (see build/executed/ and build/html/)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
