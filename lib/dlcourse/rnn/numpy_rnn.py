"""A vanilla recurrent layer in NumPy: one step, the unrolled loop, and their backward passes.

Shapes (N batch rows, T time steps, D input features, H hidden units):

- ``x``  (N, D) for one step, (N, T, D) for the unrolled loop
- ``h``  (N, H); the loop returns every hidden state, (N, T, H)
- ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,) with ``combine="sum"``:
  h = f(x Wx + h_prev Wh + b)
- ``Wx`` (D, H1), ``Wh`` (H, H2), ``b`` (H,), H = H1 + H2 with ``combine="concat"``:
  h = f([x Wx, h_prev Wh] + b), the two products side by side instead of added.

``f`` is ``tanh`` or ``relu``. Integer and boolean arrays (x, h, the weights) are
computed on as float64 (a one-hot ``x`` of ints gives the same h as its float copy);
other arrays keep their float dtype. The loop's backward pass is truncated
backpropagation through time: it runs back over the window only, and returns
``dh0``, the gradient that would flow into the previous window (which a trainer
drops: it carries the state across windows, not its gradient).
"""

import numpy as np

from ..core import validate

ACTIVATIONS = ("tanh", "relu")
COMBINES = ("sum", "concat")


def _array(name: str, value, ndim: int) -> np.ndarray:
    """``value`` if it is a float array of ``ndim`` axes; integers and bools as float64."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {value.shape}")
    if np.issubdtype(value.dtype, np.floating):
        return value
    if np.issubdtype(value.dtype, np.integer) or value.dtype == bool:
        return value.astype(np.float64)  # tanh of ints stored back into ints would truncate
    raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")


def _step_cache(name: str, cache) -> tuple:
    """``cache`` if it looks like what :func:`step_forward` returns, else a TypeError."""
    if not (isinstance(cache, tuple) and len(cache) == 7):
        raise TypeError(f"{name} must be the cache returned by step_forward, "
                        f"got {type(cache).__name__}")
    return cache


def _window_cache(cache) -> list:
    """``cache`` if it looks like what :func:`forward` returns, else a TypeError."""
    if not (isinstance(cache, list) and cache):
        raise TypeError(f"cache must be the cache returned by forward, got {type(cache).__name__}")
    return [_step_cache("cache[t]", c) for c in cache]


def check_options(activation: str, combine: str) -> None:
    """Raise ValueError unless ``activation`` and ``combine`` are ones this module knows."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if combine not in COMBINES:
        raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}")


def check_weights(Wx, Wh, b, combine: str = "sum"):
    """Check the weight shapes against each other; return ``(Wx, Wh, b)`` as float arrays."""
    Wx, Wh, b = _array("Wx", Wx, 2), _array("Wh", Wh, 2), _array("b", b, 1)
    H = Wh.shape[0]
    if combine == "sum":
        if Wh.shape != (H, H):
            raise ValueError(f"with combine='sum' Wh must be square (H, H), got {Wh.shape}")
        if Wx.shape[1] != H:
            raise ValueError(f"Wx has {Wx.shape[1]} columns but Wh has {H}: "
                             "with combine='sum' both map to the H hidden units")
    else:
        if Wx.shape[1] + Wh.shape[1] != H:
            raise ValueError(f"with combine='concat' Wx (D, H1) and Wh (H, H2) need H1 + H2 = H; "
                             f"got H1={Wx.shape[1]}, H2={Wh.shape[1]}, H={H}")
    if b.shape != (H,):
        raise ValueError(f"b must have shape ({H},), got {b.shape}")
    return Wx, Wh, b


def _check_state(name: str, h, N: int, H: int) -> np.ndarray:
    h = _array(name, h, 2)
    if h.shape != (N, H):
        raise ValueError(f"{name} must have shape ({N}, {H}), got {h.shape}")
    return h


def _check_features(x, Wx) -> None:
    if x.shape[-1] != Wx.shape[0]:
        raise ValueError(f"x has {x.shape[-1]} features but Wx expects D={Wx.shape[0]}")


def _step(x, h_prev, Wx, Wh, b, activation, combine):
    if combine == "sum":
        a = x @ Wx + h_prev @ Wh + b
    else:
        a = np.concatenate([x @ Wx, h_prev @ Wh], axis=1) + b
    h = np.tanh(a) if activation == "tanh" else np.maximum(a, 0.0)
    return h, (x, h_prev, Wx, Wh, h, activation, combine)


def step_forward(x, h_prev, Wx, Wh, b, activation="tanh", combine="sum"):
    """One step of the recurrence: h = f(x Wx + h_prev Wh + b) (or the concatenated form).

    x (N, D), h_prev (N, H); see the module docstring for the weights.
    Returns ``(h, cache)`` with h (N, H) and what :func:`step_backward` needs.
    """
    check_options(activation, combine)
    Wx, Wh, b = check_weights(Wx, Wh, b, combine)
    x = _array("x", x, 2)
    _check_features(x, Wx)
    h_prev = _check_state("h_prev", h_prev, x.shape[0], b.size)
    return _step(x, h_prev, Wx, Wh, b, activation, combine)


def _step_back(dh, cache):
    x, h_prev, Wx, Wh, h, activation, combine = cache
    da = dh * (1.0 - h * h) if activation == "tanh" else dh * (h > 0)
    db = da.sum(axis=0)
    if combine == "sum":
        dax = dah = da
    else:
        H1 = Wx.shape[1]
        dax, dah = da[:, :H1], da[:, H1:]
    return dax @ Wx.T, dah @ Wh.T, x.T @ dax, h_prev.T @ dah, db


