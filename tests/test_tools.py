"""The course tooling: notebook sync check and the student-version generator."""

import subprocess

import jupytext
import nbformat
import pytest

from conftest import ROOT
from make_student import strip_solutions
from notebooks import sync_problems

EXERCISE = '''def f(x):
    """Doc."""
    # BEGIN SOLUTION
    # HINT: double it
    y = 2 * x
    return y
    # END SOLUTION

print(f)'''


def test_solution_replaced_by_stub_with_hint():
    source, count = strip_solutions(EXERCISE)
    assert count == 1
    assert "2 * x" not in source and "BEGIN" not in source
    assert "    raise NotImplementedError('double it')" in source
    namespace = {}
    exec(source.replace("print(f)", ""), namespace)
    with pytest.raises(NotImplementedError, match="double it"):
        namespace["f"](1)


def test_unclosed_solution_is_an_error():
    with pytest.raises(ValueError, match="no matching"):
        strip_solutions("# BEGIN SOLUTION\nx = 1")


SCRIPT = '''# %% [markdown]
# # Title

# %% tags=["parameters"]
import os
QUICK = os.environ.get("DLCOURSE_QUICK", "0") == "1"

# %%
print(1)
'''


def pair(tmp_path, script=SCRIPT):
    py = tmp_path / "99_demo.py"
    py.write_text(script)
    notebook = jupytext.read(py)
    nbformat.write(notebook, tmp_path / "99_demo.ipynb")
    return tmp_path / "99_demo.ipynb", notebook


def test_sync_check_accepts_a_clean_pair(tmp_path):
    ipynb, _ = pair(tmp_path)
    assert sync_problems(ipynb) == []


def test_sync_check_finds_outputs_and_drift(tmp_path):
    ipynb, notebook = pair(tmp_path)
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    notebook.cells[2].source = "print(2)"
    nbformat.write(notebook, ipynb)
    problems = " ".join(sync_problems(ipynb))
    assert "stored outputs" in problems and "differs from 99_demo.py" in problems


def test_sync_check_wants_a_parameters_cell_reading_quick(tmp_path):
    ipynb, _ = pair(tmp_path, SCRIPT.replace('tags=["parameters"]', ""))
    assert "no cell tagged `parameters`" in " ".join(sync_problems(ipynb))
    ipynb, _ = pair(tmp_path, SCRIPT.replace("DLCOURSE_QUICK", "OTHER"))
    assert "does not read DLCOURSE_QUICK" in " ".join(sync_problems(ipynb))


def test_second_make_does_not_reinstall():
    """The install stamp is newer than pyproject.toml, so `make install` has nothing to do."""
    result = subprocess.run(["make", "--question", "install"], cwd=ROOT)
    assert result.returncode == 0, "make would reinstall the environment (run `make install`)"
