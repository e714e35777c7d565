"""Many small matrix products at once: capsule-style predictions, and their peak memory.

Every input capsule ``i`` (a vector of ``d_in`` numbers) predicts every output
capsule ``j`` through its own matrix ``W[i, j]`` of shape ``(d_out, d_in)``:

    u_hat[b, i, j, :] = W[i, j] @ u[b, i, :]

Shapes: ``u`` is ``(B, n_in, d_in)`` (e.g. 50 × 1152 × 8), ``W`` is
``(n_in, n_out, d_out, d_in)`` (1152 × 10 × 16 × 8), ``u_hat`` is
``(B, n_in, n_out, d_out)``. That is ``B * n_in * n_out`` products of a 16×8
matrix with an 8-vector. The functions below compute the same ``u_hat`` in ways
that differ in how much memory they fill on the way.
"""

import tracemalloc
from collections.abc import Callable

import numpy as np

from ..core import validate


def check_capsule_shapes(u: np.ndarray, w: np.ndarray) -> None:
    """Raise ValueError unless ``u`` is (B, n_in, d_in) and ``w`` is (n_in, n_out, d_out, d_in)."""
    if np.ndim(u) != 3:
        raise ValueError(f"u must be (batch, n_in, d_in), got shape {np.shape(u)}")
    if np.ndim(w) != 4:
        raise ValueError(f"W must be (n_in, n_out, d_out, d_in), got shape {np.shape(w)}")
    if u.shape[1] != w.shape[0] or u.shape[2] != w.shape[3]:
        raise ValueError(f"u {u.shape} and W {w.shape} disagree: u[:, i, :] needs W[i, j] "
                         f"of shape (d_out, {u.shape[2]}) for i < {u.shape[1]}")


def predict_tiled(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Tile both operands to ``(B, n_in, n_out, …)`` and use one batched matmul.

    The 2017-era TensorFlow recipe (``tf.tile`` + ``tf.matmul``): it writes ``B``
    copies of ``W`` and ``n_out`` copies of ``u`` before multiplying.
    """
    check_capsule_shapes(u, w)
    b, n_out = len(u), w.shape[1]
    w_tiled = np.tile(w[np.newaxis], (b, 1, 1, 1, 1))                    # (B, i, j, d_out, d_in)
    u_tiled = np.tile(u[:, :, np.newaxis, :, np.newaxis], (1, 1, n_out, 1, 1))  # (B, i, j, d_in, 1)
    return np.matmul(w_tiled, u_tiled)[..., 0]


def predict_broadcast(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Broadcast multiply, then sum over ``d_in``: no tiles, but a full product array."""
    check_capsule_shapes(u, w)
    return (w[np.newaxis] * u[:, :, np.newaxis, np.newaxis, :]).sum(axis=-1)


def predict_broadcast_matmul(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``np.matmul`` broadcasts the leading axes itself: the tiling without the tiles."""
    check_capsule_shapes(u, w)
    return np.matmul(w[np.newaxis], u[:, :, np.newaxis, :, np.newaxis])[..., 0]


def predict_einsum(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One ``einsum``: the index expression says it all.

    ``optimize=True`` lets NumPy plan the contraction as one batched BLAS product
    (without it, einsum runs its own generic loop, about ten times slower here).
    """
    check_capsule_shapes(u, w)
    return np.einsum("ijkl,bil->bijk", w, u, optimize=True)


CAPSULE_METHODS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "tile + matmul": predict_tiled,
    "broadcast multiply + sum": predict_broadcast,
    "broadcast matmul": predict_broadcast_matmul,
    "einsum": predict_einsum,
}


def random_capsules(batch: int = 50, n_in: int = 1152, d_in: int = 8, n_out: int = 10,
                    d_out: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random float32 ``u`` (batch, n_in, d_in) and ``W`` (n_in, n_out, d_out, d_in)."""
    rng = np.random.default_rng(validate.seed("seed", seed))
    u = rng.standard_normal((batch, n_in, d_in), dtype=np.float32)
    w = rng.standard_normal((n_in, n_out, d_out, d_in), dtype=np.float32) * 0.1
    return u, w


def intermediate_nbytes(u: np.ndarray, w: np.ndarray) -> dict[str, int]:
    """Bytes of the largest temporary each method must create (by its formula, not measured)."""
    check_capsule_shapes(u, w)
    b, (n_in, n_out, d_out, d_in) = len(u), w.shape
    item = np.result_type(u, w).itemsize
    out = b * n_in * n_out * d_out * item
    return {
        "tile + matmul": b * n_in * n_out * (d_out * d_in + d_in) * item + out,
        "broadcast multiply + sum": b * n_in * n_out * d_out * d_in * item + out,
        "broadcast matmul": out,
        "einsum": out,
    }


def peak_memory(fn: Callable[[], object]) -> tuple[object, int]:
    """``(fn(), peak_bytes)``: the most memory allocated at once during the call, above the start.

    Uses ``tracemalloc``, which sees Python objects and NumPy array buffers (NumPy
    reports its allocations to it); memory allocated by other libraries' own
    allocators (TensorFlow, BLAS work buffers) is not seen. The result counts.
    """
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started_here:
            tracemalloc.stop()
    return result, max(0, peak - before)
