"""Argument checks every idea uses, so a bad input fails early with a plain message.

Each function returns the value in the form the caller computes with (an ``int``,
a ``float``, a float64 array) or raises ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, wrong value), naming the argument.
"""

import math
from numbers import Integral, Real

import numpy as np

__all__ = ["count", "finite_number", "rate", "seed", "vector"]


def count(name: str, value, minimum: int = 1) -> int:
    """A whole number ``>= minimum`` (Python or NumPy integer, not a bool) as an ``int``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def finite_number(name: str, value, minimum: float | None = None,
                  strictly_above: float | None = None) -> float:
    """A finite real number (not a bool, not complex) as a ``float``.

    minimum: the smallest value allowed; strictly_above: a bound the value must exceed.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if strictly_above is not None and value <= strictly_above:
        raise ValueError(f"{name} must be greater than {strictly_above}, got {value}")
    return value


def rate(name: str, value) -> float:
    """A probability or fraction: a finite real number in [0, 1], as a ``float``."""
    value = finite_number(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def seed(name: str, value, allow_none: bool = False) -> int | None:
    """A random seed: a whole number ``>= 0`` as an ``int`` (None too when ``allow_none``).

    NumPy's generators refuse negative seeds and strings with messages from deep inside
    ``SeedSequence``; this names the argument instead.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral):
        kinds = "a whole number >= 0" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {kinds}, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def vector(name: str, values, allow_empty: bool = False) -> np.ndarray:
    """A 1-D sequence of finite real numbers as a float64 array of shape ``(n,)``.

    allow_empty: accept n = 0. Raises TypeError for non-numbers (strings, complex,
    ragged lists) and ValueError for the wrong number of axes or a NaN/inf entry.
    """
    try:
        arr = np.asarray(values)
    except ValueError as err:  # a ragged list
        raise TypeError(f"{name} must be a 1-D sequence of numbers ({err})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool or arr.size == 0):
        raise TypeError(f"{name} must be a 1-D sequence of real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got complex ones")
    arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not np.isfinite(arr).all():
        i = int(np.argmax(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite numbers, {name}[{i}] = {arr[i]}")
    return arr
