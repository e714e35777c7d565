"""Timing the conv2d implementations against TensorFlow, the same way everywhere.

Shared by ``benchmarks/conv.py`` and lesson 01. Every timed call is also checked
against TensorFlow, so a fast wrong answer cannot win. The naive method can be
timed on the first few images and filters only; its time grows linearly with
both (its two outer loops), so the full time is the measured one times
(N / images) · (O / filters), and the result says it was scaled.
"""

from dataclasses import dataclass

import numpy as np

from .. import timing
from ..core import shapes
from .methods import METHODS, conv2d, conv2d_backward

TIMED_METHODS = (*METHODS, "tf")


@dataclass
class Timing:
    """Seconds for one call on the whole batch of one method in one direction."""

    method: str
    direction: str          # "forward" or "backward"
    seconds: float
    items_timed: int        # batch items actually run (fewer than the batch when scaled)
    batch: int
    max_error: float        # largest |difference| from TensorFlow / largest |TF value|
    filters_timed: int = 0  # filters actually run (fewer than all when scaled)
    filters: int = 0

    @property
    def scaled(self) -> bool:
        return self.items_timed < self.batch or self.filters_timed < self.filters

    def describe_scaling(self) -> str:
        """'' when the whole layer was run, else what part of it was timed."""
        if not self.scaled:
            return ""
        return (f"timed on {self.items_timed} of {self.batch} images and {self.filters_timed} of "
                f"{self.filters} filters, scaled")


def tf_padding(padding):
    """conv2d's padding (a name, an int or per-axis amounts) in the form tf.nn.conv2d takes.

    "VALID"/"SAME" stay names; explicit amounts become
    ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` (NHWC).
    """
    padding = shapes.normalize_padding(padding)
    if isinstance(padding, str):
        return padding
    (top, bottom), (left, right) = padding
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def tf_functions(stride, padding, device="/CPU:0"):
    """Compiled TensorFlow forward ``f(x, w)`` and backward ``g(dout, x, w) -> (dx, dw, db)``.

    Backward calls the two ops TensorFlow's gradient of Conv2D uses
    (Conv2DBackpropInput and Conv2DBackpropFilter), so it does not rerun the forward.
    """
    import tensorflow as tf

    sh, sw = shapes.pair(stride, "stride")
    strides = [1, sh, sw, 1]
    tf_pad = tf_padding(padding)
    if isinstance(tf_pad, str):
        pad_kw = {"padding": tf_pad}
    else:
        pad_kw = {"padding": "EXPLICIT", "explicit_paddings": [a for p in tf_pad for a in p]}

    @tf.function
    def forward(x, w):
        with tf.device(device):
            return tf.nn.conv2d(x, w, (sh, sw), tf_pad)

    @tf.function
    def backward(dout, x, w):
        with tf.device(device):
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=w,
                                                out_backprop=dout, strides=strides, **pad_kw)
            dw = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(w),
                                                 out_backprop=dout, strides=strides, **pad_kw)
            return dx, dw, tf.reduce_sum(dout, axis=(0, 1, 2))

    return forward, backward


def relative_max_error(got, ref) -> float:
    """Largest |got - ref| relative to the largest |ref| (of each array of a tuple)."""
    if isinstance(got, tuple):
        return max(relative_max_error(g, r) for g, r in zip(got, ref, strict=True))
    ref = np.asarray(ref)
    return float(np.max(np.abs(np.asarray(got) - ref)) / max(np.max(np.abs(ref)), 1e-30))


def time_conv(x, w, stride=1, padding="VALID", methods=TIMED_METHODS, directions=("forward",),
              naive_items=None, naive_filters=None, repeat=3, device="/CPU:0"):
    """Time each method on ``conv2d(x, w, stride, padding)`` (and its backward pass).

    x: (N, H, W, C) NHWC, w: (kh, kw, C, O) HWIO. naive_items / naive_filters: run
    "naive" on only the first images / filters and scale its time by N / items and
    O / filters (its two outer loops; None: all of them).
    Returns a list of :class:`Timing`, each checked against TensorFlow on the same subset.
    """
    import tensorflow as tf

    tf_forward, tf_backward = tf_functions(stride, padding, device)
    n, n_out = x.shape[0], w.shape[3]
    out_shape = tf_forward(tf.constant(x[:1]), tf.constant(w)).shape[1:]
    dout = np.random.default_rng(0).standard_normal((n, *out_shape)).astype(x.dtype)
    results = []
    for direction in directions:
        for method in methods:
            naive = method == "naive"
            items = min(n, naive_items or n) if naive else n
            filters = min(n_out, naive_filters or n_out) if naive else n_out
            xs, ws, douts = x[:items], w[..., :filters], dout[:items, ..., :filters]
            xt, wt, doutt = tf.constant(xs), tf.constant(ws), tf.constant(douts)
            if direction == "forward":
                tf_call = _bind(lambda *a: tf_forward(*a).numpy(), xt, wt)
                call = _bind(conv2d, xs, ws, stride=stride, padding=padding, method=method)
            else:
                tf_call = _bind(lambda *a: tuple(t.numpy() for t in tf_backward(*a)),
                                doutt, xt, wt)
                call = _bind(conv2d_backward, douts, xs, ws, stride, padding, method=method)
            if method == "tf":
                call = tf_call
            last = {}
            seconds = timing.best_time(lambda call=call, last=last: last.update(out=call()),
                                       repeat=1 if naive else repeat, warmup=0 if naive else 1,
                                       min_seconds=0 if naive else 0.05)
            error = 0.0 if method == "tf" else relative_max_error(last["out"], tf_call())
            scale = (n / items) * (n_out / filters)
            results.append(Timing(method, direction, seconds * scale, items, n, error,
                                  filters, n_out))
    return results


def _bind(fn, *args, **kwargs):
    return lambda: fn(*args, **kwargs)
