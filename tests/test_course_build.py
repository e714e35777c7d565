"""`make course`: papermill run, HTML rendering and the results table."""

import json
import os
import subprocess
import sys
import time

import nbformat
import pytest

import run_course
from conftest import ROOT


@pytest.mark.slow
def test_course_build_of_one_notebook(tmp_path):
    # Limits below the test's own: a stalled cell is named in the log, not a silent hang.
    env = dict(os.environ, QUICK="1", NOTEBOOK="00", BUILD_DIR=str(tmp_path),
               CELL_TIMEOUT="120", NOTEBOOK_TIMEOUT="240")
    run = subprocess.run([sys.executable, "tools/run_course.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (tmp_path / "executed" / "00_setup.ipynb").exists()
    assert (tmp_path / "html" / "00_setup.html").stat().st_size > 10_000
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    matmul = [r for r in results if r["name"] == "CPU matmul float32"]
    assert matmul and matmul[0]["mode"] == "quick" and matmul[0]["value"] > 0
    assert "CPU matmul float32" in run.stdout and "GFLOP/s" in run.stdout
    executed = nbformat.read(tmp_path / "executed" / "00_setup.ipynb", as_version=4)
    figures = [o for c in executed.cells for o in c.get("outputs", [])
               if "image/png" in o.get("data", {})]
    assert figures, "the executed notebook carries no figure (plt.show drew nothing)"
    # the timing widget's cell printed its result once instead of opening a widget
    widget_cell = next(c for c in executed.cells if "interact.show(" in c.source)
    kinds = [k for o in widget_cell.outputs for k in o.get("data", {})]
    assert any("GFLOP/s" in o.get("text", "") for o in widget_cell.outputs), widget_cell.outputs
    assert "application/vnd.jupyter.widget-view+json" not in kinds


@pytest.mark.slow  # seconds: starts a kernel and waits out a cell time limit
def test_a_stalled_cell_is_stopped_and_named(tmp_path):
    """A cell that never finishes ends the run at the cell limit, kernel and all."""
    course = tmp_path / "course"
    course.mkdir()
    stalled = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nQUICK = os.environ.get('DLCOURSE_QUICK') == '1'",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('about to stall', flush=True)\nimport time\n"
                                  "time.sleep(600)")])
    nbformat.write(stalled, course / "99_stall.ipynb")
    started = time.monotonic()
    problem = run_course.execute(course / "99_stall.ipynb", tmp_path / "out.ipynb",
                                 cell_limit=5, notebook_limit=120)
    assert problem and time.monotonic() - started < 90
    assert "about to stall" in (tmp_path / "out.ipynb").read_text()
