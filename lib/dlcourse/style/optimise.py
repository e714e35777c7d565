"""Optimise an image's pixels so its VGG features match a content photo and a painting.

The image is a variable ``(1, H, W, 3)``, RGB, 0-255 (kept in that range by
clipping for Adam and by bounds for L-BFGS). One *gradient evaluation* is one
forward and backward pass through VGG; both optimisers are counted in those
units, so their loss histories compare on an equal budget.

Loss (Gatys et al. 2016)::

    L = α Σ_content-layers ½ Σ (F − P)²  +  β Σ_l w_l Σ (G(F) − G(S))² / (4 N_l² M_l²)
        + tv_weight · TV(x)
"""

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
from scipy import optimize
from tqdm.auto import tqdm

from .. import core
from . import images, losses, vgg

OPTIMIZERS = ("adam", "lbfgs")
INITS = ("noise", "content")
# init="noise": Gaussian white noise (independent per pixel and channel) around mid-grey.
NOISE_MEAN, NOISE_STD = 127.5, 40.0


class _BudgetSpent(Exception):
    """Raised inside the L-BFGS objective to stop SciPy after the last allowed evaluation."""


def _check_sides(layers, net: str, **named_images) -> None:
    """ValueError, before TensorFlow runs, when an image ``(H, W, 3)`` is too small to reach
    the deepest of ``layers`` (see :func:`~dlcourse.style.vgg.min_side`)."""
    need, deepest = vgg.min_side(layers, net)
    for what, image in named_images.items():
        if image is not None and min(image.shape[:2]) < need:
            h, w = image.shape[:2]
            raise ValueError(f"the {what} image is {h}×{w} px; style transfer through {deepest} "
                             f"needs at least {need}×{need}")


def _prepare_images(content, style, size):
    """(content (s, s, 3) or None, style (h, w, 3) or None, output shape (H, W))."""
    if content is not None:
        content = images.as_rgb(content, "content")
        if size:
            content = images.resize(images.center_square(content), (size, size))
        shape = content.shape[:2]
    elif size is None:
        raise ValueError("without a content image, give size= for the image to generate")
    else:
        shape = (size, size)
    if style is not None:
        style = images.as_rgb(style, "style")
        if size:
            style = images.fit_shorter_side(style, size)
    return content, style, shape


def initial_image(init="noise", content=None, shape=None, seed: int = 0) -> np.ndarray:
    """The image a transfer starts from, ``(H, W, 3)`` float32 0-255.

    init: ``"noise"`` (Gaussian, mean ``NOISE_MEAN``, standard deviation ``NOISE_STD``,
    clipped to 0-255, from ``seed``), ``"content"`` (a copy of ``content``) or an image
    of ``shape`` (H, W); shape defaults to the content image's.
    """
    if shape is None:
        if content is None:
            raise ValueError("give the content image or the shape (H, W) of the image")
        shape = np.shape(content)[:2]
    if isinstance(init, str):
        if core.choice("init (when not an image)", init, INITS) == "noise":
            rng = np.random.default_rng(seed)
            noise = NOISE_MEAN + NOISE_STD * rng.standard_normal((*shape, 3))
            return np.clip(noise, 0, 255).astype(np.float32)
        if content is None:
            raise ValueError("init='content' needs a content image")
        return content.copy()
    start = images.as_rgb(init, "init")
    if start.shape[:2] != tuple(shape):
        raise ValueError(f"init has shape {start.shape}, the image to generate is {(*shape, 3)}")
    return start


