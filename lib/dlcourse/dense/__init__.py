"""Dense layers as convolutions, and memory-aware array tricks (lesson 03).

- ``dense_conv``: Dense weights <-> HWIO conv kernels, kernel flipping, one dense
  layer on every tile, which input pixels feed an output (receptive fields).
- ``capsules``: capsule predictions ``W[i, j] @ u[b, i]`` four ways, and their peak memory.
- ``windows``: sliding windows over a time series as a strided view, with labels.
- ``plots``: the lesson's figures (:func:`plot_receptive_field`).

Output sizes come from :func:`dlcourse.core.output_size`.
"""

from .capsules import (
    CAPSULE_METHODS,
    check_capsule_shapes,
    intermediate_nbytes,
    peak_memory,
    predict_broadcast,
    predict_broadcast_matmul,
    predict_einsum,
    predict_tiled,
    random_capsules,
)
from .dense_conv import (
    PATCH_LAYOUTS,
    conv_kernel_to_dense,
    coverage,
    dense_to_conv_kernel,
    flip_spatial,
    receptive_field,
    tile_dense,
)
from .plots import plot_receptive_field
from .windows import batches, buffer_nbytes, sliding_windows, window_labels, windows_and_labels

__all__ = [
    "CAPSULE_METHODS", "PATCH_LAYOUTS", "batches", "buffer_nbytes", "check_capsule_shapes",
    "conv_kernel_to_dense", "coverage", "dense_to_conv_kernel", "flip_spatial",
    "intermediate_nbytes", "peak_memory", "plot_receptive_field", "predict_broadcast",
    "predict_broadcast_matmul", "predict_einsum", "predict_tiled", "random_capsules",
    "receptive_field", "sliding_windows", "tile_dense", "window_labels", "windows_and_labels",
]