def step_backward(dh, cache):
    """Backward through one step.

    dh (N, H): gradient of the loss with respect to this step's output h.
    Returns ``(dx, dh_prev, dWx, dWh, db)`` shaped like x, h_prev, Wx, Wh, b.
    With tanh, f'(a) = 1 - h²; with relu, f'(a) = 1 where h > 0 (0 at the kink).
    """
    h = _step_cache("cache", cache)[4]
    dh = _array("dh", dh, 2)
    if dh.shape != h.shape:
        raise ValueError(f"dh must have the shape of h, {h.shape}; got {dh.shape}")
    return _step_back(dh, cache)


def forward(x, h0, Wx, Wh, b, activation="tanh", combine="sum"):
    """Unroll the recurrence over a window of T steps.

    x (N, T, D) with T >= 1, h0 (N, H). Returns ``(h, cache)`` with h (N, T, H), the
    hidden state after each step; ``h[:, -1]`` is the state to carry into the next window.
    """
    check_options(activation, combine)
    Wx, Wh, b = check_weights(Wx, Wh, b, combine)
    x = _array("x", x, 3)
    _check_features(x, Wx)
    N, T, _ = x.shape
    if T == 0:
        raise ValueError(f"x has no time steps (shape {x.shape}): forward needs T >= 1")
    h0 = _check_state("h0", h0, N, b.size)
    hs = np.empty((N, T, b.size), dtype=np.result_type(x, h0, Wx, Wh, b))
    caches = []
    h = h0
    for t in range(T):
        h, cache = _step(x[:, t], h, Wx, Wh, b, activation, combine)
        hs[:, t] = h
        caches.append(cache)
    return hs, caches


def backward(dh, cache):
    """Truncated backpropagation through time over the window of :func:`forward`.

    dh (N, T, H): gradient of the loss with respect to every hidden state (from
    the output layer). Returns ``(dx, dh0, dWx, dWh, db)``: dx (N, T, D), dh0 (N, H)
    (the gradient that would flow into the previous window) and the weight gradients
    summed over the T steps.
    """
    caches = _window_cache(cache)
    dh = _array("dh", dh, 3)
    N, T, H = dh.shape
    if T != len(caches) or caches[0][4].shape != (N, H):
        raise ValueError(f"dh must have shape ({caches[0][4].shape[0]}, {len(caches)}, "
                         f"{caches[0][4].shape[1]}) like the forward output, got {dh.shape}")
    x0, _, Wx, Wh, _, _, _ = caches[0]
    dx = np.empty((N, T, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H, dtype=dh.dtype)
    carry = np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        dx[:, t], carry, gWx, gWh, gb = _step_back(dh[:, t] + carry, caches[t])
        dWx += gWx
        dWh += gWh
        db += gb
    return dx, carry, dWx, dWh, db


def gradient_reach(dh_last, cache) -> np.ndarray:
    """How far back a gradient reaches: ‖∂L/∂h_{T-k}‖ for k = 0 … T.

    dh_last (N, H): gradient of a loss that depends on the last hidden state only.
    Backpropagates it through the window of :func:`forward` and returns the norm
    (over the batch, Frobenius) of the gradient at h_T, h_{T-1}, …, h_0: an array
    of T + 1 numbers. A fast decay is the vanishing gradient; growth is the
    exploding one.
    """
    caches = _window_cache(cache)
    dh_last = _array("dh_last", dh_last, 2)
    if dh_last.shape != caches[-1][4].shape:
        raise ValueError(f"dh_last must have shape {caches[-1][4].shape}, got {dh_last.shape}")
    norms = [np.linalg.norm(dh_last)]
    g = dh_last
    for t in reversed(range(len(caches))):
        _, g, _, _, _ = _step_back(g, caches[t])
        norms.append(np.linalg.norm(g))
    return np.array(norms)


def init_weights(D: int, H: int, combine: str = "sum", rng=None, dtype=np.float64,
                 h_split: int | None = None, recurrent_scale: float = 1.0):
    """Random weights for :func:`forward`: returns (Wx, Wh, b).

    Wx ~ N(0, 1/D) and Wh ~ N(0, scale²/H) (Xavier-like, so x Wx and h Wh start
    at unit scale), b = 0. With ``combine="concat"``, ``h_split`` is H1, the units
    fed by x (default H // 2); the other H - H1 are fed by h_prev, so H >= 2.
    D, H and h_split are whole numbers (TypeError otherwise).
    """
    check_options("tanh", combine)
    D, H = validate.count("D", D), validate.count("H", H)
    if combine == "sum":
        h1, h2 = H, H
    else:
        if H < 2:
            raise ValueError(f"combine='concat' splits the H units between x and h_prev, "
                             f"so H must be at least 2, got H={H}")
        h1 = H // 2 if h_split is None else validate.count("h_split", h_split)
        if h1 >= H:
            raise ValueError(f"h_split must be between 1 and H-1={H - 1}, got {h1}")
        h2 = H - h1
    rng = np.random.default_rng(rng)
    Wx = rng.standard_normal((D, h1)) / np.sqrt(D)
    Wh = rng.standard_normal((H, h2)) * recurrent_scale / np.sqrt(H)
    return Wx.astype(dtype), Wh.astype(dtype), np.zeros(H, dtype=dtype)
