"""`make install` puts the course's kernel (jupyter/kernels/python3) into .venv.

So every front end that starts the `python3` kernel from .venv (jupyter lab or nbconvert run
by hand, VS Code) keeps TensorFlow's start-up lines out of the notebooks, with no
JUPYTER_PATH set, as make lab and make course do.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

JUPYTER = Path(sys.executable).parent / "jupyter"
COURSE_KERNEL = ROOT / "jupyter" / "kernels" / "python3"
# What TensorFlow writes to file descriptor 2 before its logging starts.
START_UP_LINES = ("absl::InitializeLog", "oneDNN", "cuInit", "cuda drivers", "cudart_stub")


def without_jupyter_path() -> dict:
    """The environment of a learner's shell: no JUPYTER_PATH, no PYTEST_CURRENT_TEST (under
    which ipykernel never captures file descriptor 2, hiding the lines checked for), and no
    choice of TensorFlow's oneDNN kernels (the course kernel's default is checked)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("JUPYTER_PATH", "PYTEST_CURRENT_TEST", "TF_ENABLE_ONEDNN_OPTS")}


@pytest.mark.slow  # about a second or more: starts a kernel
def test_the_python3_kernel_of_the_venv_is_the_courses():
    listing = subprocess.run([str(JUPYTER), "kernelspec", "list", "--json"], capture_output=True,
                             text=True, env=without_jupyter_path(), timeout=60, check=True)
    found = Path(json.loads(listing.stdout)["kernelspecs"]["python3"]["resource_dir"])
    assert found.is_relative_to(sys.prefix), f"python3 comes from {found}, not from .venv"
    for name in ("kernel.json", "startup.py"):
        assert (found / name).is_file(), f"{found} has no {name}: run make install"
        assert (found / name).read_text() == (COURSE_KERNEL / name).read_text(), (
            f"{found / name} is not the course's: run make install")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_nbconvert_from_the_venv_shows_no_tensorflow_start_up_line_and_uses_onednn(tmp_path):
    notebook = tmp_path / "tf.ipynb"
    # A Keras layer on a tensor, as lessons 04-08 do; the pause lets ipykernel's capture of
    # file descriptor 2 (when on) deliver the start-up lines before the cell ends. The kernel's
    # startup.py turns oneDNN on even where TensorFlow would not (CPUs without AVX-512 VNNI);
    # TensorFlow's own answer is asked, through the one place it keeps it.
    code = ("import time\nimport tensorflow as tf\n"
            "from tensorflow.python.util import _pywrap_util_port\n"
            "layer = tf.keras.layers.Dense(2)\n"
            "print(layer(tf.ones((1, 3))).shape, 'kernels', _pywrap_util_port.IsMklEnabled())\n"
            "time.sleep(2)")
    nbformat.write(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}}), notebook)
    subprocess.run([str(JUPYTER), "nbconvert", "--to", "notebook", "--execute", "--inplace",
                    str(notebook)], env=without_jupyter_path(), capture_output=True, text=True,
                   timeout=240, check=True)
    outputs = nbformat.read(notebook, as_version=4).cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert text.strip() == "(1, 2) kernels True", text
    assert not [line for line in START_UP_LINES if line in text], text