def make_objective(extractor: vgg.FeatureExtractor, content=None, style=None, *,
                   alpha: float = 1e-3, beta: float = 1.0,
                   content_layers: Sequence[str] = vgg.CONTENT_LAYERS,
                   style_layers: Sequence[str] = vgg.STYLE_LAYERS, style_weights=None,
                   tv_weight: float = 0.0, content_loss_fn: Callable = losses.content_loss,
                   layer_style_loss_fn: Callable = losses.layer_style_loss) -> Callable:
    """A function ``x (1, H, W, 3) -> (total, content, style, tv, gradient)``.

    extractor: a :class:`~dlcourse.style.vgg.FeatureExtractor` holding every content
    and style layer. content / style: RGB 0-255 images (either may be None: then
    its term is left out). The weighted parts are returned: ``α·L_content``,
    ``β·L_style``, ``tv_weight·TV``. The targets and weights are arguments of one
    ``tf.function`` per extractor and choice of layers, so a new photo, painting or
    weight reuses the traced VGG gradient instead of tracing it again
    (``objective.trace_count()`` says how often that function was traced).
    content_loss_fn (F, P) and layer_style_loss_fn (F, S) replace the package's
    :func:`~dlcourse.style.content_loss` and :func:`~dlcourse.style.layer_style_loss`
    (a learner's own, say); each gets feature maps ``(1, h, w, C)`` as tensors and must
    return a scalar tensor that TensorFlow can differentiate.
    Raises ValueError for a NaN or infinite pixel, or an image too small to reach the
    extractor's deepest layer; TypeError/ValueError for a loss function that fails on
    tensors, returns no gradient or no scalar (its NotImplementedError passes through).
    """
    for name, fn in (("content_loss_fn", content_loss_fn),
                     ("layer_style_loss_fn", layer_style_loss_fn)):
        _check_loss_fn(name, fn)
    content_layers = tuple(content_layers) if content is not None else ()
    style_layers = tuple(style_layers) if style is not None else ()
    missing = [n for n in (*content_layers, *style_layers) if n not in extractor.requested]
    if missing:
        raise ValueError(f"the extractor lacks the layers {missing}; it has {extractor.requested}")
    content = None if content is None else images.as_rgb(content, "content")
    style = None if style is None else images.as_rgb(style, "style")
    _check_sides(extractor.layers, extractor.net, content=content, style=style)
    content_targets = {}
    if content_layers:
        feats = extractor(content)
        content_targets = {n: tf.constant(feats[n]) for n in content_layers}
    style_targets = {}
    if style_layers:
        feats = extractor(style)
        style_targets = {n: tf.constant(feats[n]) for n in style_layers}
        # by name: a tf.function hands dictionaries over with their keys sorted
        style_weights = {n: tf.constant(float(w), tf.float32)
                         for n, w in losses.layer_weights(style_weights, style_layers).items()}
    traced = _traced_objective(extractor, content_layers, style_layers, bool(tv_weight),
                               content_loss_fn, layer_style_loss_fn)
    scalars = [tf.constant(float(v), tf.float32) for v in (alpha, beta, tv_weight)]

    def objective(x):
        return traced(x, content_targets, style_targets, style_weights, *scalars)

    objective.trace_count = traced.experimental_get_tracing_count
    return objective


def _check_loss_fn(name: str, fn) -> None:
    """TypeError/ValueError unless ``fn(F, P)`` on two small float32 feature-map tensors
    ``(1, 3, 4, 2)`` returns a scalar with a gradient with respect to F."""
    if fn in (losses.content_loss, losses.layer_style_loss):
        return
    if not callable(fn):
        raise TypeError(f"{name} must be a function (F, P) -> loss, got {type(fn).__name__}")
    grid = np.arange(24, dtype=np.float32).reshape(1, 3, 4, 2)
    f, p = tf.Variable(grid / 24), tf.constant(np.sqrt(grid))
    try:
        with tf.GradientTape() as tape:
            loss = fn(f, p)
        grad = tape.gradient(loss, f) if tf.is_tensor(loss) else None
    except NotImplementedError:  # an exercise not done yet: the caller says so in its words
        raise
    except Exception as err:  # the caller's code: its error becomes one line naming it
        raise TypeError(f"{name} failed on TensorFlow tensors ({type(err).__name__}: {err}); "
                        "write it with TensorFlow operations (tf.reshape, tf.matmul, "
                        "tf.reduce_sum)") from None
    if np.ndim(loss) != 0:
        raise ValueError(f"{name} must return one number, got shape {np.shape(loss)}")
    if grad is None:
        raise TypeError(f"{name} returned {type(loss).__name__} with no gradient: it left "
                        "TensorFlow (NumPy or float() inside?); write it with TensorFlow "
                        "operations (tf.reshape, tf.matmul, tf.reduce_sum)")


