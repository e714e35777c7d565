"""Finite-difference gradients: the independent check for every hand-written backward pass.

The central difference

    df/dx_i ≈ (f(x + ε e_i) − f(x − ε e_i)) / (2ε)

has a truncation error of order ε² (it is exact for quadratics) and a rounding
error of order u·|f| / ε, where u is the unit roundoff of the dtype (about 1e-16
for float64, 6e-8 for float32). The best ε balances the two, near u^(1/3):
about 1e-5 in float64 and 1e-2 or 1e-3 in float32. :func:`eps_sweep` measures
that trade-off.

Every function here takes ``f``, a Python callable that maps an array shaped
like ``x`` to a scalar, and evaluates it with ``x`` perturbed *in place* (then
restored), so ``f`` may close over ``x`` or receive it as its argument.
"""

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..core import validate

Index = tuple[int, ...]

__all__ = ["Index", "StepTooSmallError", "eps_sweep", "gradient_error", "numerical_gradient",
           "partial_derivative", "projected_errors", "relative_error", "sample_indices"]


class StepTooSmallError(ValueError):
    """The step ε is below what the array's dtype can represent at the perturbed entry."""


def _check_input(x: np.ndarray, eps: float) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"x must hold floating-point numbers to be perturbed, got dtype {x.dtype}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps}")


def _scalar(f: Callable[[np.ndarray], float], x: np.ndarray) -> float:
    value = f(x)
    if np.ndim(value) != 0:
        raise ValueError(f"f must return a scalar, got an array of shape {np.shape(value)}")
    return float(value)


def partial_derivative(f: Callable[[np.ndarray], float], x: np.ndarray, index: Index,
                       eps: float = 1e-6) -> float:
    """Central-difference estimate of df/dx[index] (``x`` is restored afterwards).

    The step is rounded to what ``x``'s dtype can represent, (x+ε) − (x−ε), so
    that in float32 the divisor is the step actually taken.
    """
    _check_input(x, eps)
    index = tuple(int(i) for i in np.atleast_1d(index)) if x.ndim else ()
    old = x[index].copy()
    try:
        x[index] = old + eps
        up, f_up = x[index].copy(), _scalar(f, x)
        x[index] = old - eps
        down, f_down = x[index].copy(), _scalar(f, x)
    finally:
        x[index] = old
    step = float(up) - float(down)
    if step == 0:
        raise StepTooSmallError(f"eps={eps} is below the resolution of {x.dtype} at x={float(old)}")
    return (f_up - f_down) / step


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    x: a floating-point array of any shape (perturbed in place, then restored).
    Returns an array of the same shape and dtype as ``x``. Costs 2·x.size calls of f.
    """
    _check_input(x, eps)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        grad[index] = partial_derivative(f, x, index, eps)
    return grad


def sample_indices(shape: Sequence[int], count: int, seed: int = 0) -> list[Index]:
    """``count`` distinct random positions of an array of ``shape`` (all when it is smaller).

    For spot-checking the gradient of a large array without 2·size calls of f.
    """
    size = int(np.prod(shape))
    count = validate.count("count", count)
    rng = np.random.default_rng(validate.seed("seed", seed))
    flat = rng.choice(size, size=min(count, size), replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def relative_error(a, b) -> float:
    """‖a − b‖ / max(‖a‖, ‖b‖) over whole arrays (0 when both are zero).

    Scale-free: 1e-7 means about seven matching digits. Taken over the whole
    array rather than entry by entry, so a tiny entry near zero cannot dominate.
    Rough guide in float64: below 1e-7 right, 1e-7 to 1e-4 suspicious (or a kink
    such as ReLU's at 0), above 1e-4 a bug.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def gradient_error(f: Callable[[np.ndarray], float], x: np.ndarray, analytic: np.ndarray,
                   eps: float = 1e-6, indices: Iterable[Index] | None = None) -> float:
    """Relative error between an analytic gradient and central differences.

    analytic: the claimed df/dx, same shape as ``x``. indices: positions to
    check (default every entry; see :func:`sample_indices` for large arrays).
    """
    _check_input(x, eps)
    analytic = np.asarray(analytic)
    if analytic.shape != x.shape:
        raise ValueError(f"the analytic gradient has shape {analytic.shape}, x has {x.shape}")
    if indices is None:
        return relative_error(analytic, numerical_gradient(f, x, eps))
    indices = list(indices)
    numeric = [partial_derivative(f, x, i, eps) for i in indices]
    return relative_error([analytic[i] for i in indices], numeric)


def eps_sweep(f: Callable[[np.ndarray], float], x: np.ndarray, analytic: np.ndarray,
              eps_values: Iterable[float], indices: Iterable[Index] | None = None) -> np.ndarray:
    """:func:`gradient_error` for each ε in ``eps_values`` (an array of the same length).

    An ε too small for the dtype to represent gives ``nan`` for that entry.
    """
    indices = None if indices is None else list(indices)
    errors = []
    for eps in eps_values:
        try:
            errors.append(gradient_error(f, x, analytic, eps, indices))
        except StepTooSmallError:
            errors.append(np.nan)
    return np.array(errors)


def projected_errors(forward: Callable[[], np.ndarray], arrays: dict[str, np.ndarray],
                     analytic: dict[str, np.ndarray], projection: np.ndarray,
                     eps: float = 1e-6) -> dict[str, float]:
    """Relative error of each analytic gradient of L = sum(forward() · projection).

    The usual check of a backward pass: projecting the output on a fixed array R makes
    dL/d(output) = R, the ``dout`` to feed the backward pass. ``forward()`` computes the
    output from ``arrays`` (each perturbed in place in turn); ``analytic[name]`` is the
    claimed dL/d``arrays[name]``, same shape. Returns {name: relative error} for each
    name of ``analytic``. Use float64: in float32 rounding swamps the comparison.
    """
    missing = set(analytic) - set(arrays)
    if missing:
        raise KeyError(f"analytic gradients given for arrays not passed: {sorted(missing)}")

    def loss(_):
        return float(np.sum(forward() * projection))
    return {name: gradient_error(loss, arrays[name], grad, eps) for name, grad in analytic.items()}
