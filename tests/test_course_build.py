"""`make course`: papermill run, HTML rendering and the results table."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_course_build_of_one_notebook(tmp_path):
    env = dict(os.environ, QUICK="1", NOTEBOOK="00", BUILD_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "tools/run_course.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (tmp_path / "executed" / "00_setup.ipynb").exists()
    assert (tmp_path / "html" / "00_setup.html").stat().st_size > 10_000
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    matmul = [r for r in results if r["name"] == "CPU matmul float32"]
    assert matmul and matmul[0]["mode"] == "quick" and matmul[0]["value"] > 0
    assert "CPU matmul float32" in run.stdout and "GFLOP/s" in run.stdout
