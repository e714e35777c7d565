"""A vanilla recurrent layer in NumPy: one step, the unrolled loop, and their backward passes.

Shapes (N batch rows, T time steps, D input features, H hidden units):

- ``x``  (N, D) for one step, (N, T, D) for the unrolled loop
- ``h``  (N, H); the loop returns every hidden state, (N, T, H)
- ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,) with ``combine="sum"``:
  h = f(x Wx + h_prev Wh + b)
- ``Wx`` (D, H1), ``Wh`` (H, H2), ``b`` (H,), H = H1 + H2 with ``combine="concat"``:
  h = f([x Wx, h_prev Wh] + b), the two products side by side instead of added.

``f`` is ``tanh`` or ``relu``. The loop's backward pass is truncated
backpropagation through time: it runs back over the window only, and returns
``dh0``, the gradient that would flow into the previous window (which a trainer
drops: it carries the state across windows, not its gradient).
"""

import numpy as np

ACTIVATIONS = ("tanh", "relu")
COMBINES = ("sum", "concat")


def _array(name: str, value, ndim: int) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {value.shape}")
    return value


def check_options(activation: str, combine: str) -> None:
    """Raise ValueError unless ``activation`` and ``combine`` are ones this module knows."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if combine not in COMBINES:
        raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}")


def check_weights(Wx, Wh, b, combine: str = "sum") -> tuple[int, int]:
    """Check the weight shapes against each other; return (D, H)."""
    Wx, Wh, b = _array("Wx", Wx, 2), _array("Wh", Wh, 2), _array("b", b, 1)
    D, H = Wx.shape[0], Wh.shape[0]
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
    return D, H


def _check_step_inputs(x, h_prev, D: int, H: int) -> None:
    _array("x", x, 2)
    _array("h_prev", h_prev, 2)
    if x.shape[1] != D:
        raise ValueError(f"x has {x.shape[1]} features but Wx expects D={D}")
    if h_prev.shape != (x.shape[0], H):
        raise ValueError(f"h_prev must have shape ({x.shape[0]}, {H}), got {h_prev.shape}")


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
    D, H = check_weights(Wx, Wh, b, combine)
    _check_step_inputs(x, h_prev, D, H)
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
    h = cache[4]
    _array("dh", dh, 2)
    if dh.shape != h.shape:
        raise ValueError(f"dh must have the shape of h, {h.shape}; got {dh.shape}")
    return _step_back(dh, cache)


def forward(x, h0, Wx, Wh, b, activation="tanh", combine="sum"):
    """Unroll the recurrence over a window of T steps.

    x (N, T, D), h0 (N, H). Returns ``(h, cache)`` with h (N, T, H), the hidden
    state after each step; ``h[:, -1]`` is the state to carry into the next window.
    """
    check_options(activation, combine)
    D, H = check_weights(Wx, Wh, b, combine)
    _array("x", x, 3)
    _check_step_inputs(x[:, 0], h0, D, H)
    N, T, _ = x.shape
    hs = np.empty((N, T, H), dtype=np.result_type(x, h0, Wx, Wh, b))
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
    caches = cache
    _array("dh", dh, 3)
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
    caches = cache
    _array("dh_last", dh_last, 2)
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
    fed by x (default H // 2); the other H - H1 are fed by h_prev.
    """
    check_options("tanh", combine)
    if D < 1 or H < 1:
        raise ValueError(f"D and H must be at least 1, got D={D}, H={H}")
    rng = np.random.default_rng(rng)
    if combine == "sum":
        h1, h2 = H, H
    else:
        h1 = H // 2 if h_split is None else int(h_split)
        if not 0 < h1 < H:
            raise ValueError(f"h_split must be between 1 and H-1={H - 1}, got {h1}")
        h2 = H - h1
    Wx = rng.standard_normal((D, h1)) / np.sqrt(D)
    Wh = rng.standard_normal((H, h2)) * recurrent_scale / np.sqrt(H)
    return Wx.astype(dtype), Wh.astype(dtype), np.zeros(H, dtype=dtype)
