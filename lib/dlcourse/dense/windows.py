"""Sliding windows over a time series as a strided view, with labels aligned to the last step.

A series of shape ``(T, C)`` gives ``T - width + 1`` windows of shape ``(width, C)``
at stride 1. Copying them costs ``width`` times the memory of the series; a
strided *view* shares the series' buffer and costs nothing. Window ``i`` covers
steps ``i*stride … i*stride + width - 1``; its label is the label of its last step.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core import validate


def _check_window(length: int, width: int, stride: int) -> None:
    width, stride = validate.count("width", width), validate.count("stride", stride)
    if width > length:
        raise ValueError(f"a window of {width} steps does not fit in a series of {length} steps")


def sliding_windows(series: np.ndarray, width: int, stride: int = 1) -> np.ndarray:
    """Read-only view of shape ``(n_windows, width, C)`` over ``series`` of shape ``(T, C)``.

    ``n_windows = (T - width) // stride + 1``; ``view[i] == series[i*stride : i*stride + width]``.
    A 1-D series of shape ``(T,)`` gives windows of shape ``(n_windows, width)``.
    No data is copied: ``np.shares_memory(view, series)`` is True.
    """
    series = np.asarray(series)
    if series.ndim not in (1, 2):
        raise ValueError(f"series must have shape (T,) or (T, C), got {series.shape}")
    _check_window(len(series), width, stride)
    view = sliding_window_view(series, width, axis=0)[::stride]
    # sliding_window_view puts the window axis last: (n, C, width) -> (n, width, C)
    return view if series.ndim == 1 else view.transpose(0, 2, 1)


def window_labels(labels: np.ndarray, width: int, stride: int = 1) -> np.ndarray:
    """The label of each window's last step: ``labels[i*stride + width - 1]``, as a view."""
    labels = np.asarray(labels)
    if labels.ndim < 1:
        raise ValueError("labels must have one entry per time step, got a scalar")
    _check_window(len(labels), width, stride)
    return labels[width - 1::stride]


def windows_and_labels(series: np.ndarray, labels: np.ndarray, width: int,
                       stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(sliding_windows(series, …), window_labels(labels, …))`` with matching lengths."""
    series, labels = np.asarray(series), np.asarray(labels)
    if len(series) != len(labels):
        raise ValueError(f"series has {len(series)} steps but labels has {len(labels)}; "
                         "give one label per time step")
    x, y = sliding_windows(series, width, stride), window_labels(labels, width, stride)
    assert len(x) == len(y), (x.shape, y.shape)
    return x, y


def buffer_nbytes(array: np.ndarray) -> int:
    """Bytes of memory an array really holds: its base buffer's size, not its logical size.

    ``view.nbytes`` reports ``view.size * itemsize`` even when the view owns nothing;
    this follows ``.base`` (through NumPy's stride-trick wrappers) to the array
    that owns the data.
    """
    owner = np.asarray(array)
    link = owner.base
    while link is not None:
        if isinstance(link, np.ndarray):
            owner = link
        link = getattr(link, "base", None)
    return owner.nbytes


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None = None):
    """Yield ``(x_batch, y_batch)`` copies of ``batch_size`` rows; shuffled when ``seed`` is given.

    Only one batch is copied at a time, so windows stay a view until they are used.
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    batch_size = validate.count("batch_size", batch_size)
    seed = validate.seed("seed", seed, allow_none=True)
    order = np.arange(len(x)) if seed is None else np.random.default_rng(seed).permutation(len(x))
    for start in range(0, len(x), batch_size):
        rows = order[start:start + batch_size]
        yield x[rows], y[rows]
