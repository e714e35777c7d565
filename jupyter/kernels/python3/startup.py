"""Run by the course kernel before the first cell (kernel.json: IPKernelApp.exec_files).

Keeps library noise out of the learner's outputs, in the kernel rather than in every
notebook. TensorFlow's C++ start-up lines (absl, oneDNN, "cuInit failed") are written
straight to file descriptor 2; kernel.json turns off ipykernel's capture of that
descriptor, so they go to the terminal that runs JupyterLab instead of the notebook.
Here: the same level for TensorFlow's own logging (in case the kernel was started
without kernel.json's environment), and Python warnings that dependencies raise about
their own internals (a learner cannot act on them). Warnings caused by the learner's
code still show.

It also turns on TensorFlow's oneDNN kernels on every x86 CPU. TensorFlow turns them on by
itself only on CPUs with AVX-512 VNNI, AVX-VNNI or AMX; elsewhere (AVX2-only CPUs) the
convolutions' backward passes fall back to kernels that take about twice the CPU time, and a
lesson's numbers would differ in their last digits from one learner's machine to the next.
A value the learner set (TF_ENABLE_ONEDNN_OPTS=0) is kept.
"""

import os as _os
import warnings as _warnings

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # read when TensorFlow is first imported
_LIBRARIES = r"(tensorflow|keras|tf_keras|absl|google|h5py|ml_dtypes|jupyter_client|ipykernel)"
for _category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
    _warnings.filterwarnings("ignore", category=_category, module=_LIBRARIES + r"(\.|$)")
del _os, _warnings, _LIBRARIES, _category
