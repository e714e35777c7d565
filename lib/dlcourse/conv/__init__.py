"""2-D convolution from scratch (lessons 01 and 02): three methods, backward pass, benchmarks.

- ``methods``: :func:`conv2d`, :func:`conv2d_backward`, :func:`im2col`, the
  per-method kernels in ``FORWARD`` / ``BACKWARD`` (``forward_naive`` … to print
  their source), :func:`geometry` and :func:`conv2d_flops`.
- ``bench``: timing every method against TensorFlow the same way in the lesson
  and in ``benchmarks/conv.py`` (:func:`time_conv`; :func:`compare_with_tf`, which
  interleaves im2col, TensorFlow and ``np.matmul`` and reports median ratios).
- ``plots``: the lesson's figures (:func:`draw_sliding_window`), loaded on first use so
  that importing the arithmetic does not import matplotlib.

Output sizes and padding come from :mod:`dlcourse.core`.
"""

import importlib

from .bench import (
    TIMED_METHODS,
    Ratio,
    Timing,
    compare_with_tf,
    im2col_matmul_shapes,
    interleaved_times,
    ratio,
    relative_max_error,
    tf_functions,
    tf_padding,
    time_conv,
)
from .methods import (
    BACKWARD,
    BLOCK_BYTES,
    FORWARD,
    METHODS,
    backward_im2col,
    backward_naive,
    backward_vectorized,
    conv2d,
    conv2d_backward,
    conv2d_flops,
    forward_im2col,
    forward_naive,
    forward_vectorized,
    geometry,
    im2col,
)

__all__ = [
    "BACKWARD", "BLOCK_BYTES", "FORWARD", "METHODS", "Ratio", "TIMED_METHODS", "Timing",
    "backward_im2col", "compare_with_tf", "im2col_matmul_shapes", "interleaved_times", "ratio",
    "backward_naive", "backward_vectorized", "conv2d", "conv2d_backward", "conv2d_flops",
    "draw_sliding_window", "forward_im2col", "forward_naive", "forward_vectorized", "geometry",
    "im2col", "relative_max_error", "tf_functions", "tf_padding", "time_conv", "window_geometry",
]

FIGURES = ("draw_sliding_window", "window_geometry")  # in .plots, which imports matplotlib


def __getattr__(name: str):
    if name not in FIGURES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".plots", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