def _traced_objective(extractor, content_layers, style_layers, with_tv: bool,
                      content_loss_fn, layer_style_loss_fn):
    """The loss and its gradient, traced once per extractor, choice of layers and losses."""
    key = (content_layers, style_layers, with_tv, content_loss_fn, layer_style_loss_fn)
    if key not in extractor.objectives:
        zero = tf.constant(0.0)

        # one trace per image and target size: the losses need static shapes (M = h·w)
        @tf.function
        def objective(x, content_targets, style_targets, style_weights, alpha, beta, tv_weight):
            with tf.GradientTape() as tape:
                tape.watch(x)
                feats = extractor(x)
                c_term = zero
                if content_layers:
                    c_term = alpha * tf.add_n([content_loss_fn(feats[n], content_targets[n])
                                               for n in content_layers])
                s_term = zero
                if style_layers:
                    s_term = beta * losses.style_loss(feats, style_targets, style_weights,
                                                      layer_style_loss_fn)
                tv_term = tv_weight * losses.total_variation_loss(x) if with_tv else zero
                total = c_term + s_term + tv_term
            return total, c_term, s_term, tv_term, tape.gradient(total, x)

        extractor.objectives[key] = objective
    return extractor.objectives[key]


def transfer(content, style, steps: int = 200, alpha: float = 1e-3, beta: float = 1.0,
             optimizer: str = "adam", size: int | None = None, init="noise",
             callback: Callable | None = None, *, learning_rate: float = 5.0,
             content_layers: Sequence[str] = vgg.CONTENT_LAYERS,
             style_layers: Sequence[str] = vgg.STYLE_LAYERS, style_weights=None,
             tv_weight: float = 0.0, net: str = "vgg16", weights="imagenet",
             pooling: str = "max", normalize: bool = False,
             content_loss_fn: Callable = losses.content_loss,
             layer_style_loss_fn: Callable = losses.layer_style_loss,
             seed: int = 0, progress: bool = True, callback_every: int = 10):
    """Neural style transfer; returns ``(image (H, W, 3) uint8, history dict)``.

    content, style: RGB images ``(H, W, 3)``, 0-255 (either may be None: a
    reconstruction from the other alone). steps: the budget of gradient
    evaluations. alpha, beta: weights of content and style loss (the paper's
    ratio α/β is 1e-3). optimizer: ``"adam"`` (``learning_rate`` in 0-255 pixel
    units, one evaluation per step) or ``"lbfgs"`` (``scipy.optimize.minimize``,
    L-BFGS-B with bounds 0-255, on the flattened image with TensorFlow gradients;
    stopped after exactly ``steps`` evaluations). size: content centre-cropped and
    resized to ``size × size``, style resized to shorter side ``size`` (None: as given).
    init: ``"noise"`` (white Gaussian noise, mean 127.5, standard deviation 40, clipped
    to 0-255, from ``seed``), ``"content"`` or an image.
    callback(evaluation, image uint8, losses dict) every ``callback_every`` evaluations.
    net, weights, pooling, normalize: the network (see
    :func:`~dlcourse.style.feature_extractor`). content_loss_fn, layer_style_loss_fn:
    the losses, the package's unless others are given (see :func:`make_objective`).

    history: numpy arrays ``total``, ``content``, ``style``, ``tv`` (weighted, one
    entry per gradient evaluation, at the evaluated image), ``best`` (running
    minimum of ``total``), ``seconds`` (since the start), plus ``description``
    (network and weights) and ``optimizer``.
    """
    if content is None and style is None:
        raise ValueError("give a content image, a style image, or both")
    steps = core.count("steps", steps)
    optimizer = core.choice("optimizer", optimizer, OPTIMIZERS)
    alpha = core.finite_number("alpha", alpha, minimum=0.0)
    beta = core.finite_number("beta", beta, minimum=0.0)
    tv_weight = core.finite_number("tv_weight", tv_weight, minimum=0.0)
    learning_rate = core.finite_number("learning_rate", learning_rate, minimum=0.0)
    seed = core.seed("seed", seed)
    callback_every = core.count("callback_every", callback_every)
    c_layers = [vgg.keras_name(n, net) for n in content_layers] if content is not None else []
    s_layers = [vgg.keras_name(n, net) for n in style_layers] if style is not None else []
    if size is not None:
        size = core.count("size", size)
        need, deepest = vgg.min_side(c_layers + s_layers, net)
        if size < need:
            raise ValueError(f"size={size} is too small: style transfer through {deepest} "
                             f"needs at least {need}×{need} px")
    content, style, shape = _prepare_images(content, style, size)
    _check_sides(c_layers + s_layers, net, content=content, style=style)
    if isinstance(style_weights, dict):
        style_weights = {vgg.keras_name(n, net): w for n, w in style_weights.items()}
    start = initial_image(init, content, shape, seed)
    extractor = cached_extractor(tuple(dict.fromkeys(c_layers + s_layers)), net, weights,
                                 pooling=pooling, normalize=normalize)
    objective = make_objective(extractor, content, style, alpha=alpha, beta=beta,
                               content_layers=c_layers, style_layers=s_layers,
                               style_weights=style_weights, tv_weight=tv_weight,
                               content_loss_fn=content_loss_fn,
                               layer_style_loss_fn=layer_style_loss_fn)
    run = _adam if optimizer == "adam" else _lbfgs
    record = _Recorder(steps, callback, callback_every, progress, optimizer)
    final = run(objective, start[None], steps, learning_rate, record)
    history = record.history()
    history["description"] = extractor.description
    return images.to_uint8(final), history


