"""Timing the conv2d implementations against TensorFlow, the same way everywhere.

Shared by ``benchmarks/conv.py`` and lesson 01. Every timed call is also checked
against TensorFlow, so a fast wrong answer cannot win.

- :func:`time_conv`: one timing per method and direction (the naive method can be
  timed on the first few images and filters only; its time grows linearly with
  both, its two outer loops, so the full time is the measured one times
  (N / images) · (O / filters), and the result says it was scaled).
- :func:`compare_with_tf`: im2col against ``tf.nn.conv2d`` and against ``np.matmul``
  on the very matrix shapes im2col multiplies, *interleaved*: every round times each
  contender once, in a rotating order, so a slow spell of a shared machine hits all
  of them instead of whichever ran then; ratios are taken per round and reported as
  the median and the range (:class:`Ratio`).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import timing
from ..core import shapes, validate
from .methods import METHODS, conv2d, conv2d_backward, conv2d_flops, geometry

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
              naive_items=None, naive_filters=None, repeat=3, device="/CPU:0",
              clock: Callable[[], float] = time.perf_counter):
    """Time each method on ``conv2d(x, w, stride, padding)`` (and its backward pass).

    x: (N, H, W, C) NHWC, w: (kh, kw, C, O) HWIO. naive_items / naive_filters: run
    "naive" on only the first images / filters and scale its time by N / items and
    O / filters (its two outer loops; None: all of them).
    clock: as in :func:`dlcourse.timing.best_time`.
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
                                       min_seconds=0 if naive else 0.05, clock=clock)
            error = 0.0 if method == "tf" else relative_max_error(last["out"], tf_call())
            scale = (n / items) * (n_out / filters)
            results.append(Timing(method, direction, seconds * scale, items, n, error,
                                  filters, n_out))
    return results


def _bind(fn, *args, **kwargs):
    return lambda: fn(*args, **kwargs)


# --------------------------------------------------------------------------- interleaved


@dataclass(frozen=True)
class Ratio:
    """A ratio measured once per round: its median and its range over the rounds."""

    median: float
    low: float
    high: float
    rounds: int

    def __str__(self) -> str:
        return f"{self.median:.3g} (range {self.low:.3g}–{self.high:.3g}, {self.rounds} rounds)"


def ratio(numerator, denominator) -> Ratio:
    """Per-round ``numerator / denominator`` (arrays of one length) as a :class:`Ratio`."""
    per_round = np.asarray(numerator, dtype=float) / np.asarray(denominator, dtype=float)
    return Ratio(float(np.median(per_round)), float(per_round.min()), float(per_round.max()),
                 per_round.size)


def interleaved_times(contenders: dict[str, Callable[[], object]], rounds: int = 7,
                      min_seconds: float = 0.02,
                      clock: Callable[[], float] = time.perf_counter) -> dict[str, np.ndarray]:
    """Seconds per call of every contender in every round: name -> array of shape (rounds,).

    Each contender is called once first (tracing, caches). Then each round times
    every contender once (calls repeated to last ``min_seconds``), round r starting
    with contender r (mod the count), so no contender always runs first or last.
    clock: see :func:`dlcourse.timing.best_time` (``time.process_time`` suits
    single-threaded contenders on a shared machine).
    """
    rounds = validate.count("rounds", rounds)
    names = list(contenders)
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        start = r % len(names)
        for name in names[start:] + names[:start]:
            times[name].append(timing.best_time(contenders[name], repeat=1,
                                                min_seconds=min_seconds, warmup=0, clock=clock))
    return {name: np.array(t) for name, t in times.items()}


def im2col_matmul_shapes(x_shape, w_shape, stride=1, padding="VALID"):
    """Shapes of the one product im2col computes: ``((N·OH·OW, kh·kw·C), (kh·kw·C, O))``."""
    _, _, (oh, ow) = geometry(x_shape, w_shape, stride, padding)
    kh, kw, c, o = w_shape
    return (x_shape[0] * oh * ow, kh * kw * c), (kh * kw * c, o)


def compare_with_tf(x, w, stride=1, padding="VALID", rounds: int = 7, min_seconds: float = 0.02,
                    square: int = 1024, device="/CPU:0",
                    clock: Callable[[], float] = time.perf_counter) -> dict:
    """im2col vs ``tf.nn.conv2d`` (forward and backward) vs ``np.matmul``, interleaved.

    x: (N, H, W, C), w: (kh, kw, C, O). The matmul contenders are im2col's own product
    (:func:`im2col_matmul_shapes`) and a ``square`` × ``square`` one. Returns a dict:
    "seconds" (name -> per-round seconds), "gflops" (name -> median GFLOP/s),
    "ratios" with :class:`Ratio` values "im2col/tf forward", "im2col/tf backward" and
    "im2col/matmul GFLOP/s" (im2col's forward rate over the faster product's rate of
    the same round), and "max_error" (im2col against TensorFlow, relative).
    clock: as in :func:`interleaved_times`.
    """
    import tensorflow as tf

    x, w = np.asarray(x), np.asarray(w)
    tf_forward, tf_backward = tf_functions(stride, padding, device)
    xt, wt = tf.constant(x), tf.constant(w)
    reference = tf_forward(xt, wt).numpy()
    dout = np.random.default_rng(0).standard_normal(reference.shape).astype(x.dtype)
    doutt = tf.constant(dout)
    a_shape, b_shape = im2col_matmul_shapes(x.shape, w.shape, stride, padding)
    rng = np.random.default_rng(1)
    a = rng.standard_normal(a_shape).astype(x.dtype)
    b = rng.standard_normal(b_shape).astype(x.dtype)
    product = np.empty((a_shape[0], b_shape[1]), x.dtype)
    sq = rng.standard_normal((square, square)).astype(x.dtype)
    error = max(relative_max_error(conv2d(x, w, stride=stride, padding=padding), reference),
                relative_max_error(conv2d_backward(dout, x, w, stride, padding),
                                   tuple(t.numpy() for t in tf_backward(doutt, xt, wt))))
    contenders = {
        "im2col forward": lambda: conv2d(x, w, stride=stride, padding=padding),
        "tf forward": lambda: tf_forward(xt, wt).numpy(),
        "im2col backward": lambda: conv2d_backward(dout, x, w, stride, padding),
        "tf backward": lambda: [t.numpy() for t in tf_backward(doutt, xt, wt)],
        "matmul (same shape)": lambda: np.matmul(a, b, out=product),
        "matmul (square)": lambda: sq @ sq,
    }
    seconds = interleaved_times(contenders, rounds, min_seconds, clock)
    flops = conv2d_flops(x.shape, w.shape, stride, padding)
    flop_counts = {"im2col forward": flops, "tf forward": flops, "im2col backward": 2 * flops,
                   "tf backward": 2 * flops, "matmul (same shape)": flops,
                   "matmul (square)": timing.matmul_flops(square, square, square)}
    rates = {name: flop_counts[name] / t / 1e9 for name, t in seconds.items()}
    fastest_product = np.maximum(rates["matmul (same shape)"], rates["matmul (square)"])
    return {
        "seconds": seconds,
        "gflops": {name: float(np.median(r)) for name, r in rates.items()},
        "ratios": {
            "im2col/tf forward": ratio(seconds["im2col forward"], seconds["tf forward"]),
            "im2col/tf backward": ratio(seconds["im2col backward"], seconds["tf backward"]),
            "im2col/matmul GFLOP/s": ratio(rates["im2col forward"], fastest_product),
        },
        "max_error": error,
        "matmul_shapes": (a_shape, b_shape),
    }