class _Recorder:
    """Collects the loss parts per evaluation, drives the progress bar and the callback."""

    def __init__(self, steps, callback, every, progress, name):
        self.rows, self.callback, self.every = [], callback, every
        self.t0 = time.perf_counter()
        self.bar = tqdm(total=steps, desc=f"style transfer ({name})", disable=not progress,
                        leave=False)
        self.name = name
        self.best, self.best_image = math.inf, None

    def __call__(self, x, parts) -> None:
        values = [float(p) for p in parts]
        self.rows.append((*values, time.perf_counter() - self.t0))
        if values[0] < self.best:
            self.best, self.best_image = values[0], np.array(x, dtype=np.float32)
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{values[0]:.3g}")
        n = len(self.rows)
        if self.callback is not None and n % self.every == 0:
            keys = ("total", "content", "style", "tv")
            self.callback(n, images.to_uint8(x), dict(zip(keys, values, strict=True)))

    def history(self) -> dict:
        self.bar.close()
        arr = np.array(self.rows, dtype=np.float64).reshape(-1, 5)
        return {"total": arr[:, 0], "content": arr[:, 1], "style": arr[:, 2], "tv": arr[:, 3],
                "best": np.minimum.accumulate(arr[:, 0]), "seconds": arr[:, 4],
                "optimizer": self.name}


def _adam(objective, start, steps, learning_rate, record):
    """Adam on the pixels (β1 0.9, β2 0.999, ε 1e-8 in pixel units), clipped to 0-255."""
    x = tf.Variable(start, dtype=tf.float32)
    m = tf.Variable(tf.zeros_like(x))
    v = tf.Variable(tf.zeros_like(x))
    b1, b2, eps = 0.9, 0.999, 1e-8

    for t in range(1, steps + 1):  # eager: only the objective is traced, and it is shared
        before = x.read_value()
        total, c, s, tv, g = objective(before)
        m.assign(b1 * m + (1 - b1) * g)
        v.assign(b2 * v + (1 - b2) * tf.square(g))
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        x.assign(tf.clip_by_value(x - learning_rate * m_hat / (tf.sqrt(v_hat) + eps), 0, 255))
        record(before[0], (total, c, s, tv))
    return x.numpy()[0]


def _lbfgs(objective, start, steps, learning_rate, record):
    """L-BFGS-B through SciPy, bounds 0-255, exactly ``steps`` gradient evaluations."""
    del learning_rate  # L-BFGS chooses its own step by line search
    shape = start.shape

    def fun(flat):
        if len(record.rows) >= steps:
            raise _BudgetSpent
        x = tf.constant(flat.reshape(shape), dtype=tf.float32)
        total, c, s, tv, g = objective(x)
        record(x[0], (total, c, s, tv))
        return float(total), g.numpy().astype(np.float64).ravel()

    x0 = start.astype(np.float64).ravel()
    bounds = optimize.Bounds(np.zeros_like(x0), np.full_like(x0, 255.0))
    try:
        optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": steps, "maxfun": steps + 1, "ftol": 0.0,
                                   "gtol": 0.0, "maxcor": 20})
    except _BudgetSpent:
        pass
    return record.best_image


_EXTRACTORS: dict = {}


def cached_extractor(layers: tuple[str, ...], net: str = "vgg16", weights="imagenet", *,
                     pooling: str = "max", normalize: bool = False):
    """``vgg.feature_extractor``, reused across calls (never for random weights)."""
    options = {"pooling": pooling, "normalize": normalize}
    if isinstance(weights, str) and weights == "random":
        return vgg.feature_extractor(layers, net, weights, **options)
    key = (tuple(layers), net, str(weights), pooling, normalize)
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = vgg.feature_extractor(layers, net, weights, **options)
    return _EXTRACTORS[key]


def loss_ratio(history: dict) -> float:
    """First total loss divided by the best one reached (how far the loss fell)."""
    total = np.asarray(history["total"])
    return float(total[0] / np.min(total))
